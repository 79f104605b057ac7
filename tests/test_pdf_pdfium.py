"""PDF pages read with pdfium give pdfplumber's (pdfminer's) characters and ruled tables; pages pdfium
would place differently are left to pdfplumber."""

from __future__ import annotations

import io

import pdfplumber
import pypdf
import pytest

from extractors.pdf import READER_GRID, parse_pdf
from extractors.pdf_fonts import font_descents
from extractors.pdf_pdfium import open_pages
from tests.office import REAL_FIXTURES
from tests.pdf_builder import Page, build_pdf

HUAIAN = REAL_FIXTURES / "huaian-city-government-2024.pdf"


def _both(data: bytes):
    opened = open_pages(data)
    assert opened is not None  # read with pdfium, not handed back to pdfplumber
    document, pages = opened
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        yield from zip(pdf.pages, pages)
    document.close()


def test_characters_are_those_pdfminer_reads_in_the_same_boxes():
    pages = 0
    for plumber, pdfium in _both(HUAIAN.read_bytes()):
        assert [c["text"] for c in pdfium.chars] == [c["text"] for c in plumber.chars]
        for key in ("x0", "top", "bottom", "doctop"):
            assert max(abs(a[key] - b[key]) for a, b in zip(plumber.chars, pdfium.chars)) < 0.01, key
        # pdfium's advance comes from the font program, pdfminer's from the widths the PDF lists
        assert max(abs(a["x1"] - b["x1"]) for a, b in zip(plumber.chars, pdfium.chars)) < 0.25
        assert (pdfium.height, pdfium.initial_doctop) == (plumber.height, plumber.initial_doctop)
        pages += 1
    assert pages == 6


def test_ruled_tables_are_those_pdfplumber_finds():
    tables = 0
    for plumber, pdfium in _both(HUAIAN.read_bytes()):
        expected = plumber.find_tables()
        found = pdfium.find_tables()
        assert [v for t in found for v in t.bbox] == pytest.approx([v for t in expected for v in t.bbox], abs=0.01)
        assert [t.extract() for t in found] == [t.extract() for t in expected]
        tables += len(found)
    assert tables >= 3  # the three tables, continued over pages 3 to 5


def test_a_font_without_an_embedded_program_is_placed_by_its_descriptor():
    page = Page()
    page.text(72, 100, "二、主动公开政府信息情况", size=12)
    page.text(72, 130, "行政许可 1234", size=9)
    data = build_pdf([page])
    assert font_descents(data) == [{"STSong-Light": -0.12}]
    ((plumber, pdfium),) = list(_both(data))
    assert [c["text"] for c in pdfium.chars] == [c["text"] for c in plumber.chars]
    assert max(abs(a["top"] - b["top"]) for a, b in zip(plumber.chars, pdfium.chars)) < 0.01


def test_a_rotated_page_is_left_to_pdfplumber_and_read_the_same(tmp_path):
    reader = pypdf.PdfReader(HUAIAN)
    writer = pypdf.PdfWriter()
    for index, page in enumerate(reader.pages):
        writer.add_page(page)
        if index == 0:
            writer.pages[0].rotate(90)
    rotated = io.BytesIO()
    writer.write(rotated)
    assert open_pages(rotated.getvalue()) is None
    assert font_descents(rotated.getvalue()) is not None  # the fonts alone would not have stopped it
    (document, *_) = parse_pdf("rotated.pdf", rotated.getvalue(), strategy="grid")
    assert document.reader == READER_GRID
