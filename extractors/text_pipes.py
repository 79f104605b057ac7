"""Text whose cells are separated by '|'.

Three habits of renderers, often mixed in one file:
- markdown tables, a row per line: '| 规章 | 0 | 0 | 0 |', with or without the '|---|' row,
  one table for the whole grid, one small table per row, or rows under a header row that
  belongs to another table (headers are only labels to the locator, so that is harmless);
- one cell per line with a line holding only '|' between cells;
- one cell per line, every cell line ending in ' |', where a bare '|' is a blank cell.
Markdown rows become rows as they are; the cell-per-line habits have no row boundaries and
go through the same grouping as text_cells (labels, then values).
"""

from __future__ import annotations

import re

from extractors.document import Block
from extractors.labels import looks_like_value, normalise_label, table_of_heading
from extractors.text_cells import CellGrouper, is_prose
from extractors.text_common import NUMBERED, is_furniture, starts_label

READER = "text/pipes"
#: A markdown heading's marks ('## 二、主动公开政府信息情况', pymupdf4llm): the heading is the text after them.
_HEADING_MARKS = re.compile(r"^#{1,6}\s+")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_SEPARATOR_ROW = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def looks_piped(lines: list[str]) -> bool:
    piped = sum(1 for line in lines if "|" in line)
    return piped >= 10


def _markdown_cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    if "<" not in inner:
        return [cell.strip() for cell in inner.split("|")]
    return [part for cell in inner.split("|") for part in _cell_lines(cell)]


def _cell_lines(cell: str) -> list[str]:
    """A cell's '<br>'-separated lines (pymupdf4llm) as label cells: a line that starts a label, or
    follows an empty line, is a cell of its own ('（四）无<br>1.本机关不掌握…', a group label beside its
    first sub-row); any other line goes on the wrapped text before it ('（六）其<br>他处理')."""
    parts = _BREAK.split(cell)
    if len(parts) == 1:
        return [cell.strip()]
    lines: list[str] = []
    after_gap = True
    for part in parts:
        text = part.strip()
        if not text:
            after_gap = True
            continue
        if lines and not after_gap and not starts_label(text):
            lines[-1] += text
        else:
            lines.append(text)
        after_gap = False
    return lines or [""]


def _wrapped_label_row(cells: list[str]) -> bool:
    """A row holding only a numbered label, whose text may go on in the next row's first cell
    (pymupdf4llm splits a wrapped cell into two rows: '1、申请人无正当理由逾期不补' / '正、行政机关…')."""
    return bool(cells[0]) and bool(NUMBERED.match(normalise_label(cells[0]))) and not any(cells[1:])


def read_pipes(lines: list[str]) -> list[Block]:
    grouper = CellGrouper()
    previous_was_cell = False  # the last line was a cell without its own '|'
    held: list[str] | None = None  # a numbered label alone in its row, that may go on in the next row
    for raw in lines:
        line = raw.strip()
        if line.startswith("#"):
            line = _HEADING_MARKS.sub("", line)
        if not line:
            continue
        if _SEPARATOR_ROW.match(line):
            continue
        inner = line.strip("|").strip()
        # html2text prints a two-cell row with one inner '|' and none at the ends: '行政许可 |  447228'
        is_row = line != "|" and (line.count("|") >= 2 or "|" in inner or (line.startswith("|") and inner))
        cells = _markdown_cells(line) if is_row else []
        if is_row and is_furniture(" ".join(cells)):
            continue
        if held is not None:
            if is_row and cells[0] and grouper._continues(held[0], cells[0]):
                cells = [held[0] + cells[0], *cells[1:]]
            else:
                grouper.row(tuple(held))
            held = None
        if line == "|":
            if not previous_was_cell and grouper.table is not None:
                grouper.cell("")  # a bare '|' where a cell line ending in ' |' was due: a blank cell
            previous_was_cell = False
            continue
        if is_row:
            if grouper.table is None or (len(cells) == 1 and table_of_heading(cells[0]) is not None):
                grouper.paragraph(" ".join(cell for cell in cells if cell))  # text outside the tables
            elif grouper.labels and all(looks_like_value(cell) for cell in cells):
                for cell in cells:  # numbers on a row of their own under their wrapped label
                    grouper.cell(cell)
                grouper.flush()
            elif _wrapped_label_row(cells):
                held = cells
            else:
                grouper.row(tuple(cells))
            previous_was_cell = False
            continue
        text = line[:-1].strip() if line.endswith("|") else line
        if grouper.table is None or table_of_heading(text) is not None or is_prose(text):
            grouper.paragraph(text)
        else:
            grouper.cell(text)
        previous_was_cell = not line.endswith("|")
    if held is not None:
        grouper.row(tuple(held))
    return grouper.finish()
