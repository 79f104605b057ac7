"""A PDF with no ruled grid, made in the test, so that the layout and the order of its text layer are
known: table B runs over a page break with its header printed again, a section label is cut by the
break, a label is printed one character per line, section labels sit centred beside their sub-rows,
wrapped labels have their numbers on their middle line, and the text layer draws those numbers
before the label. Every cell must still come out in its row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.document import Row
from extractors.pdf import READER_TEXT, parse_pdf
from flows.pipeline import process_batch
from tests.expected import fact_differences
from tests.office import ACTIVE, REQUEST_COLUMNS, REVIEW, expected_facts_csv, request_values
from tests.pdf_builder import Page, build_pdf

AGENCY, YEAR = "示范区交通运输局", 2022
VALUE_X = [300 + 34 * i for i in range(7)]
LINE = 12  # line pitch of a wrapped label, 9 pt text

REQUEST_LABELS = {
    "new_received": "一、本年新收政府信息公开申请数量",
    "carried_over": "二、上年结转政府信息公开申请数量",
    "granted": "（一）予以公开",
    "partially_granted": "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "denied.state_secret": "1.属于国家秘密",
    "denied.prohibited_by_law": "2.其他法律行政法规禁止公开",
    "denied.security_stability": "3.危及“三安全一稳定”",
    "denied.third_party_rights": "4.保护第三方合法权益",
    "denied.internal_affairs": "5.属于三类内部事务信息",
    "denied.process_information": "6.属于四类过程性信息",
    "denied.enforcement_files": "7.属于行政执法案卷",
    "denied.administrative_query": "8.属于行政查询事项",
    "unable.not_held": "1.本机关不掌握相关政府信息",
    "unable.needs_creation": "2.没有现成信息需要另行制作",
    "unable.unclear_after_correction": "3.补正后申请内容仍不明确",
    "not_processed.petition_complaint": "1.信访举报投诉类申请",
    "not_processed.duplicate": "2.重复申请",
    "not_processed.publication": "3.要求提供公开出版物",
    "not_processed.excessive": "4.无正当理由大量反复申请",
    "not_processed.confirmation": "5.要求行政机关确认或重新出具已获取信息",
    "other.no_correction": "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "other.unpaid_fee": "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "other.other": "3.其他",
    "total_handled": "（七）总计",
    "carried_forward": "四、结转下年度继续办理",
}
SECTIONS = {"denied": "（三）不予公开", "unable": "（四）无法提供", "not_processed": "（五）不予处理", "other": "（六）其他处理"}
#: Printed blank: the research-institution column of 四、结转下年度继续办理.
BLANK = ("carried_forward", "research_institution")


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


class _Layout:
    def __init__(self) -> None:
        self.pages = [Page()]
        self.top = 60.0

    @property
    def page(self) -> Page:
        return self.pages[-1]

    def new_page(self) -> None:
        self.pages.append(Page())
        self.top = 60.0

    def line(self, text: str, x: float = 60, size: float = 12, gap: float = 10) -> None:
        self.page.text(x, self.top, text, size)
        self.top += size + gap


def _request_header(layout: _Layout) -> None:
    page, top = layout.page, layout.top
    page.text(390, top, "申请人情况", 7)
    page.text(60, top + 12, "（本列数据的勾稽关系为：第一项加第二项之和，", 7)
    page.text(340, top + 12, "法人或其他组织", 7)
    page.text(60, top + 22, "等于第三项加第四项之和）", 7)
    for x, label in zip(VALUE_X, ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]):
        page.text(x, top + 34, label, 5)
    layout.top += 52


def build_report() -> bytes:
    layout = _Layout()
    page = layout.page
    page.text(230, 50, AGENCY, 16)
    page.text(150, 72, f"{YEAR}年政府信息公开工作年度报告", 16)
    layout.top = 110
    layout.line("一、总体情况")
    layout.line("本机关依照条例做好政府信息公开工作。", x=84)
    layout.line("二、主动公开政府信息情况")
    values_by_row = {row: list(cells.values()) for _, row, cells in ACTIVE}
    labels = {"regulations": "规章", "normative_documents": "行政规范性文件", "administrative_licensing": "行政许可",
              "administrative_penalty": "行政处罚", "administrative_coercion": "行政强制", "administrative_fees": "行政事业性收费"}
    headers = {"art20_1": ["本年制发件数", "本年废止件数", "现行有效件数"], "art20_5": ["本年处理决定数量"],
               "art20_6": ["本年处理决定数量"], "art20_8": ["本年收费金额（单位：万元）"]}
    items = {"art20_1": "（一）", "art20_5": "（五）", "art20_6": "（六）", "art20_8": "（八）"}
    seen = set()
    for item, row, _ in ACTIVE:
        if item not in seen:
            seen.add(item)
            layout.page.text(60, layout.top, f"第二十条第{items[item]}项", 9)
            layout.top += 18
            layout.page.text(60, layout.top, "信息内容", 9)
            for x, header in zip((300, 390, 480), headers[item]):
                layout.page.text(x, layout.top, header, 7)
            layout.top += 18
        layout.page.text(60, layout.top, labels[row], 9)
        for x, value in zip((300, 390, 480), values_by_row[row]):
            layout.page.text(x, layout.top, value, 9)
        layout.top += 18
    layout.top += 8
    layout.line("三、收到和处理政府信息公开申请情况")
    _request_header(layout)

    values = request_values()
    spans: dict[tuple[str, int], list[tuple[float, float]]] = {}
    vertical_top = None
    for code, label in REQUEST_LABELS.items():
        if code == "unable.needs_creation":  # the page breaks inside （四）无法提供
            layout.new_page()
            _request_header(layout)  # the header printed again on the next page
        section = code.split(".")[0] if "." in code else None
        x, width = (130, 14) if section else ((80, 18) if code.startswith("（") or REQUEST_LABELS[code].startswith("（") else (60, 20))
        lines = _wrap(label, 10 if code == "partially_granted" else width)
        top = layout.top + 4
        middle = top + LINE * (len(lines) - 1) / 2
        numbers = [(vx, str(v)) for (column, vx, v) in zip(REQUEST_COLUMNS + ["total"], VALUE_X, values[code])
                   if (code, column) != BLANK]
        # Wrapped rows: the text layer draws the numbers first, then the label's lines.
        if len(lines) > 1:
            for vx, text in numbers:
                layout.page.text(vx, middle, text, 9)
        for index, text in enumerate(lines):
            layout.page.text(x, top + LINE * index, text, 9)
        if len(lines) == 1:
            for vx, text in numbers:
                layout.page.text(vx, middle, text, 9)
        if code == "granted":
            vertical_top = top
        if section:
            spans.setdefault((section, len(layout.pages)), []).append((top, top + LINE * len(lines)))
        layout.top += LINE * len(lines) + 10
    # Section labels centred beside their sub-rows, wrapped every four characters; （四） is cut in two
    # by the page break.
    for (section, page_number), extents in spans.items():
        parts = _wrap(SECTIONS[section], 4)
        if section == "unable":
            parts = ["（四）无"] if page_number == 1 else ["法提供"]
        centre = (extents[0][0] + extents[-1][1]) / 2
        for index, text in enumerate(parts):
            layout.pages[page_number - 1].text(80, centre - LINE * len(parts) / 2 + LINE * index, text, 9)
    # '三、本年度办理结果' printed one character per line down the first column.
    for index, text in enumerate(["三、", "本", "年", "度", "办", "理", "结", "果"]):
        layout.pages[0].text(60, vertical_top + 16 + 14 * index, text, 9)

    layout.top += 10
    layout.line("四、政府信息公开行政复议、行政诉讼情况")
    layout.page.text(60, layout.top, "行政复议", 9)
    layout.page.text(240, layout.top, "行政诉讼", 9)
    layout.top += 16
    layout.page.text(240, layout.top, "未经复议直接起诉", 7)
    layout.page.text(400, layout.top, "复议后起诉", 7)
    layout.top += 14
    for index, label in enumerate(["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"] * 3):
        layout.page.text(60 + 33 * index, layout.top, label, 5)
    layout.top += 16
    for index, value in enumerate(v for group in REVIEW.values() for v in group):
        layout.page.text(60 + 33 * index, layout.top, value, 9)
    layout.top += 24
    layout.line("五、存在的主要问题及改进情况")
    layout.line("政策解读形式还需丰富。", x=84)
    layout.line("六、其他需要报告的事项")
    layout.line("本年度未收取信息处理费。", x=84)
    layout.line(AGENCY, x=380)
    layout.line("2023年1月18日", x=390)
    return build_pdf(layout.pages)


@pytest.fixture(scope="module")
def unruled(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("unruled") / "unruled-2022.pdf"
    path.write_bytes(build_report())
    return path


def test_the_text_layer_draws_wrapped_rows_numbers_first(unruled):
    import pdfplumber

    with pdfplumber.open(unruled) as pdf:
        stream = "".join(c["text"] for c in pdf.pages[0].chars)
        assert not pdf.pages[0].find_tables()  # no ruling lines at all
    numbers = "".join(str(v) for v in request_values()["partially_granted"])
    assert stream.index(numbers) < stream.index("（二）部分公开（区分")  # the row's numbers, then its label


def test_every_cell_of_an_unruled_pdf_is_read_from_text_positions(unruled, tmp_path):
    batch = process_batch([str(unruled)])
    assert batch.files["error"].to_list() == [None]
    report = batch.reports.row(0, named=True)
    assert report["reader"] == READER_TEXT
    assert (report["agency"], report["year"], report["signature_date"].isoformat()) == (AGENCY, YEAR, "2023-01-18")
    assert fact_differences(batch.facts, expected_facts_csv(tmp_path / "expected.csv", blank=BLANK)) == []
    assert batch.checks.filter(~batch.checks["passed"]).to_dicts() == []


def test_unruled_rows_are_rebuilt_whole(unruled):
    (document,) = parse_pdf(str(unruled), unruled.read_bytes())
    rows = [b.cells for b in document.blocks if isinstance(b, Row)]
    values = request_values()

    def row(code: str) -> tuple[str, ...]:
        return tuple(str(v) for v in values[code])

    # Its three lines around the numbers (drawn before them) make one label.
    assert any(r[-8:] == ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）",) + row("partially_granted") for r in rows)
    # Printed one character per line, read as one label.
    assert sum("三、本年度办理结果" in r for r in rows) == 1
    # Centred beside sub-rows 1. to 8., it opens them.
    assert ("（三）不予公开", "1.属于国家秘密") + row("denied.state_secret") in rows
    assert ("（四）无法提供", "1.本机关不掌握相关政府信息") + row("unable.not_held") in rows
    assert ("2.没有现成信息需要另行制作",) + row("unable.needs_creation") in rows
    assert ("（六）其他处理", REQUEST_LABELS["other.no_correction"]) + row("other.no_correction") in rows
    assert sum("申请人情况" in r for r in rows) == 1  # printed again on page 2, read once
    forward = list(row("carried_forward"))
    forward[REQUEST_COLUMNS.index("research_institution")] = ""
    assert ("四、结转下年度继续办理", *forward) in rows  # the blank cell stays in its column
