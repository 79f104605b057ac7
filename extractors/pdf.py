"""PDF reports with a text layer to paragraphs and rows: the documents to try, best first.

Two ways to rebuild the tables, both ending in the rows the locator reads:

- pdf/pdfplumber-grid, preferred: the table's ruling lines give the cells (extractors/pdf_grid.py).
- pdf/pdfplumber-text, when the PDF has no ruled grid (or the grid misses a table): text
  positions (extractors/pdf_text_layout.py).

The modules, one job each: pdf_pages (the file's pages to positioned lines and ruled tables, OCR for
scanned pages), pdf_pdfium and pdf_fonts (characters and ruling lines read by pdfium, in C, placed
as pdfminer places them), pdf_boxes (positioned text to lines and cells), pdf_paragraphs (text lines to
paragraphs), pdf_rows (rows, with labels moved to the row they belong to), pdf_grid and
pdf_text_layout (the two readings).

Both: page numbers are dropped; a table that continues on the next page continues the same
rows (a repeated header is dropped); a row label cut by the page break, or a section label
centred beside its numbered sub-rows, goes back to the sub-row 1. that opens its section; text
lines outside tables are joined into paragraphs, so headings stay separate paragraphs.

Scanned pages (no text layer, an image) are OCRed (extractors/scan.py) and their text boxes
read by text positions like a text layer's words, each keeping its recognition confidence
(document.ScoredText): pdf/rapidocr. A PDF that needs a password to open fails with
EncryptedFile; one where neither the text layer nor OCR finds any text with NoTextFound.
"""

from __future__ import annotations

from collections.abc import Iterator

from extractors.document import Document
from extractors.pdf_grid import grid_document
from extractors.pdf_pages import NO_TEXT, Page, boxes_page, read_pages
from extractors.pdf_text_layout import text_blocks

__all__ = ["NO_TEXT", "READER_GRID", "READER_OCR", "READER_TEXT", "boxes_page", "parse_pdf", "text_document"]

READER_GRID = "pdf/pdfplumber-grid"
READER_TEXT = "pdf/pdfplumber-text"
READER_OCR = "pdf/rapidocr"


def parse_pdf(path: str, data: bytes, *, strategy: str = "auto") -> Iterator[Document]:
    """The file read as documents to try, best first, each made only when asked for: the ruled grid
    when the PDF has one, then text positions. strategy 'grid' or 'text' asks for one of them only.
    The file is opened, and refused if it is no readable PDF, before the first is asked for."""
    pages, ocred = read_pages(path, data, find_tables=strategy != "text")

    def documents() -> Iterator[Document]:
        if strategy != "text" and any(page.tables for page in pages):
            yield Document(grid_document(pages), reader=READER_GRID + ("+rapidocr" if ocred else ""))
        if strategy != "grid":
            yield Document(text_blocks(pages), reader=READER_OCR if ocred else READER_TEXT)

    return documents()


def text_document(pages: list[Page], reader: str) -> Document:
    """Pages made by boxes_page read by text positions (images given directly, pictures in HTML)."""
    return Document(text_blocks(pages), reader=reader)
