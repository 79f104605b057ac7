"""PDF reports: the real Huai'an 2024 report read by hand, the official template filled and converted by
LibreOffice, read from the ruled grid and from text positions alone; scans and encrypted files refused."""

from __future__ import annotations

import functools
from pathlib import Path

import pypdf
import pytest
from PIL import Image, ImageDraw

import extractors.pdf as pdf_module
from extractors.document import Paragraph, Row
from extractors.pdf import NO_TEXT, READER_GRID, READER_TEXT, parse_pdf
from flows.pipeline import process_batch
from tests.conftest import ROOT
from tests.expected import fact_differences
from tests.office import AGENCY, REAL_FIXTURES, SIGNATURE_DATE, YEAR, convert, expected_facts_csv, filled_template

HUAIAN = REAL_FIXTURES / "huaian-city-government-2024.pdf"
#: Every cell of its three tables, typed from pages 3-5 rendered by pdftoppm at 220 dpi (not from any
#: extractor's output); the numbers agree with the totals its section 一 states in words.
HUAIAN_FACTS = ROOT / "tests" / "data" / "real" / "huaian-city-government-2024.facts.csv"


def _only(strategy: str, monkeypatch) -> None:
    """Make extraction read PDFs one way only ('grid' or 'text')."""
    monkeypatch.setattr(pdf_module, "parse_pdf", functools.partial(parse_pdf, strategy=strategy))


def _document(path: Path, strategy: str):
    (document,) = parse_pdf(str(path), path.read_bytes(), strategy=strategy)
    return document


def _rows(document) -> list[tuple[str, ...]]:
    return [block.cells for block in document.blocks if isinstance(block, Row)]


@pytest.fixture(scope="module")
def huaian_batch():
    return process_batch([str(HUAIAN)])


# ---- the real report -------------------------------------------------------------------------

def test_every_cell_of_the_real_pdf_matches_the_values_read_by_hand(huaian_batch):
    assert huaian_batch.files["status"].to_list() == ["loaded"]
    assert fact_differences(huaian_batch.facts, HUAIAN_FACTS) == []


def test_real_pdf_metadata_comes_from_its_title_lines(huaian_batch):
    report = huaian_batch.reports.row(0, named=True)
    assert report["agency"] == "淮安市人民政府"
    assert report["year"] == 2024
    assert report["title"] == "淮安市人民政府2024年政府信息公开工作年度报告"
    assert report["signature_date"] is None  # the report closes with section 六, unsigned and undated
    assert (report["template_version"], report["requests_template_version"]) == ("2021", "2021")
    assert report["reader"] == READER_GRID
    assert report["encoding"] is None


def test_real_pdf_passes_every_check(huaian_batch):
    failed = huaian_batch.checks.filter(~huaian_batch.checks["passed"])
    assert failed.height == 0, failed.to_dicts()


def test_real_pdf_read_from_text_positions_alone_gives_the_same_cells(monkeypatch):
    _only("text", monkeypatch)
    batch = process_batch([str(HUAIAN)])
    assert batch.reports["reader"].to_list() == [READER_TEXT]
    assert fact_differences(batch.facts, HUAIAN_FACTS) == []
    assert batch.reports["agency"].to_list() == ["淮安市人民政府"]


def test_a_row_label_cut_by_the_page_break_is_joined_onto_the_row_it_opens():
    # Page 4 ends with '（四）无' beside 1.本机关不掌握…; page 5 starts with '法提供' beside 2.
    for strategy in ("grid", "text"):
        rows = _rows(_document(HUAIAN, strategy))
        assert ("（四）无法提供", "1.本机关不掌握相关政府信息", "746", "12", "0", "0", "10", "1", "769") in rows, strategy
        assert not any("法提供" in cell for row in rows for cell in row if cell != "（四）无法提供"), strategy


def test_table_b_continues_across_the_page_break_as_one_table():
    rows = _rows(_document(HUAIAN, "grid"))
    labels = [row[-8] for row in rows if len(row) >= 8]
    start = labels.index("8.属于行政查询事项")
    assert labels[start + 1 : start + 4] == ["1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作", "3.补正后申请内容仍不明确"]


def test_a_label_printed_one_character_per_line_is_read_as_one_label():
    # '三、本年度办理结果' is printed down a narrow column, one character per line.
    grid_rows = _rows(_document(HUAIAN, "grid"))
    assert grid_rows[[r[1] if len(r) > 1 else "" for r in grid_rows].index("（一）予以公开")][0] == "三、本年度办理结果"
    text_rows = _rows(_document(HUAIAN, "text"))
    assert ("三、本年度办理结果", "（三）不予公开", "1.属于国家秘密", "2", "0", "0", "0", "0", "0", "2") in text_rows


def test_a_wrapped_label_keeps_the_numbers_printed_between_its_lines():
    # The label runs over three lines and its numbers sit level with the second one.
    expected = ("1、申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请", "67", "3", "0", "0", "1", "0", "71")
    for strategy in ("grid", "text"):
        rows = _rows(_document(HUAIAN, strategy))
        assert any(row[-8:] == expected for row in rows), strategy


def test_page_numbers_are_dropped_and_paragraphs_continue_across_pages():
    paragraphs = [b.text for b in _document(HUAIAN, "grid").blocks if isinstance(b, Paragraph)]
    assert not any(text.strip("- ").isdigit() for text in paragraphs)
    # Page 1 ends '…“建设‘四最’一流', page 2 goes on '营商环境高质量推进产业发展”…'.
    assert any("“建设‘四最’一流营商环境高质量推进产业发展”" in text for text in paragraphs)
    assert "二、主动公开政府信息情况" in paragraphs and "五、存在的主要问题及改进情况" in paragraphs


# ---- the template filled with known numbers, converted to PDF by LibreOffice ------------------

@pytest.fixture(scope="module")
def template_pdfs(tmp_path_factory) -> dict[str, Path]:
    """The filled template as PDF, once plain and once with table B's header set to repeat on
    every page (it spans two)."""
    work = tmp_path_factory.mktemp("template-pdf")
    made = {}
    for name, repeat in (("filled", False), ("header-repeats", True)):
        source = work / f"{name}.docx"
        source.write_bytes(filled_template(header_repeats=repeat))
        made[name] = convert(source, "pdf", work)
    made["expected"] = expected_facts_csv(work / "expected.csv")
    return made


@pytest.mark.parametrize("strategy", ["grid", "text"])
@pytest.mark.parametrize("name", ["filled", "header-repeats"])
def test_every_cell_of_the_converted_template_is_read(template_pdfs, monkeypatch, strategy, name):
    _only(strategy, monkeypatch)
    batch = process_batch([str(template_pdfs[name])])
    assert batch.files["error"].to_list() == [None]
    report = batch.reports.row(0, named=True)
    assert report["reader"] == {"grid": READER_GRID, "text": READER_TEXT}[strategy]
    assert (report["agency"], report["year"]) == (AGENCY, YEAR)
    assert report["signature_date"].isoformat() == SIGNATURE_DATE
    assert fact_differences(batch.facts, template_pdfs["expected"]) == []
    assert batch.checks.filter(~batch.checks["passed"]).to_dicts() == []


def test_a_header_repeated_on_the_next_page_is_read_once(template_pdfs):
    pages = pypdf.PdfReader(template_pdfs["header-repeats"]).pages
    assert sum("申请人情况" in page.extract_text() for page in pages) == 2  # printed twice
    rows = _rows(_document(template_pdfs["header-repeats"], "grid"))
    assert sum("申请人情况" in row for row in rows) == 1


def test_a_pdf_with_ruling_lines_is_read_from_its_grid(template_pdfs):
    assert process_batch([str(template_pdfs["filled"])]).reports["reader"].to_list() == [READER_GRID]


# ---- files that are not readable reports ----------------------------------------------------

def _failure(path: Path) -> dict:
    batch = process_batch([str(path)])
    assert batch.reports.height == 0
    return batch.files.row(0, named=True)


def test_a_scanned_pdf_with_a_table_drawn_and_no_text_fails_with_no_text_found(tmp_path):
    page = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(page)
    for y in range(300, 1500, 60):  # a table, as pixels
        draw.line((100, y, 1140, y), fill="black", width=2)
    draw.rectangle((100, 300, 1140, 1440), outline="black", width=3)
    scan = tmp_path / "scanned.pdf"
    page.save(scan, "PDF", resolution=150)
    failed = _failure(scan)
    assert failed["status"] == "failed"
    assert failed["reason"] == "no_text_found"
    assert failed["error"] == f"{scan}: {NO_TEXT}"
    assert NO_TEXT == "no text found: the PDF has no text layer and OCR finds no text on its pages (blank scans?)"


def test_an_encrypted_pdf_fails_with_its_own_reason(tmp_path):
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(HUAIAN))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    encrypted = tmp_path / "encrypted.pdf"
    with encrypted.open("wb") as handle:
        writer.write(handle)
    failed = _failure(encrypted)
    assert failed["reason"] == "encrypted"
    assert "encrypted PDF: it needs a password to open" in failed["error"]


def test_a_pdf_restricted_only_by_an_owner_password_is_read(tmp_path):
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(HUAIAN))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    restricted = tmp_path / "restricted.pdf"
    with restricted.open("wb") as handle:
        writer.write(handle)
    batch = process_batch([str(restricted)])
    assert fact_differences(batch.facts, HUAIAN_FACTS) == []


def test_a_file_named_pdf_that_is_not_one_is_refused(tmp_path):
    fake = tmp_path / "report.pdf"
    fake.write_text("<html><body>not a pdf</body></html>", encoding="utf-8")
    failed = _failure(fake)
    assert failed["reason"] == "unreadable_container"
    assert "not a PDF file" in failed["error"]


def test_a_pdf_under_another_name_is_read_as_a_pdf(tmp_path):
    renamed = tmp_path / "report.html"
    renamed.write_bytes(HUAIAN.read_bytes())
    batch = process_batch([str(renamed)])
    assert batch.reports["reader"].to_list() == [READER_GRID]
    assert fact_differences(batch.facts, HUAIAN_FACTS) == []


def test_a_truncated_pdf_is_refused_not_crashed(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(HUAIAN.read_bytes()[:5000])
    failed = _failure(broken)
    assert failed["status"] == "failed"
    assert failed["reason"] == "unreadable_container"
    assert str(broken) in failed["error"]
