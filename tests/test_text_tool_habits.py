"""Habits of the tools that render real reports as text, each in a small snippet written the way
the tool prints it (tests/test_real_renderings.py reads the real Huai'an report through each):
html2text's one-'|' rows, markdownify's padding after a cell spanning two columns, pymupdf4llm's
'## ' headings and '<br>' inside cells, pdfplumber's labels one space apart, a tab in a prose
paragraph of a LibreOffice text export, and a crawler's one string a line."""

from __future__ import annotations

import pytest

from extractors.errors import TableLayoutError
from extractors.locate import fit_values, locate_tables
from extractors.text import parse_text

ROW_B = ("一、本年新收政府信息公开申请数量", "（七）总计", "四、结转下年度继续办理")
REVIEW_ROW = (72, 64, 178, 37, 351, 13, 4, 8, 1, 26, 12, 1, 1, 6, 20)


def _cells(text: str) -> dict[tuple[str, str, str], str]:
    document = parse_text(text)
    tables = locate_tables(document, "snippet.txt", fallback_version="2021")
    return {(c.table_code, c.row_code, c.col_code): c.raw_text for c in tables.cells} | {("reader",) * 3: document.reader}


def test_html2text_rows_with_one_bar_are_split_into_their_cells():
    text = "\n".join([
        "二、主动公开政府信息情况", "第二十条第（五）项", "信息内容 |  本年处理决定数量", "行政许可 |  447228  ",
        "第二十条第（六）项", "信息内容 |  本年处理决定数量", "---|---", "行政处罚 |  3985758  ",
        "三、收到和处理政府信息公开申请情况",
        *(f"{label} |  5 |  0 |  0 |  0 |  0 |  0 |  5" for label in ROW_B),
        "四、政府信息公开行政复议、行政诉讼情况", "行政复议 |  行政诉讼", " |  ".join(map(str, REVIEW_ROW)),
        "五、存在的主要问题及改进情况",
    ])
    cells = _cells(text)
    assert cells[("reader",) * 3] == "text/pipes"
    assert cells[("active_disclosure", "administrative_licensing", "decisions")] == "447228"
    assert cells[("active_disclosure", "administrative_penalty", "decisions")] == "3985758"
    assert cells[("review_litigation", "litigation_after_review", "total")] == "20"


def _markdownify(review_row: str) -> str:
    return "\n".join([
        "二、主动公开政府信息情况", "| 第二十条第（五）项 | | | |", "| 信息内容 | 本年处理决定数量 | | |", "| 行政许可 | 7 | | |",
        "| 第二十条第（六）项 | | | |", "| 信息内容 | 本年处理决定数量 | | |", "| 行政处罚 | 8 | | |",
        "三、收到和处理政府信息公开申请情况",
        *(f"| {label} | | | 5 | 0 | 0 | 0 | 0 | 0 | 5 |" for label in ROW_B),
        "四、政府信息公开行政复议、行政诉讼情况",
        "| 行政复议 | | | | | 行政诉讼 | | | | | | | | | | |", review_row,
        "五、存在的主要问题及改进情况",
    ])


def test_markdownify_padding_after_a_cell_spanning_two_columns_is_dropped():
    padded = "| " + " | ".join(map(str, REVIEW_ROW[:5])) + " | | " + " | ".join(map(str, REVIEW_ROW[5:])) + " |"
    cells = _cells(_markdownify(padded))
    assert cells[("review_litigation", "review", "total")] == "351"
    assert cells[("review_litigation", "litigation_direct", "upheld")] == "13"
    assert cells[("review_litigation", "litigation_after_review", "total")] == "20"
    assert cells[("active_disclosure", "administrative_licensing", "decisions")] == "7"


def test_an_empty_cell_inside_a_row_that_may_be_a_blank_value_fails_the_file():
    """16 cells for 15 columns with two of them empty: one is padding, the other a blank cell, and
    which is which is unknown, so no number may be placed."""
    ambiguous = "| 72 | | 178 | 37 | 351 | | " + " | ".join(map(str, REVIEW_ROW[5:])) + " |"
    with pytest.raises(TableLayoutError):
        _cells(_markdownify(ambiguous))


def test_fit_values_drops_inner_empty_cells_only_when_the_numbers_fill_the_columns():
    assert fit_values(["1", "", "2", "3"], 3, "row", "x.txt") == ("1", "2", "3")
    assert fit_values(["", "1", "2", "3", ""], 3, "row", "x.txt") == ("1", "2", "3")
    with pytest.raises(TableLayoutError):
        fit_values(["1", "", "2", "", "3"], 4, "row", "x.txt")


def test_pymupdf4llm_headings_and_labels_broken_by_br_and_over_two_rows():
    zeros = "|0|0|0|0|"
    text = "\n".join([
        "## 二、主动公开政府信息情况 ", "第二十条第（五）项 ",
        "|信息内容|本年处理决定数量|", "|---|---|", "|行政许可|447228|",
        "## 三、收到和处理政府信息公开申请情况 ",
        f"|一、本年新收政府信息公开申请数量|30{zeros}0|30|", "|---|---|---|---|---|---|---|---|",
        f"|（四）无<br>1.本机关不掌握相关政府信息|3{zeros}1|4|",
        f"|法提供<br>2.没有现成信息需要另行制作|5{zeros}0|5|",
        f"|（五）不<br><br>3.要求提供公开出版物|6{zeros}0|6|",
        "|1、申请人无正当理由逾期不补||||||||",
        f"|正、行政机关不再处理其政府信<br>息公开申请|7{zeros}0|7|",
        f"|（六）其<br>他处理<br>2、申请人逾期未按收费通知要<br>求缴纳费用、行政机关不再处理<br>其政府信息公开申请|8{zeros}0|8|",
        f"|3、其他|9{zeros}0|9|",
        f"|（七）总计|30{zeros}0|30|", f"|四、结转下年度继续办理|0{zeros}0|0|",
        "## 四、政府信息公开行政复议、行政诉讼情况 ", "|" + "|".join(map(str, REVIEW_ROW)) + "|",
        "## 五、存在的主要问题及改进情况 ",
    ])
    cells = _cells(text)
    assert cells[("reader",) * 3] == "text/pipes"
    assert cells[("active_disclosure", "administrative_licensing", "decisions")] == "447228"
    not_held = ("natural_person", "other_org")
    assert tuple(cells[("requests", "unable.not_held", col)] for col in not_held) == ("3", "1")
    assert cells[("requests", "unable.needs_creation", "total")] == "5"
    assert cells[("requests", "not_processed.publication", "total")] == "6"
    assert cells[("requests", "other.no_correction", "total")] == "7"
    assert cells[("requests", "other.unpaid_fee", "total")] == "8"
    assert cells[("requests", "other.other", "total")] == "9"


def test_pdfplumber_group_and_row_labels_one_space_apart_are_two_labels():
    text = "\n".join([
        "二、主动公开政府信息情况", "第二十条 第（一）项", "信息内容 本年制发件数 本年废止件数 现行有效件数",
        "规章 1 0 11", "行政规范性文件 8 26 66",
        "三、收到和处理政府信息公开申请情况",
        "一、本年新收政府信息公开申请数量 3001 53 0 0 61 4 3119", "二、上年结转政府信息公开申请数量 34 0 0 0 0 0 34",
        "（一）予以公开 1288 21 0 0 50 3 1362",
        "（四）无 1.本机关不掌握相关政府信息 746 12 0 0 10 1 769",
        "法提供 2.没有现成信息需要另行制作 11 0 0 0 0 0 11",
        "（五）不 3.要求提供公开出版物 9 0 0 0 0 0 9",
        "（七）总计 2932 53 0 0 61 4 3050", "四、结转下年度继续办理 103 0 0 0 0 0 103",
        "四、政府信息公开行政复议、行政诉讼情况", " ".join(map(str, REVIEW_ROW)),
        "五、存在的主要问题及改进情况",
    ])
    cells = _cells(text)
    assert cells[("reader",) * 3] == "text/aligned"
    assert cells[("active_disclosure", "regulations", "in_force")] == "11"
    not_held = ("natural_person", "total")
    assert tuple(cells[("requests", "unable.not_held", col)] for col in not_held) == ("746", "769")
    assert cells[("requests", "unable.needs_creation", "total")] == "11"
    assert cells[("requests", "not_processed.publication", "natural_person")] == "9"


def _one_cell_a_line(tail: list[str]) -> str:
    return "\n".join([
        "二、主动公开政府信息情况", "第二十条第（五）项", "信息内容", "本年处理决定数量", "行政许可", "7",
        "三、收到和处理政府信息公开申请情况",
        *(cell for label in ROW_B for cell in (label, *"5000005")),
        "四、政府信息公开行政复议、行政诉讼情况", "行政复议", "行政诉讼", *map(str, REVIEW_ROW),
        "五、存在的主要问题及改进情况", "无。", *tail,
    ])


def test_a_tab_in_prose_after_the_tables_does_not_make_the_text_word_s_tab_layout():
    cells = _cells(_one_cell_a_line(["六、其他需要报告的事项", "\t本机关全年收取政府信息公开信息处理费0元。"]))
    assert cells[("reader",) * 3] == "text/line-per-cell"
    assert cells[("requests", "new_received", "total")] == "5"
    assert cells[("review_litigation", "review", "total")] == "351"


def test_a_tab_inside_the_tables_still_means_word_s_tab_layout():
    text = _one_cell_a_line([]).replace("\n行政许可\n", "\n\t行政许可\t7\n")
    assert parse_text(text).reader.startswith(("text/row-per-line", "text/cell-per-line"))


def test_one_string_a_line_sub_row_numbers_on_their_own_lines_and_a_split_page_number():
    text = "\n".join([
        "二、主动公开政府信息情况", "第二十条第（五）项", "信息内容", "本年处理决定数量", "行政许可", "7",
        "三、收到和处理政府信息公开申请情况", "一、本年新收政府信息公开申请数量", *"5000005",
        "（三）不予公开", "1.", "属于国家秘密", *"2000002", "2.", "其他法律行政法规禁止公开", *"3000003",
        "-", "4 -",
        "（六）其他处理", "1", "、申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", *"6000006",
        "2", "、申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", *"7000007",
        "3", "、其他", *"8000008",
        "（七）总计", *"5000005", "四、结转下年度继续办理", *"0000000",
        "四、政府信息公开行政复议、行政诉讼情况", "行政复议", "行政诉讼", *map(str, REVIEW_ROW),
        "五、存在的主要问题及改进情况",
    ])
    cells = _cells(text)
    assert cells[("reader",) * 3] == "text/line-per-cell"
    assert cells[("requests", "denied.state_secret", "total")] == "2"
    assert cells[("requests", "denied.prohibited_by_law", "total")] == "3"
    assert cells[("requests", "other.no_correction", "total")] == "6"
    assert cells[("requests", "other.unpaid_fee", "total")] == "7"
    assert cells[("requests", "other.other", "total")] == "8"


def _pdftotext_reading_order(late_labels: list[str], review: list[str]) -> str:
    """pdftotext without -layout: one cell a line, blank lines between, rows （一） and （二） printed
    as numbers right after row 二's, their labels below the table's last row."""
    cells = [
        "二、主动公开政府信息情况", "第二十条第（五）项", "信息内容", "本年处理决定数量", "行政许可", "7",
        "三、收到和处理政府信息公开申请情况", "一、本年新收政府信息公开申请数量", *"5000005",
        "二、上年结转政府信息公开申请数量", *"1000001", *"3000003", *"2000002",
        "1.属于国家秘密", *"0000000", "（七）总计", *"5000005", "四、结转下年度继续办理", *"1000001",
        *late_labels,
        "四、政府信息公开行政复议、行政诉讼情况", "行政复议", "行政诉讼", *review,
        "五、存在的主要问题及改进情况",
    ]
    return "\n\n".join(cells)


def test_pdftotext_rows_of_numbers_printed_before_their_labels_take_them_in_order():
    labels = ["（一）予以公开", "（二）部分公开（区分处理的，只计这一情", "形，不计其他情形）", "（三）不", "予公开"]
    cells = _cells(_pdftotext_reading_order(labels, list(map(str, REVIEW_ROW))))
    assert cells[("reader",) * 3] == "text/line-per-cell"
    assert cells[("requests", "carried_over", "total")] == "1"
    assert cells[("requests", "granted", "total")] == "3"
    assert cells[("requests", "partially_granted", "total")] == "2"


def test_pdftotext_rows_of_numbers_no_label_takes_fail_the_file():
    with pytest.raises(TableLayoutError, match="14 value cells where the template has 7"):
        _cells(_pdftotext_reading_order(["（一）予以公开"], list(map(str, REVIEW_ROW))))


def test_table_c_numbers_in_runs_between_its_header_words_fail_the_file():
    review = ["72", "64", "178", "37", "结果", "12", "1", "1", "6", "总计", "351", "维持", "13", "4", "8", "1", "26", "总计", "20"]
    labels = ["（一）予以公开", "（二）部分公开"]
    with pytest.raises(TableLayoutError, match="runs between its header words"):
        _cells(_pdftotext_reading_order(labels, review))
