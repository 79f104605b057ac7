"""Rows of cells, from the ruled grid or from text positions, with labels moved to the row they belong to.

A row label cut by the page break, or a section label centred beside its numbered sub-rows
('（三）不予公开' beside 1. to 8.), goes back to the sub-row 1. that opens its section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.document import Row
from extractors.labels import looks_like_value, normalise_label

#: A numbered sub-row label: '1.属于国家秘密', '2、申请人逾期…'.
_NUMBERED = re.compile(r"^(\d{1,2})[.、,)]")


@dataclass
class Cell:
    #: Orders the cells of a row and tells columns apart: label columns first, then value columns.
    key: tuple
    text: str
    #: Emptied because its label went to the row it belongs to.
    moved: bool = False


def _label_cells(row: list[Cell]) -> list[Cell]:
    return [cell for cell in row if cell.text and not looks_like_value(cell.text)]


def _sub_row_number(row: list[Cell]) -> int | None:
    labels = _label_cells(row)
    if not labels:
        return None
    match = _NUMBERED.match(normalise_label(labels[-1].text))
    return int(match.group(1)) if match else None


def _attach_spanning_labels(rows: list[list[Cell]]) -> None:
    """Move a label printed beside sub-row n>1 to the sub-row 1. that opens its numbered run.

    Such a label belongs to a cell spanning the run: a section label centred beside it
    ('（三）不予公开' level with 4. and 5.), the rest of a label cut by a page break ('（四）无' /
    '法提供'), characters of a label printed one per line. Text already in that column of row 1.
    comes first. A label moves only within an unbroken run of numbered sub-rows, and only when no
    row in between has a label of its own in that column.
    """
    for index, row in enumerate(rows):
        number = _sub_row_number(row)
        labels = _label_cells(row)
        if number is None or number <= 1 or len(labels) < 2:
            continue
        for cell in labels[:-1]:
            target = None
            for earlier in range(index - 1, -1, -1):
                earlier_number = _sub_row_number(rows[earlier])
                if earlier_number is None:
                    break
                if earlier_number == 1:
                    target = rows[earlier]
                    break
                if any(c.key == cell.key and c.text for c in rows[earlier]):
                    break
            if target is None:
                continue
            same = next((c for c in target if c.key == cell.key), None)
            if same is None:
                target.append(Cell(cell.key, cell.text))
                target.sort(key=lambda c: c.key)
            elif cell.text != same.text:
                same.text += cell.text
            cell.text, cell.moved = "", True


def to_rows(rows: list[list[Cell]]) -> list[Row]:
    _attach_spanning_labels(rows)
    blocks = []
    for row in rows:
        cells = tuple(cell.text for cell in row if not cell.moved)
        if cells:
            blocks.append(Row(cells))
    return blocks
