"""The real Huai'an 2024 report as other tools render it, read by every reader: all 200 hand-read
cells, most of them not zero, right in value, kind and printed text, so a reader that shifts a column
or drops a row fails here where the nearly all-zero samples would let it pass.

The renderings are the PDF's text as mirror sites serve it (pdftotext -layout, PDFium), the Word file
pdf2docx makes of it, the web page and the Word 97 file LibreOffice saves from that, and, built here,
its text in Traditional characters and glued as a crawler strips a page, and its pages scanned into one
TIFF. tests/fixtures/real/README.md says how each file was made. The PDF itself is read in
tests/test_pdf_reports.py, scanned into an image-only PDF in tests/test_scanned_reports.py, and as
Word's plain-text export in tests/test_real_word_text.py. The last tests name renderings no reader
reads yet: they are expected to fail, strictly, so the day a reader learns one the marker must go and
the test guards it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import lxml.html
import opencc
import pdfplumber
import pytest
from PIL import Image

from extractors.scan import pdf_page_images
from flows.pipeline import process_batch
from template import AMBIGUOUS
from tests.conftest import ROOT
from tests.expected import expected_facts, fact_differences

REAL = ROOT / "tests" / "fixtures" / "real"
HUAIAN = REAL / "huaian-city-government-2024.pdf"
HUAIAN_FACTS = ROOT / "tests" / "data" / "real" / "huaian-city-government-2024.facts.csv"

#: Stored rendering -> the reader that must read it.
RENDERINGS = {
    "pdftotext-layout.txt": "text/aligned",
    "pdfium.txt": "text/aligned",
    "pdf2docx.docx": "docx/python-docx",
    "libreoffice.html": "html/lxml",
    "libreoffice.txt": "text/line-per-cell",
    "html2text.md": "text/pipes",
    "markdownify.md": "text/pipes",
    "pymupdf4llm.md": "text/pipes",
}
#: Cells whose digits run together in the glued text with more than one split that passes the
#: template's sums (table A has none to pass): the reader must say so rather than guess.
GLUED_AMBIGUOUS = {
    ("active_disclosure", "regulations", col) for col in ("issued", "repealed", "in_force")
} | {
    ("active_disclosure", "normative_documents", col) for col in ("issued", "repealed", "in_force")
} | {
    ("review_litigation", "litigation_after_review", col) for col in ("upheld", "corrected", "other_result", "pending")
}
needs_libreoffice = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("NIANBAO_REQUIRE_LIBREOFFICE"),
    reason="the DOC reader converts through LibreOffice: apt-get install libreoffice-writer-nogui",
)


def rendering(name: str) -> Path:
    return REAL / f"huaian-city-government-2024.{name}"


def read_all_right(path: Path, reader: str) -> None:
    """The file loads as the Huai'an report through `reader`, with every hand-read cell and every check right."""
    batch = process_batch([str(path)])
    assert batch.files.select("status", "error").rows() == [("loaded", None)]
    assert batch.reports.select("reader", "agency", "year").rows() == [(reader, "淮安市人民政府", 2024)]
    assert (batch.reports["template_version"][0], batch.reports["requests_template_version"][0]) == ("2021", "2021")
    assert fact_differences(batch.facts, HUAIAN_FACTS) == []
    assert batch.checks.filter(~batch.checks["passed"]).to_dicts() == []


@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_every_hand_read_cell_of_a_rendering_is_read(name):
    read_all_right(rendering(name), RENDERINGS[name])


@pytest.mark.slow  # LibreOffice converts the file first: 10-15 s here
@needs_libreoffice
def test_every_hand_read_cell_of_the_word_97_rendering_is_read():
    read_all_right(rendering("libreoffice.doc"), "doc/libreoffice+python-docx")


def test_every_hand_read_cell_of_a_traditional_mirror_is_read(tmp_path):
    traditional = opencc.OpenCC("s2twp").convert(rendering("pdftotext-layout.txt").read_text(encoding="utf-8"))
    assert "主動公開政府資訊情況" in traditional  # the headings really changed script
    mirror = tmp_path / "huaian-traditional.txt"
    mirror.write_text(traditional, encoding="utf-8")
    read_all_right(mirror, "text/aligned+opencc")


def test_a_glued_page_text_is_read_right_or_said_to_be_ambiguous(tmp_path):
    """The web page's text with every string stripped and joined with nothing between, as
    BeautifulSoup's get_text(strip=True) gives it: 3001533…, one line for the whole report."""
    page = lxml.html.fromstring(rendering("libreoffice.html").read_bytes())
    glued = tmp_path / "huaian-glued.txt"
    glued.write_text("".join(text.strip() for text in page.body.itertext()), encoding="utf-8")
    batch = process_batch([str(glued)])
    assert batch.reports.select("reader", "agency", "year").rows() == [("text/glued", "淮安市人民政府", 2024)]

    expected = expected_facts(HUAIAN_FACTS)
    facts = {(row["table_code"], row["row_code"], row["col_code"]): row for row in batch.facts.iter_rows(named=True)}
    assert facts.keys() == expected.keys()
    ambiguous = {key for key, row in facts.items() if row["value_kind"] == "ambiguous"}
    assert ambiguous == GLUED_AMBIGUOUS
    for key in ambiguous:  # the printed number is one of the readings offered
        readings = facts[key]["raw_text"].removeprefix(AMBIGUOUS).split(" in ")[0].split("|")
        assert expected[key]["raw_text"] in [reading.strip() for reading in readings], (key, facts[key]["raw_text"])
    determined = batch.facts.filter(batch.facts["value_kind"] != "ambiguous")
    differences = fact_differences(determined, HUAIAN_FACTS)
    assert differences == sorted(f"missing from facts: {key}" for key in GLUED_AMBIGUOUS)


@pytest.mark.slow  # OCR of six pages: about 50 s of CPU
def test_the_real_report_scanned_to_a_multi_page_tiff_is_read_right_or_flagged(tmp_path):
    """The pages as an office scanner files them (one TIFF): every cell right in value, kind and
    text, but for at most one misread, which its OCR checks flag. Measured: 199 of 200 right; （六）2's
    总计 6 read as 0 with confidence 0.36, flagged with 6 as the value that makes its sums pass."""
    pages = [Image.fromarray(page) for page in pdf_page_images(str(HUAIAN), HUAIAN.read_bytes())]
    scan = tmp_path / "huaian-scanned.tiff"
    pages[0].save(scan, save_all=True, append_images=pages[1:], compression="tiff_deflate")
    batch = process_batch([str(scan)])
    assert batch.reports.select("reader", "agency", "year").rows() == [("image/rapidocr", "淮安市人民政府", 2024)]
    wrong = {line.split(": ")[0] for line in fact_differences(batch.facts, HUAIAN_FACTS)}
    ocr_checks = batch.checks.filter(~batch.checks["passed"] & batch.checks["rule"].str.starts_with("ocr_"))
    flagged = {str(tuple(scope.split("/"))) for scope in ocr_checks["scope"]}
    assert len(wrong) <= 1, wrong
    assert wrong <= flagged


# ---- renderings built here from the PDF or the page, and the one no reader reads yet -------------

def _pdfplumber_text(tmp_path: Path) -> Path:
    """pdfplumber's plain extract_text(): each printed line, its cells one space apart."""
    with pdfplumber.open(HUAIAN) as pdf:
        text = "\n".join(page.extract_text() for page in pdf.pages)
    path = tmp_path / "huaian-pdfplumber.txt"
    path.write_text(text, encoding="utf-8")
    return path


UNREAD = {
    "pdftotext.txt": "pdftotext without -layout prints table C's numbers in five runs between its header "
                     "words, in no column order (72 64 178 37 / 12 1 1 6 / 351 / 13 4 8 1 26 / 20): the file "
                     "fails as table_layout. Table B, whose labels it prints after their numbers, is read",
}


def _page_lines(tmp_path: Path) -> Path:
    """The web page's text one string a line, as a crawler's get_text("\n", strip=True) gives it."""
    page = lxml.html.fromstring(rendering("libreoffice.html").read_bytes())
    path = tmp_path / "huaian-page-lines.txt"
    path.write_text("\n".join(text.strip() for text in page.body.itertext() if text.strip()), encoding="utf-8")
    return path


def test_page_text_one_string_a_line_is_read(tmp_path):
    read_all_right(_page_lines(tmp_path), "text/line-per-cell")


def test_pdfplumber_plain_text_is_read(tmp_path):
    read_all_right(_pdfplumber_text(tmp_path), "text/aligned")


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=why))
                                  for name, why in UNREAD.items()])
def test_a_rendering_not_read_yet(name):
    batch = process_batch([str(rendering(name))])
    assert batch.files["status"].to_list() == ["loaded"]
    assert fact_differences(batch.facts, HUAIAN_FACTS) == []
