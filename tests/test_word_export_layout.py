"""Word's plain-text export in its two layouts: which one a text is, and the rows of the cell-per-line one.

The layout is told by two counts of the text when every tab leads its line (cell per line), by a look at each
tab line otherwise; a cell line may still hold several cells split by tabs."""

from __future__ import annotations

from extractors.document import Paragraph, Row, parse_word_export


def _read(lines: list[str]):
    return parse_word_export(lines, "\n".join(lines))


def test_a_text_whose_every_tab_leads_its_line_is_cell_per_line():
    document = _read(["一、总体情况", "\t规章", "\t0", "\t 1", "", "\t行政许可", "\t260"])
    assert document.reader == "text/cell-per-line"
    assert document.blocks == [Paragraph("一、总体情况"), Row(("规章", "0", " 1")), Row(("行政许可", "260"))]


def test_a_text_whose_tab_lines_hold_several_tabs_is_row_per_line():
    document = _read(["一、总体情况", "规章\t0\t0\t1", "行政许可\t260", "\t0"])
    assert document.reader == "text/row-per-line"
    assert document.blocks == [Paragraph("一、总体情况"), Row(("规章", "0", "0", "1")), Row(("行政许可", "260")),
                               Row(("", "0"))]


def test_the_layout_is_the_majority_of_the_tab_lines():
    # one line of two cells among three single-cell lines: still cell per line, the line split into its cells
    document = _read(["\t商业", "\t企业\t科研", "\t机构", "\t其他"])
    assert document.reader == "text/cell-per-line"
    assert document.blocks == [Row(("商业", "企业", "科研", "机构", "其他"))]
    assert _read(["\t商业\t企业", "\t机构"]).reader == "text/row-per-line"


def test_a_wrapped_cell_and_a_value_after_an_empty_cell_stay_in_their_row():
    document = _read(["\t(二)部分公开(区分处理的，只计这一情形，", "不计其他情形)", "\t", "", "5", "三、收到"])
    assert document.blocks == [Row(("(二)部分公开(区分处理的，只计这一情形，不计其他情形)", "5")), Paragraph("三、收到")]
