"""A PDF's pages read with pdfium (C) in the shapes pdfplumber reads them in with pdfminer (Python).

pdfminer interpreting each page's content stream in Python was most of a PDF's reading time.
pdfium's text page gives each character's text and box, and its page objects give the painted
paths, so a page here offers what extractors/pdf_pages.py asks of a pdfplumber page: `chars`
(text, x0, x1, top, bottom, doctop, upright), `edges` (the ruling lines as pdfplumber's table
finder takes them), `images`, `find_tables()` and `extract_words()`, the last two pdfplumber's own
code run over these chars and edges. A character's box is its advance width (as pdfminer's) and
its font size tall, from the font's descent below the baseline: the same cells and words.

Paths are split and classified as pdfminer does (a subpath per move; one segment is a line, four
axis-aligned sides closing on their start a rectangle, anything else a curve), and turned into
edges as pdfplumber does (a rectangle's four sides; a curve's consecutive points).

Pages pdfminer and pdfium place differently (rotated, or with a media or crop box not at the
origin) are not read here: the caller reads such a document with pdfplumber.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

import pypdfium2 as pdfium
import pypdfium2.raw as raw

from extractors.pdf_fonts import font_descents

#: (a, b, c, d, e, f): x' = a x + c y + e, y' = b x + d y + f, as PDF and pdfium write matrices.
Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass
class PdfiumPage:
    """One page: pdfplumber's coordinates (points from the top-left corner, tops stacked down the
    document by `initial_doctop`)."""

    page: pdfium.PdfPage
    width: float
    height: float
    initial_doctop: float
    chars: list[dict] = field(default_factory=list)
    images: list[None] = field(default_factory=list)
    _edges: list[dict] | None = None

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return (0.0, 0.0, self.width, self.height)

    @property
    def edges(self) -> list[dict]:
        if self._edges is None:
            self._edges = list(_edges(self.page, self.height, self.initial_doctop))
        return self._edges

    def find_tables(self) -> list:
        from pdfplumber.page import Page
        from pdfplumber.table import TableFinder, TableSettings

        # TableFinder reads only what this page offers (edges, chars, bbox): the same table finder as pdfplumber's.
        return TableFinder(cast(Page, self), TableSettings.resolve(None)).tables

    def extract_words(self, **settings) -> list[dict]:
        from pdfplumber.utils import extract_words

        return extract_words(self.chars, **settings)


def open_pages(data: bytes) -> tuple[pdfium.PdfDocument, list[PdfiumPage]] | None:
    """The document and its pages, or None when pdfium cannot open it or a page is one whose
    characters pdfminer and pdfium would not place alike (rotated, a media or crop box off the
    origin, a Type 3 or vertical font): the caller then reads it with pdfplumber, which also says
    why a file cannot be read."""
    descents = font_descents(data)
    if descents is None:
        return None
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        return None
    pages: list[PdfiumPage] = []
    doctop = 0.0
    for index in range(len(document)):
        page = document[index]
        media = tuple(page.get_mediabox())
        chars = None
        if index < len(descents) and not page.get_rotation() and media[:2] == (0.0, 0.0) \
                and tuple(page.get_cropbox()) == media:
            chars = _chars(page, media[3], doctop, descents[index])
        if chars is None:
            document.close()
            return None
        pages.append(PdfiumPage(page, media[2], media[3], doctop, chars, [None] * _count_images(page)))
        doctop += media[3]
    if len(pages) != len(descents):
        document.close()
        return None
    return document, pages


def _chars(page: pdfium.PdfPage, height: float, doctop: float, descents: dict[str, float]) -> list[dict] | None:
    """The page's characters as pdfminer boxes them: from the origin, its advance wide and its font size
    tall, from its font's descent (pdf_fonts.py); None when one is not upright, or its font is not
    among those found, for pdfplumber to read the file."""
    text_page = page.get_textpage()
    chars = []
    box, matrix = raw.FS_RECTF(), raw.FS_MATRIX()
    x, y = ctypes.c_double(), ctypes.c_double()
    name = ctypes.create_string_buffer(256)
    fonts: dict[int | None, str] = {}
    try:
        for index in range(text_page.count_chars()):
            if raw.FPDFText_IsGenerated(text_page, index):  # a space or line break pdfium inserted
                continue
            code = raw.FPDFText_GetUnicode(text_page, index)
            raw.FPDFText_GetMatrix(text_page, index, matrix)
            if matrix.b or matrix.c or matrix.a <= 0 or matrix.d <= 0:
                return None
            text_object = raw.FPDFText_GetTextObject(text_page, index)
            key = ctypes.cast(text_object, ctypes.c_void_p).value
            if key not in fonts:
                raw.FPDFFont_GetBaseFontName(raw.FPDFTextObj_GetFont(text_object), name, len(name))
                fonts[key] = name.value.decode("utf-8", "replace")
            descent = descents.get(fonts[key])
            if descent is None:
                return None
            raw.FPDFText_GetLooseCharBox(text_page, index, box)
            raw.FPDFText_GetCharOrigin(text_page, index, x, y)
            size = raw.FPDFText_GetFontSize(text_page, index) * matrix.d
            bottom = height - (y.value + descent * size)
            top = bottom - size
            chars.append({
                "text": chr(code), "x0": box.left, "x1": box.right,
                "top": top, "bottom": bottom, "doctop": top + doctop, "width": box.right - box.left,
                "height": size, "upright": True,
            })
    finally:
        text_page.close()
    return chars


def _objects(container, form: bool, matrix: Matrix) -> Iterator[tuple[object, int, Matrix]]:
    """Every page object with the matrix from its space to the page's, inside forms too."""
    count = raw.FPDFFormObj_CountObjects(container) if form else raw.FPDFPage_CountObjects(container)
    own = raw.FS_MATRIX()
    for index in range(count):
        obj = raw.FPDFFormObj_GetObject(container, index) if form else raw.FPDFPage_GetObject(container, index)
        kind = raw.FPDFPageObj_GetType(obj)
        raw.FPDFPageObj_GetMatrix(obj, own)
        combined = _multiply((own.a, own.b, own.c, own.d, own.e, own.f), matrix)
        yield obj, kind, combined
        if kind == raw.FPDF_PAGEOBJ_FORM:
            yield from _objects(obj, True, combined)


def _multiply(first: Matrix, then: Matrix) -> Matrix:
    a, b, c, d, e, f = first
    a2, b2, c2, d2, e2, f2 = then
    return (a * a2 + b * c2, a * b2 + b * d2, c * a2 + d * c2, c * b2 + d * d2, e * a2 + f * c2 + e2, e * b2 + f * d2 + f2)


def _count_images(page: pdfium.PdfPage) -> int:
    return sum(1 for _, kind, _ in _objects(page.raw, False, _IDENTITY) if kind == raw.FPDF_PAGEOBJ_IMAGE)


def _subpaths(path, matrix: Matrix, height: float) -> Iterator[tuple[str, list[tuple[float, float]]]]:
    """A path's subpaths as pdfminer sees them: its operators ('m', 'l', 'c', 'h') and each one's end
    point, in pdfplumber's coordinates (y down from the page's top)."""
    a, b, c, d, e, f = matrix
    x, y = ctypes.c_float(), ctypes.c_float()
    shape: list[str] = []
    points: list[tuple[float, float]] = []
    bezier = 0
    for index in range(raw.FPDFPath_CountSegments(path)):
        segment = raw.FPDFPath_GetPathSegment(path, index)
        raw.FPDFPathSegment_GetPoint(segment, x, y)
        point = (a * x.value + c * y.value + e, height - (b * x.value + d * y.value + f))
        kind = raw.FPDFPathSegment_GetType(segment)
        if kind == raw.FPDF_SEGMENT_MOVETO:
            if shape:
                yield "".join(shape), points
            shape, points, bezier = ["m"], [point], 0
            continue
        if not shape:
            shape, points = ["m"], [point]  # pdfium starts every path with a move; be safe all the same
            continue
        closes = bool(raw.FPDFPathSegment_GetClose(segment))
        if kind == raw.FPDF_SEGMENT_BEZIERTO:
            bezier += 1
            if bezier % 3:  # control points: pdfminer keeps a curve's end point only
                continue
            shape.append("c")
            points.append(point)
        elif closes and point == points[0]:
            shape.append("h")  # the closing side drawn back to the start: pdfminer's 'h'
            points.append(point)
            closes = False
        else:
            shape.append("l")
            points.append(point)
        if closes:
            shape.append("h")
            points.append(points[0])
    if shape:
        yield "".join(shape), points


def _edges(page: pdfium.PdfPage, height: float, doctop: float) -> Iterator[dict]:
    for obj, kind, matrix in _objects(page.raw, False, _IDENTITY):
        if kind != raw.FPDF_PAGEOBJ_PATH:
            continue
        for shape, points in _subpaths(obj, matrix, height):
            yield from _shape_edges(shape, points, doctop)


def _edge(x0: float, x1: float, top: float, bottom: float, orientation: str | None, kind: str, doctop: float) -> dict:
    return {"object_type": kind, "x0": x0, "x1": x1, "top": top, "bottom": bottom, "doctop": top + doctop,
            "width": x1 - x0, "height": bottom - top, "orientation": orientation}


def _shape_edges(shape: str, points: list[tuple[float, float]], doctop: float) -> Iterator[dict]:
    """pdfplumber's edges of one subpath pdfminer would call a line, a rectangle or a curve."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    if shape in ("ml", "mlh"):
        x0, x1 = min(xs[:2]), max(xs[:2])
        top, bottom = min(ys[:2]), max(ys[:2])
        yield _edge(x0, x1, top, bottom, "h" if top == bottom else "v", "line", doctop)
        return
    if shape in ("mlllh", "mllll"):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3), last = points
        square = (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0)
        if points[0] == last and square:
            left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
            yield _edge(left, right, top, top, "h", "rect_edge", doctop)
            yield _edge(left, right, bottom, bottom, "h", "rect_edge", doctop)
            yield _edge(left, left, top, bottom, "v", "rect_edge", doctop)
            yield _edge(right, right, top, bottom, "v", "rect_edge", doctop)
            return
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        orientation = "v" if ax == bx else ("h" if ay == by else None)
        yield _edge(min(ax, bx), max(ax, bx), min(ay, by), max(ay, by), orientation, "curve_edge", doctop)
