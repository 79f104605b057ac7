"""Reports as scans: pages drawn with pillow, then printed and scanned badly.

The pages are A4 at 200 dpi: title, paragraphs and the three tables with their ruling lines
and merged cells, a table that does not fit going on over the next page (between rows no
merged cell crosses). Then what a scanner and a stamp do: a red seal over the signature (and
sometimes over a table), a rotation of up to 2.5 degrees, blur, grain and specks, JPEG
compression. Saved as an image-only PDF or as a multi-page TIFF. Every number is printed as
the report's NumberStyle says, so the truth is the same as for every other format.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from corpus.document import Content, Paragraph, TableBlock
from corpus.grid import GridCell, Table

SCAN_LAYOUTS = ("scan/pdf", "scan/tiff")
_PAGE = (1654, 2339)
_MARGIN_X, _MARGIN_TOP, _MARGIN_BOTTOM = 150, 170, 170
_BODY, _TABLE, _TITLE = 30, 24, 40
_CELL_PAD = 10
_VALUE_COLUMN = 100
_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


def font_file() -> Path | None:
    """A CJK font on this system, or None (then scans cannot be drawn: apt-get install fonts-wqy-zenhei)."""
    return next((Path(p) for p in _FONT_FILES if Path(p).is_file()), None)


@cache
def _font(size: int):
    from PIL import ImageFont

    path = font_file()
    if path is None:
        raise RuntimeError("no CJK font to draw scans with: apt-get install fonts-wqy-zenhei")
    return ImageFont.truetype(str(path), size)


@cache
def _char_width(char: str, size: int) -> float:
    return _font(size).getlength(char)


def _width(text: str, size: int) -> float:
    return sum(_char_width(char, size) for char in text)


def _wrap(text: str, size: int, width: float) -> list[str]:
    """Lines of at most `width` pixels, broken between any two characters (as Word breaks Chinese)."""
    lines: list[str] = []
    for part in text.split("\n"):
        line, used = "", 0.0
        for char in part:
            advance = _char_width(char, size)
            if line and used + advance > width:
                lines.append(line)
                line, used = "", 0.0
            line += char
            used += advance
        lines.append(line)
    return lines


@dataclass
class _Placed:
    cell: GridCell
    row: int
    column: int


def _place(table: Table) -> tuple[list[_Placed], int]:
    """Each cell's first row and column, spans taken into account; and the number of columns."""
    taken: set[tuple[int, int]] = set()
    placed = []
    for r, row in enumerate(table):
        column = 0
        for cell in row:
            while (r, column) in taken:
                column += 1
            placed.append(_Placed(cell, r, column))
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    taken.add((r + dr, column + dc))
            column += cell.colspan
    return placed, 1 + max(c for _, c in taken)


def _longest(placed: list[_Placed], column: int, values: bool) -> float:
    """The widest one-column text of a column (labels, or value cells), with the cell's padding."""
    return min(max((_width(p.cell.text.replace("\n", ""), _TABLE) for p in placed
                    if p.column == column and p.cell.colspan == 1 and p.cell.value == values), default=0.0),
               600.0) + 2 * _CELL_PAD


def _column_widths(placed: list[_Placed], columns: int, width: int) -> list[float]:
    """Value columns as wide as their header (at least _VALUE_COLUMN); label columns share the
    rest by the length of their labels."""
    values = {p.column for p in placed if p.cell.value and p.cell.colspan == 1}
    labels = [c for c in range(columns) if c not in values]
    wanted = {c: max(_VALUE_COLUMN, _longest(placed, c, False), _longest(placed, c, True)) for c in values}
    scale = min(1.0, (width - 120 * len(labels)) / sum(wanted.values())) if wanted else 1.0
    left = width - scale * sum(wanted.values())
    longest = {c: _longest(placed, c, False) for c in labels}
    total = sum(longest.values()) or 1.0
    return [scale * wanted[c] if c in values else left * longest[c] / total for c in range(columns)]


def _row_heights(placed: list[_Placed], rows: int, widths: list[float]) -> list[float]:
    line = _TABLE * 1.45
    heights = [line + 2 * _CELL_PAD] * rows
    for p in sorted(placed, key=lambda p: p.cell.rowspan):
        width = sum(widths[p.column : p.column + p.cell.colspan]) - 2 * _CELL_PAD
        need = len(_wrap(p.cell.text, _TABLE, width)) * line + 2 * _CELL_PAD
        spanned = range(p.row, p.row + p.cell.rowspan)
        have = sum(heights[r] for r in spanned)
        if need > have:
            for r in spanned:
                heights[r] += (need - have) / len(spanned)
    return heights


class _Pages:
    """Pages being drawn on, top to bottom."""

    def __init__(self) -> None:
        from PIL import Image

        self._new = lambda: Image.new("RGB", _PAGE, "white")
        self.pages = [self._new()]
        self.y = float(_MARGIN_TOP)

    @property
    def draw(self):
        from PIL import ImageDraw

        return ImageDraw.Draw(self.pages[-1])

    def room(self) -> float:
        return _PAGE[1] - _MARGIN_BOTTOM - self.y

    def break_page(self) -> None:
        self.pages.append(self._new())
        self.y = float(_MARGIN_TOP)

    def text_line(self, text: str, size: int, *, x: float | None = None, centre: bool = False) -> None:
        height = size * 1.6
        if self.room() < height:
            self.break_page()
        left = (_PAGE[0] - _width(text, size)) / 2 if centre else (x if x is not None else _MARGIN_X)
        self.draw.text((left, self.y), text, font=_font(size), fill="black")
        self.y += height


def _draw_paragraph(pages: _Pages, text: str, heading: bool) -> None:
    width = _PAGE[0] - 2 * _MARGIN_X
    indent = 0 if heading else 2 * _BODY
    lines = _wrap(text, _BODY, width - indent)
    # The first line is indented; the rest, rewrapped to the full width.
    first, rest = lines[0], _wrap(text[len(lines[0]):], _BODY, width) if len(lines) > 1 else []
    pages.text_line(first, _BODY, x=_MARGIN_X + indent)
    for line in rest:
        pages.text_line(line, _BODY)


def _draw_table(pages: _Pages, table: Table) -> None:
    placed, columns = _place(table)
    width = _PAGE[0] - 2 * _MARGIN_X
    widths = _column_widths(placed, columns, width)
    heights = _row_heights(placed, len(table), widths)
    lefts = [_MARGIN_X + sum(widths[:c]) for c in range(columns + 1)]
    # Rows where a new page may start: no merged cell crosses the boundary above them.
    crossing = {r for p in placed for r in range(p.row + 1, p.row + p.cell.rowspan)}
    groups: list[list[int]] = []
    for r in range(len(table)):
        if r in crossing:
            groups[-1].append(r)
        else:
            groups.append([r])
    pages.y += 10
    tops: dict[int, tuple[int, float]] = {}
    for group in groups:
        if pages.room() < sum(heights[r] for r in group):
            pages.break_page()
        for r in group:
            tops[r] = (len(pages.pages) - 1, pages.y)
            pages.y += heights[r]
    from PIL import ImageDraw

    line = _TABLE * 1.45
    for p in placed:
        page, top = tops[p.row]
        bottom = top + sum(heights[p.row : p.row + p.cell.rowspan])
        draw = ImageDraw.Draw(pages.pages[page])
        x0, x1 = lefts[p.column], lefts[p.column + p.cell.colspan]
        draw.rectangle((x0, top, x1, bottom), outline="black", width=2)
        text_lines = _wrap(p.cell.text, _TABLE, x1 - x0 - 2 * _CELL_PAD)
        y = (top + bottom) / 2 - len(text_lines) * line / 2 + (line - _TABLE) / 2
        for text in text_lines:
            text_x = (x0 + x1 - _width(text, _TABLE)) / 2 if p.cell.value or len(text_lines) > 1 or x1 - x0 < 200 \
                else x0 + _CELL_PAD
            draw.text((text_x, y), text, font=_font(_TABLE), fill="black")
            y += line
    pages.y += 20


def _seal(page, centre: tuple[float, float], rng: random.Random, text: str) -> None:
    """A red round stamp: ring, star and the agency's name around the top."""
    from PIL import Image, ImageDraw

    radius = 170
    stamp = Image.new("RGBA", (2 * radius + 10, 2 * radius + 10), (0, 0, 0, 0))
    draw = ImageDraw.Draw(stamp)
    colour = (215, 30, 35, 170)
    c = radius + 5
    draw.ellipse((5, 5, 2 * radius + 5, 2 * radius + 5), outline=colour, width=9)
    star = [(c + (60 if k % 2 == 0 else 24) * math.cos(math.radians(-90 + 36 * k)),
             c + (60 if k % 2 == 0 else 24) * math.sin(math.radians(-90 + 36 * k))) for k in range(10)]
    draw.polygon(star, fill=colour)
    font = _font(34)
    chars = text[:14]
    for k, char in enumerate(chars):
        angle = math.radians(-160 + 140 * k / max(len(chars) - 1, 1))
        x, y = c + (radius - 45) * math.cos(angle), c + (radius - 45) * math.sin(angle)
        draw.text((x - 17, y - 17), char, font=font, fill=colour)
    stamp = stamp.rotate(rng.uniform(-30, 30))
    page.paste(stamp, (int(centre[0] - c), int(centre[1] - c)), stamp)


def _scanned(page, rng: random.Random, angle: float):
    """The page as a scanner returns it: turned a little, blurred, grainy, with specks."""
    import numpy as np
    from PIL import Image, ImageFilter

    page = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor="white")
    page = page.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.0)))
    pixels = np.asarray(page, dtype=np.int16)
    noise = np.random.default_rng(rng.randrange(2**32))
    pixels = pixels + noise.normal(0, rng.uniform(4, 10), pixels.shape[:2])[..., None].astype(np.int16)
    specks = noise.random(pixels.shape[:2]) < 0.0004
    pixels[specks] = 40
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def render_pages(content: Content, rng: random.Random) -> list:
    """The report's pages, clean, with the seal on."""
    pages = _Pages()
    for line in content.title_lines:
        pages.text_line(line, _TITLE, centre=True)
    pages.y += 30
    for block in content.blocks:
        if isinstance(block, TableBlock):
            _draw_table(pages, block.table)
        elif isinstance(block, Paragraph):
            _draw_paragraph(pages, block.text, block.text in content.headings)
    pages.y += 40
    signature_top = pages.y
    for line in content.signature_lines:
        pages.text_line(line, _BODY, x=_PAGE[0] - _MARGIN_X - _width(line, _BODY) - 40)
    last = pages.pages[-1]
    if content.signature_lines:
        _seal(last, (_PAGE[0] - _MARGIN_X - 220, signature_top + 40), rng, content.agency)
    if rng.random() < 0.3:
        _seal(pages.pages[min(1, len(pages.pages) - 1)], (rng.uniform(500, 1100), rng.uniform(600, 1600)), rng, content.agency)
    return pages.pages


def render_scan(content: Content, rng: random.Random) -> tuple[str, str, bytes]:
    """(suffix, layout, bytes): an image-only PDF or a multi-page TIFF of the scanned pages."""
    angle = rng.uniform(-2.5, 2.5)
    pages = [_scanned(page, rng, angle + rng.uniform(-0.3, 0.3)) for page in render_pages(content, rng)]
    out = io.BytesIO()
    if rng.random() < 0.75:
        quality = rng.randint(60, 85)
        pages[0].save(out, "PDF", resolution=200, save_all=True, append_images=pages[1:], quality=quality)
        return ".pdf", SCAN_LAYOUTS[0], out.getvalue()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression="jpeg", quality=80, dpi=(200, 200))
    return ".tif", SCAN_LAYOUTS[1], out.getvalue()


def table_picture(table: Table):
    """One table drawn alone, as a page shows a table as a picture (an <img> in place of the <table>)."""
    pages = _Pages()
    pages.y = 40.0
    _draw_table(pages, table)
    return pages.pages[0].crop((_MARGIN_X - 40, 0, _PAGE[0] - _MARGIN_X + 40, int(pages.y) + 20))
