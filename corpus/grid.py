"""A table as Word holds it: rows of cells with row and column spans.

Every renderer starts from this one model. slots() says, row by row, what a reader of the
flattened table meets: the cells that start in the row, and a placeholder where a cell from
a row above still covers the columns (what Word's text export prints as an empty cell).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True, slots=True)
class GridCell:
    #: The printed text; '\n' marks where a narrow cell wraps its label.
    text: str
    colspan: int = 1
    rowspan: int = 1
    #: A number cell (renderers style and wrap it differently from labels).
    value: bool = False
    #: A placeholder for columns a cell from a row above still covers.
    covered: bool = False


Table = list[list[GridCell]]


def slots(table: Table) -> list[list[GridCell]]:
    """Each row in reading order, with a covered placeholder wherever a rowspan from above reaches."""
    shape = tuple(tuple((cell.colspan, cell.rowspan) for cell in row) for row in table)
    return [[row[i] if i >= 0 else _COVERED[-i] for i in placed] for row, placed in zip(table, _placement(shape))]


_COVERED = {span: GridCell("", colspan=span, covered=True) for span in range(1, 32)}


@cache
def _placement(shape: tuple[tuple[tuple[int, int], ...], ...]) -> tuple[tuple[int, ...], ...]:
    """Per row: the index of each cell in reading order, or -colspan for a covered placeholder.

    Computed once per table shape: reports share a handful of shapes.
    """
    pending: dict[int, tuple[int, int]] = {}  # first column -> (rows still covered, colspan)
    out = []
    for row in shape:
        placed: list[int] = []
        starting: dict[int, tuple[int, int]] = {}
        column, index = 0, 0
        while index < len(row) or any(c >= column for c in pending):
            if column in pending:
                left, span = pending.pop(column)
                if left > 1:
                    starting[column] = (left - 1, span)
                placed.append(-span)
                column += span
            elif index < len(row):
                colspan, rowspan = row[index]
                if rowspan > 1:
                    starting[column] = (rowspan - 1, colspan)
                placed.append(index)
                column += colspan
                index += 1
            else:
                column += 1
        pending.update(starting)
        out.append(tuple(placed))
    return tuple(out)
