"""Text laid out in space-aligned columns: pdftotext -layout (or -raw), flip-book page text.

A table row is one line: its label, then its values separated by spaces (runs of them,
or single spaces after the label in pdftotext -raw). Header words
printed one character per line ('结 结 其 尚' / '果 果 他 未' / '维 纠 结 审') are stacked
back into labels by their character column. A row with fewer values than its table's full
rows has blank cells: its values are put in the columns they sit under (by the character
offset where each ends, against the last full row of the table). A label line with no
values continues the numbered label of the row above when it starts no label of its own
(a wrapped label); other label lines are header cells, or data rows whose numbers were lost.
Page numbers and page chrome are dropped by the caller.
"""

from __future__ import annotations

import re

from extractors.document import Block, Row
from extractors.labels import looks_like_value, normalise_label, table_of_heading
from extractors.text_cells import CellGrouper, is_prose
from extractors.text_common import NUMBERED, starts_label
from template import ACTIVE_DISCLOSURE, REQUESTS, REVIEW_LITIGATION

READER = "text/aligned"
_GAP = re.compile(r"\s{2,}")
_VALUE_RUN = re.compile(r"\S+")
#: A line with at least three cells set apart by runs of spaces, or a label and three numbers after single spaces.
_ALIGNED_ROW = re.compile(r"\S {2,}\S+ {2,}\S|^\S+(?: [-\d.,—/]+){3,}\s*$")
_VERTICAL = re.compile(r"^(?:[\u4e00-\u9fff]\s+){2,}[\u4e00-\u9fff]$")
#: How many values a full row of each table has (table A: the widest rows).
_FULL = {ACTIVE_DISCLOSURE: 3, REQUESTS: 7, REVIEW_LITIGATION: 15}


def looks_aligned(lines: list[str]) -> bool:
    return sum(1 for line in lines if _ALIGNED_ROW.search(line)) >= 8


def _split(line: str) -> tuple[list[str], list[tuple[str, int]]]:
    """(label segments, values with the offset where each ends)."""
    labels: list[str] = []
    values: list[tuple[str, int]] = []
    position = 0
    for segment in _GAP.split(line.rstrip()):
        start = line.index(segment, position) if segment else position
        position = start + len(segment)
        if not segment.strip():
            continue
        words = [(m.group(), start + m.end()) for m in _VALUE_RUN.finditer(segment)]
        if all(looks_like_value(w) for w, _ in words):
            values.extend(words)
            continue
        # values set apart by single spaces after the label (pdftotext -raw): '规章 1 0 11'
        tail = len(words)
        while tail > 1 and looks_like_value(words[tail - 1][0]) and not values:
            tail -= 1
        if tail < len(words) and not labels:
            labels.extend(_label_cells(segment[: words[tail - 1][1] - start].strip()))
            values.extend(words[tail:])
        else:  # a label, also one printed right of the numbers (the rest of a wrapped label)
            labels.extend(_label_cells(segment.strip()))
    return labels, values


def _label_cells(text: str) -> list[str]:
    """'（四）无 1.本机关不掌握相关政府信息' -> ['（四）无', '1.本机关不掌握相关政府信息']: a word that
    starts a label is a cell of its own (pdfplumber sets a group label one space before its first row's)."""
    if " " not in text:
        return [text]
    cells: list[str] = []
    for word in text.split(" "):
        if cells and not starts_label(word):
            cells[-1] += " " + word
        else:
            cells.append(word)
    return cells


def _stack(lines: list[str]) -> list[str]:
    """Vertical header lines -> one label per character column, left to right."""
    columns: dict[int, str] = {}
    for line in lines:
        for match in re.finditer(r"\S", line):
            key = next((c for c in columns if abs(c - match.start()) <= 1), match.start())
            columns[key] = columns.get(key, "") + match.group()
    return [columns[c] for c in sorted(columns)]


class _Aligned:
    def __init__(self) -> None:
        self.grouper = CellGrouper()
        self.reference: dict[str, list[int]] = {}
        self.last_numbered_row: int | None = None

    def _place(self, values: list[tuple[str, int]]) -> list[str]:
        table = self.grouper.table
        full = _FULL.get(table or "", 0)
        if len(values) >= full:
            if table:
                self.reference[table] = [end for _, end in values]
            return [text for text, _ in values]
        reference = self.reference.get(table or "")
        if not reference:
            return [text for text, _ in values]
        placed = [""] * len(reference)
        for text, end in values:
            column = min(range(len(reference)), key=lambda i: abs(reference[i] - end))
            placed[column] = text
        return placed

    @staticmethod
    def _numbered(block: Block) -> bool:
        if not isinstance(block, Row):
            return False
        labels = [c for c in block.cells if not looks_like_value(c)]
        return bool(labels) and bool(NUMBERED.match(normalise_label(labels[-1])))

    def line(self, line: str) -> None:
        text = line.strip()
        grouper = self.grouper
        if grouper.table is None or table_of_heading(text) is not None or is_prose(text):
            grouper.paragraph(text)
            self.last_numbered_row = None
            return
        labels, values = _split(line)
        if values and not labels:
            # numbers printed under (or over) their wrapped label: the label lines before are theirs
            for value in self._place(values):
                grouper.cell(value)
            grouper.flush()
            self.last_numbered_row = len(grouper.blocks) - 1 if self._numbered(grouper.blocks[-1]) else None
            return
        if values:
            pending = grouper.labels
            if pending and not starts_label(labels[0]) and NUMBERED.match(normalise_label(pending[-1])):
                labels[0] = pending.pop() + labels[0]  # a numbered label wrapped onto the row's line
            grouper.flush()
            grouper.row(tuple(labels) + tuple(self._place(values)))
            numbered = bool(labels) and bool(NUMBERED.match(normalise_label(labels[-1])))
            self.last_numbered_row = len(grouper.blocks) - 1 if numbered else None
            return
        if self.last_numbered_row is not None and len(labels) == 1 and not starts_label(labels[0]):
            row = grouper.blocks[self.last_numbered_row]
            assert isinstance(row, Row), "last_numbered_row points at a row"
            cells = list(row.cells)
            index = max(i for i, c in enumerate(cells) if not looks_like_value(c))
            cells[index] += labels[0]
            grouper.blocks[self.last_numbered_row] = Row(tuple(cells))
            return
        self.last_numbered_row = None
        for label in labels:
            grouper.cell(label)


def read_aligned(lines: list[str]) -> list[Block]:
    reader = _Aligned()
    vertical: list[str] = []
    for line in lines:
        is_vertical = _VERTICAL.match(line.strip()) and not all(looks_like_value(word) for word in line.split())
        if is_vertical and reader.grouper.table is not None:
            vertical.append(line)
            continue
        if vertical:
            for label in _stack(vertical):
                reader.grouper.cell(label)
            vertical = []
        if line.strip():
            reader.line(line)
    return reader.grouper.finish()
