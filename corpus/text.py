"""Reports as Word's plain-text export writes them, in the two layouts of the seeds.

cell-per-line (seeds 000, 001, 003, 004): every cell on its own tab-led line, rows
separated by blank lines, wrapped labels continuing on untabbed lines, covered cells
printed empty; now and then Word puts a cell's number on the line after a lone tab, or
after a blank line.
row-per-line (seed 002): one row per line, cells split by tabs. Tables A and C come out as
a full grid (spans as empty cells); in table B a merged label prints one empty cell after
it and one at the end of the row, and the odd row drops its covered cells and prints its
label that way too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from corpus.document import Block, Paragraph
from corpus.grid import GridCell, slots

BOOKMARK = "[bookmark: _GoBack]"


@dataclass(frozen=True)
class TextQuirks:
    #: Chance that a number cell's text sits on the line after its lone tab.
    late_value: float
    #: Chance that a row's last number sits after a blank line (seed 004).
    detached_last_value: float
    #: Chance that a table-B row whose one label follows covered cells drops them (seed 002's （六）2, 3, （七）).
    shifted_row: float
    #: Word's bookmark glued to a label or the opening paragraph.
    bookmark: bool


def text_quirks(rng: random.Random) -> TextQuirks:
    quirky = rng.random() < 0.3
    return TextQuirks(
        late_value=0.03 if quirky else 0.0,
        detached_last_value=0.05 if quirky else 0.0,
        shifted_row=0.5 if rng.random() < 0.3 else 0.0,
        bookmark=rng.random() < 0.3,
    )


def cell_per_line(blocks: list[Block], rng: random.Random, quirks: TextQuirks) -> str:
    lines: list[str] = []
    bookmarked = not quirks.bookmark
    for block in blocks:
        if isinstance(block, Paragraph):
            lines.append(block.text)
            continue
        for row in slots(block.table):
            detached = None
            for i, cell in enumerate(row):
                text = cell.text
                if not bookmarked and not cell.value and text and rng.random() < 0.1:
                    text, bookmarked = BOOKMARK + text, True
                if cell.value and text.strip() and i == len(row) - 1 and rng.random() < quirks.detached_last_value:
                    text, detached = "", text
                elif cell.value and text.strip() and rng.random() < quirks.late_value:
                    text = "\n" + text
                lines.append("\t" + text)
            lines.append("")
            if detached is not None:
                lines += [detached, ""]
        lines += ["", ""]
    return "\n".join(lines) + "\n"


def _grid_cells(row: list[GridCell]) -> list[str]:
    """Tables A and C of seed 002: every grid column a cell, spans as empty cells after their text."""
    cells: list[str] = []
    for cell in row:
        cells += [cell.text.replace("\n", " ")] + [""] * (cell.colspan - 1)
    return cells


def _word_cells(row: list[GridCell], shifted: bool) -> list[str]:
    """Table B of seed 002: a cell spanning k columns prints k-2 empty cells after it and one at the row's end
    ('一、本年新收…', '', 14 … 14, ''). A shifted row drops its covered cells and prints its label that way too."""
    if shifted:
        label = next(cell for cell in row if not cell.covered and not cell.value)
        row = [GridCell(label.text, colspan=3)] + [cell for cell in row if cell.value]
    cells: list[str] = []
    tail: list[str] = []
    for cell in row:
        cells += [cell.text.replace("\n", " ")] + [""] * max(0, cell.colspan - 2)
        tail += [""] * (cell.colspan > 1)
    return cells + tail


def row_per_line(blocks: list[Block], rng: random.Random, quirks: TextQuirks) -> str:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            lines += [block.text, ""]
            continue
        rows = []
        for row in slots(block.table):
            if block.name != "requests":
                rows.append(_grid_cells(row))
                continue
            movable = row[0].covered and sum(not c.covered and not c.value for c in row) == 1 and row[-1].value
            rows.append(_word_cells(row, movable and rng.random() < quirks.shifted_row))
        width = max(len(cells) for cells in rows)
        lines += ["\t".join(cells + [""] * (width - len(cells))) for cells in rows]
        lines.append("")
    return "\n".join(lines) + "\n"
