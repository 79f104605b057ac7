"""A PDF's pages to positioned lines and ruled tables.

Characters and ruling lines come from pdfium (extractors/pdf_pdfium.py) where it places them as
pdfminer would, else from pdfplumber (pdfminer); either way pdfplumber's table finder and word
extractor turn them into tables and words. A ruled table's cells come from its ruling lines; a
cell covered by a merged cell is absent, so it is read once, where it starts, as in HTML. A
cell's lines are joined without a gap, so labels wrapped in a narrow cell or printed one
character per line read as one label. Page numbers in the top or bottom margin are dropped.
Scanned pages (no text layer, an image) are OCRed (extractors/scan.py) into boxes read like a
text layer's words.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from extractors.errors import EncryptedFile, ExtractionError, NoTextFound, UnreadableContainer
from extractors.labels import normalise_label
from extractors.pdf_boxes import Box, group_lines
from extractors.pdf_pdfium import open_pages

NO_TEXT = "no text found: the PDF has no text layer and OCR finds no text on its pages (blank scans?)"

#: Fewer printed characters than this on a page: a scanned page (perhaps with a page number).
MIN_TEXT_CHARS = 20
#: Share of a page's height at its top and bottom where page numbers are looked for.
_FURNITURE_ZONE = 0.1
_PAGE_NUMBER = re.compile(r"^(?:[-—－–]*\d{1,4}[-—－–]*|第\d{1,4}页(?:共\d{1,4}页)?|\d{1,4}/\d{1,4})$")


@dataclass
class GridTable:
    """A ruled table on one page: rows of (column index, text); cells covered by a merge are left out."""

    rows: list[list[tuple[int, str]]]
    columns: int
    x0: float
    x1: float
    top: float
    bottom: float
    page: int


@dataclass
class Page:
    number: int
    #: Lines outside the ruled tables, and all lines (for reading by text positions).
    lines: list[list[Box]]
    all_lines: list[list[Box]]
    tables: list[GridTable] = field(default_factory=list)


def _cell_text(text: str | None) -> str:
    """A cell's lines joined without a gap: wrapped labels and one-character-per-line labels."""
    return "".join(" ".join(line.split()) for line in (text or "").split("\n"))


def _is_real_table(rows: list[list[str | None]]) -> bool:
    """A grid with two or more cells in at least two rows: not a box drawn round a paragraph."""
    return sum(1 for row in rows if sum(cell is not None for cell in row) >= 2) >= 2


def _is_furniture(line: list[Box], page_top: float, page_height: float) -> bool:
    """A page number in the top or bottom margin ('- 4 -', '第4页共6页', '4/6')."""
    in_margin = (
        line[0].top < page_top + _FURNITURE_ZONE * page_height
        or line[0].bottom > page_top + (1 - _FURNITURE_ZONE) * page_height
    )
    return in_margin and bool(_PAGE_NUMBER.match(normalise_label("".join(w.text for w in line))))


def _without_furniture(lines: list[list[Box]], page_top: float, page_height: float) -> list[list[Box]]:
    """The page's lines less a page number printed first or last on it (a lone number inside the
    page, such as a table cell, is kept)."""
    ends = {0, len(lines) - 1}
    return [line for i, line in enumerate(lines) if not (i in ends and _is_furniture(line, page_top, page_height))]


def _open(path: str, data: bytes):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    if b"%PDF" not in data[:1024]:
        raise UnreadableContainer(path, "not a PDF file: no %PDF header")
    try:
        return pdfplumber.open(io.BytesIO(data))
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise EncryptedFile(
                path, "encrypted PDF: it needs a password to open, so its text cannot be read "
                "(ask for an unencrypted copy)"
            ) from exc
        raise UnreadableContainer(path, f"not a readable PDF ({type(cause).__name__}: {cause})") from exc
    except Exception as exc:  # pdfminer raises assorted errors on broken files
        raise UnreadableContainer(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc


def _read_page(page, number: int, *, find_tables: bool) -> Page:
    offset = float(page.initial_doctop)
    grid: list[GridTable] = []
    if find_tables:
        for table in page.find_tables():
            extracted = table.extract()
            if not extracted or not _is_real_table(extracted):
                continue
            rows = [[(j, _cell_text(cell)) for j, cell in enumerate(row) if cell is not None] for row in extracted]
            x0, top, x1, bottom = table.bbox
            grid.append(GridTable([r for r in rows if r], len(extracted[0]), x0, x1, top + offset, bottom + offset, number))
    words = [
        Box(w["text"], float(w["x0"]), float(w["x1"]), float(w["top"]) + offset, float(w["bottom"]) + offset, number)
        for w in page.extract_words(x_tolerance=1.5, y_tolerance=3, keep_blank_chars=False, use_text_flow=False)
    ]

    def in_grid(box: Box) -> bool:
        centre_x = (box.x0 + box.x1) / 2
        return any(t.x0 <= centre_x <= t.x1 and t.top <= box.middle <= t.bottom for t in grid)

    def lines_of(boxes: list[Box]) -> list[list[Box]]:
        return _without_furniture(group_lines(boxes), offset, float(page.height))

    outside = [w for w in words if not in_grid(w)]
    all_lines = lines_of(words)
    return Page(number, lines_of(outside) if grid else all_lines, all_lines, grid)


def boxes_page(boxes: Iterable, number: int, offset: float, height: float) -> Page:
    """A page of positioned text from elsewhere (OCR boxes in points: text, x0, x1, top, bottom,
    confidence, ruled cell), stacked `offset` points down the document, as _read_page makes from a text layer."""
    words = [Box(b.text, b.x0, b.x1, b.top + offset, b.bottom + offset, number, b.confidence, b.cell) for b in boxes]
    lines = _without_furniture(group_lines(words), offset, height)
    return Page(number, lines, lines)


def _is_scanned(page) -> bool:
    return sum(1 for c in page.chars if not c["text"].isspace()) < MIN_TEXT_CHARS and bool(page.images)


def read_pages(path: str, data: bytes, *, find_tables: bool) -> tuple[list[Page], bool]:
    """The pages, and whether some were OCRed: a page with an image and no text layer is a scan.
    Read with pdfium where it places text as pdfminer would (extractors/pdf_pdfium.py), else with
    pdfplumber, which also says why a file cannot be read."""
    if b"%PDF" not in data[:1024]:
        raise UnreadableContainer(path, "not a PDF file: no %PDF header")
    opened = open_pages(data)
    if opened is None:
        with _open(path, data) as pdf:
            return _read_all(path, data, pdf.pages, find_tables=find_tables)
    document, pages = opened
    try:
        return _read_all(path, data, pages, find_tables=find_tables)
    finally:
        document.close()


def _read_all(path: str, data: bytes, pdf_pages: Sequence, *, find_tables: bool) -> tuple[list[Page], bool]:
    from extractors.scan import ocr_pages, pdf_page_images

    try:
        scanned = [number for number, page in enumerate(pdf_pages, start=1) if _is_scanned(page)]
        ocred = dict(zip(scanned, ocr_pages(pdf_page_images(path, data, scanned)))) if scanned else {}
        pages = [
            boxes_page(ocred[number].boxes, number, float(page.initial_doctop), float(page.height))
            if number in ocred else _read_page(page, number, find_tables=find_tables)
            for number, page in enumerate(pdf_pages, start=1)
        ]
    except ExtractionError:
        raise
    except Exception as exc:  # a broken page stream, an unsupported filter
        raise UnreadableContainer(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if not any(page.all_lines for page in pages):
        raise NoTextFound(path, NO_TEXT)
    return pages, bool(ocred)
