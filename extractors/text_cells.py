"""Text with one cell per line and nothing else to tell cells and rows apart.

Some renderers print every table cell on its own line with no tab in front (and some
separate them with '|' lines: text_pipes hands its cells here). A row is then a run of
label lines followed by a run of value lines. The label right before the values is the
row's label; labels before it are header cells (or the item row 第二十条第（一）项), except
a label that can only be a data row (规章, 1.属于国家秘密, （七）总计): its numbers were lost
by the renderer, so its cells are blank, not zero and not missing. A numbered label that
wrapped continues on the next line that does not start a label.

Paragraphs are lines outside the tables, section headings, and prose lines inside them.
"""

from __future__ import annotations

import re

from extractors.document import Block, Paragraph, Row
from extractors.labels import (
    REQUEST_COLUMNS,
    active_column,
    active_row,
    article_item,
    looks_like_value,
    normalise_label,
    request_column,
    table_of_heading,
)
from extractors.text_common import NUMBERED, split_active_header, starts_label
from template import ACTIVE_DISCLOSURE, REQUESTS, REVIEW_LITIGATION

READER = "text/line-per-cell"
#: Empty cells given to a data row whose numbers were lost; the locator trims the surplus.
_BLANKS = ("",) * 15
#: Share of empty lines above which they separate cells instead of being blank cells.
_SEPARATING_SHARE = 0.25
_PROSE = re.compile(r"[。；;]")
_REQUEST_DATA_WORDS = ("新收", "上年结转", "结转下年", "(七)", "予以公开", "部分公开")
_SUB_ROW = re.compile(r"^\d{1,2}[.、．]")
_LONE_SUB_NUMBER = re.compile(r"^\s*\d{1,2}[.、．]?\s*$")


def is_prose(line: str) -> bool:
    return len(line) > 50 and bool(_PROSE.search(line))


def _is_data_label(label: str, table: str | None, following: str | None) -> bool:
    """A label that names a data row (not a header, a section or an item)."""
    compact = normalise_label(label)
    if table == ACTIVE_DISCLOSURE:
        return bool(active_row(compact)) and not active_column(compact) and not article_item(compact)
    if table == REQUESTS:
        if any(word in compact for word in _REQUEST_DATA_WORDS) or _SUB_ROW.match(compact):
            return True
        # The 2019 （六）其他处理 is a row of its own; in 2021 numbered sub-rows follow it.
        return "其他处理" in compact and not (following and _SUB_ROW.match(normalise_label(following)))
    return False


class CellGrouper:
    """Collects label and value cells and emits rows, for the layouts with no row boundaries."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.table: str | None = None
        self.labels: list[str] = []
        self.values: list[str] = []
        self.review_values_seen = False
        #: Table B's rows of numbers printed before their labels: (index of the row they followed, values).
        self.orphans: list[tuple[int, list[str]]] = []

    def paragraph(self, text: str) -> None:
        self.flush()
        heading = table_of_heading(text)
        if heading is not None:
            self._restore_orphans()
            if self.table == REVIEW_LITIGATION and heading != REVIEW_LITIGATION and not self.review_values_seen:
                self.blocks.append(Row(_BLANKS))  # table C printed with its headers only
            self.table = heading or None
            self.review_values_seen = False
        self.blocks.append(Paragraph(text))

    def cell(self, text: str) -> None:
        if looks_like_value(text):
            self.values.append(text)
            return
        if self.values and self.table == REQUESTS and self._split_sub_number(self.values[-1], text):
            # a sub-row's number set apart from its words ('2.' / '其他法律行政法规禁止公开', '2' / '、申请人…',
            # a page's <span>s one a line) starts the label after it: it is not the last value of the row before
            text = self.values.pop().strip() + text
        if self.values:
            self.flush()
        if self.labels and self._continues(self.labels[-1], text):
            self.labels[-1] += text
        else:
            self.labels.append(text)

    @staticmethod
    def _split_sub_number(value: str, text: str) -> bool:
        return (
            bool(_LONE_SUB_NUMBER.match(value)) and not starts_label(text)
            and bool(_SUB_ROW.match(value.strip() + text.strip()))
        )

    def _continues(self, previous: str, text: str) -> bool:
        """A wrapped numbered row label goes on on a line that starts no label and names no column."""
        compact = normalise_label(text)
        return (
            bool(NUMBERED.match(normalise_label(previous)))
            and not starts_label(compact)
            and not (request_column(compact) or active_column(compact) or active_row(compact))
            and len(previous) + len(compact) <= 80
        )

    def flush(self) -> None:
        labels, values = self.labels, self.values
        self.labels, self.values = [], []
        if not labels and not values:
            return
        blank_review = self.table == REVIEW_LITIGATION and not any(normalise_label(v) for v in values)
        # table C's fifteen cells printed blank come after its headers, not after a row label
        row_label = [labels.pop()] if values and labels and not blank_review else []
        header: list[str] = []
        for i, label in enumerate(labels):
            following = labels[i + 1] if i + 1 < len(labels) else (row_label[0] if row_label else None)
            if article_item(label) or _is_data_label(label, self.table, following):
                self._header(header)
                header = []
                if article_item(label):
                    cells: tuple[str, ...] = (label,)
                elif self.orphans:  # a label printed after its numbers (pdftotext's reading order)
                    cells = (label, *self.orphans.pop(0)[1])
                else:
                    cells = (label, *_BLANKS)
                self.blocks.append(Row(cells))
            else:
                header.append(label)
        self._header(header)
        if values:
            self.review_values_seen |= self.table == REVIEW_LITIGATION
            width = len(REQUEST_COLUMNS)
            if self.table == REQUESTS and row_label and len(values) > width and len(values) % width == 0:
                # whole rows of numbers run on after a row's own: rows whose labels pdftotext prints
                # later, below the table; they take those labels in order, or go back to this row
                index = len(self.blocks)
                self.orphans += [(index, values[i : i + width]) for i in range(width, len(values), width)]
                values = values[:width]
            self.blocks.append(Row(tuple(row_label + values)))

    def _restore_orphans(self) -> None:
        """Numbers no later label took go back to the row they followed, which then fails as too wide:
        a number that cannot be placed must not load, nor be dropped unseen."""
        for index, values in self.orphans:
            row = self.blocks[index]
            assert isinstance(row, Row), "an orphan number follows a row"
            self.blocks[index] = Row((*row.cells, *values))
        self.orphans = []

    def row(self, cells: tuple[str, ...]) -> None:
        """A row a layout delimits itself (a markdown row, an aligned line)."""
        self.flush()
        self.review_values_seen |= self.table == REVIEW_LITIGATION and any(normalise_label(c) for c in cells if looks_like_value(c))
        self.blocks.append(Row(cells))

    def _header(self, labels: list[str]) -> None:
        """Header cells. Table B's go one per row: with no row boundaries their printed grid is
        unknown, and its columns are read in the template's order (the order every report prints)."""
        if not labels:
            return
        if self.table == REQUESTS:
            self.blocks += [Row((label,)) for label in labels]
        else:
            cells = split_active_header(labels) if self.table == ACTIVE_DISCLOSURE else labels
            self.blocks.append(Row(tuple(cells)))

    def finish(self) -> list[Block]:
        self.paragraph("")
        self._restore_orphans()
        return [b for b in self.blocks if not (isinstance(b, Paragraph) and not b.text)]


def read_cells(lines: list[str]) -> list[Block]:
    """Lines (already without page furniture) -> paragraphs and rows.

    An empty line right after a value is a blank cell, unless the text puts empty lines between
    most of its lines (then they only separate cells, as pdftotext does)."""
    grouper = CellGrouper()
    blank_is_cell = sum(1 for line in lines if not line.strip()) < _SEPARATING_SHARE * len(lines)
    for line in lines:
        text = line.strip()
        if not text:
            if blank_is_cell and grouper.table is not None and grouper.values:
                grouper.values.append("")
            continue
        if grouper.table is None or table_of_heading(text) is not None or is_prose(text):
            grouper.paragraph(text)
        else:
            grouper.cell(text)
    return grouper.finish()
