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
from extractors.labels import looks_like_value, table_of_heading
from extractors.text_cells import CellGrouper, is_prose
from extractors.text_common import is_furniture

READER = "text/pipes"
_SEPARATOR_ROW = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def looks_piped(lines: list[str]) -> bool:
    piped = sum(1 for line in lines if "|" in line)
    return piped >= 10


def _markdown_cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [cell.strip() for cell in inner.split("|")]


def read_pipes(lines: list[str]) -> list[Block]:
    grouper = CellGrouper()
    previous_was_cell = False  # the last line was a cell without its own '|'
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if _SEPARATOR_ROW.match(line):
            continue
        if line == "|":
            if not previous_was_cell and grouper.table is not None:
                grouper.cell("")  # a bare '|' where a cell line ending in ' |' was due: a blank cell
            previous_was_cell = False
            continue
        inner = line.strip("|").strip()
        if line.count("|") >= 2 or (line.startswith("|") and inner):
            cells = _markdown_cells(line)
            if is_furniture(" ".join(cells)):
                continue
            if grouper.table is None or (len(cells) == 1 and table_of_heading(cells[0]) is not None):
                grouper.paragraph(" ".join(cell for cell in cells if cell))  # text outside the tables
            elif grouper.labels and all(looks_like_value(cell) for cell in cells):
                for cell in cells:  # numbers on a row of their own under their wrapped label
                    grouper.cell(cell)
                grouper.flush()
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
    return grouper.finish()

