"""Find the three statistical tables in a document and read every cell by its labels.

The locator walks paragraphs and rows in order. Section headings and rows whose labels
belong to only one table decide which table a row is read into, so headings that vary,
repeat or go missing do not matter. Within a row, the label cells come first and the
value cells after the last label; values are aligned to the columns the table's header
names, after dropping the empty cells merged labels leave at either end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import NamedTuple

from extractors.document import Document, Paragraph, confidence_of
from extractors.errors import NotAReport, TableLayoutError, TableNotFound, TruncatedTable, ValuesNotNumbers
from extractors.labels import (
    REQUEST_COLUMN_GROUP,
    REQUEST_COLUMNS,
    REVIEW_GROUPS,
    active_column,
    active_row,
    article_item,
    looks_like_value,
    normalise_label,
    request_column,
    request_row,
    review_group,
    table_of_heading,
    table_of_row,
    unit_in_label,
)
from template import (
    ACTIVE_DISCLOSURE,
    REQUESTS,
    REVIEW_LITIGATION,
    TABLE_TITLES,
    cells_for,
    columns_for,
)

#: Rows and cells kept for sharing. The rows that repeat across reports (headers, labels, rows of '0') are
#: few and stay in an LRU of this size; most others are one report's numbers, met once. At 65,536 each of
#: the caches of rows and cells below held 12-45 MB once full, about 95 MB of a run's memory (BENCHMARKS.md, issue 17),
#: for hardly more hits: 3,000 mixed reports extracted in the same CPU time either way.
SHARED_ROWS = 4096


@dataclass(frozen=True)
class Cell:
    """One printed cell, named by the template's codes. raw_text is exactly what was printed."""

    table_code: str
    row_code: str
    col_code: str
    raw_text: str
    #: The money unit the column header declares ('元', '万元'), when it declares one.
    unit_hint: str | None = None
    #: Recognition confidence (0-1) of a cell read by OCR; None for every other reader.
    confidence: float | None = None


def _cell(table_code: str, row_code: str, col_code: str, raw_text: str, unit_hint: str | None = None) -> Cell:
    """A Cell; OCRed text (document.ScoredText) passes its confidence on."""
    return _shared_cell(table_code, row_code, col_code, str(raw_text), unit_hint, confidence_of(raw_text))


@lru_cache(maxsize=SHARED_ROWS)
def _shared_cell(table_code: str, row_code: str, col_code: str, raw_text: str, unit_hint: str | None,
                 confidence: float | None) -> Cell:
    """A Cell, shared: 95% of the cells of a corpus repeat one seen before ('0' in the same place), and
    a frozen Cell is safe to share, so most cost a cache lookup instead of a dataclass __init__."""
    return Cell(table_code, row_code, col_code, raw_text, unit_hint, confidence)


#: The types of a row's texts that carry nothing beside the text (not document.ScoredText).
_PLAIN = frozenset({str, type(None)})


def _row_cells(table_code: str, row_code: str, columns: tuple[tuple[str, str | None], ...],
               fitted: tuple[str | None, ...]) -> tuple[Cell, ...]:
    """The cells of one row, aligned to its columns (a None text is a column the row lacks).

    A row of plain texts is shared like its cells: most rows repeat one seen before (all '0', or
    the same numbers in the same places), and a cache lookup per row replaces one per cell.
    """
    if set(map(type, fitted)) <= _PLAIN:
        return _shared_row(table_code, row_code, columns, fitted)
    return tuple(_cell(table_code, row_code, code, text, unit) for (code, unit), text in zip(columns, fitted)
                 if text is not None)


@lru_cache(maxsize=SHARED_ROWS)
def _shared_row(table_code: str, row_code: str, columns: tuple[tuple[str, str | None], ...],
                fitted: tuple[str | None, ...]) -> tuple[Cell, ...]:
    return tuple(_shared_cell(table_code, row_code, code, text, unit, None) for (code, unit), text in zip(columns, fitted)
                 if text is not None)


def _cells_of(table_code: str, row_code: str, columns: tuple[tuple[str, str | None], ...], row: _RowView,
              where: str, path: str) -> tuple[Cell, ...]:
    """The cells of a row whose values are aligned to `columns` (fit_values), shared for a row of plain texts."""
    if row.plain and (cells := _plain_cells(table_code, row_code, columns, row.values)) is not None:
        return cells
    return _row_cells(table_code, row_code, columns, fit_values(row.values, len(columns), where, path))


@lru_cache(maxsize=SHARED_ROWS)
def _plain_cells(table_code: str, row_code: str, columns: tuple[tuple[str, str | None], ...],
                 values: tuple[str, ...]) -> tuple[Cell, ...] | None:
    """_cells_of a row of plain texts, cached; None when its values do not fit (the caller raises, naming the row)."""
    try:
        fitted = fit_values(values, len(columns), "", "")
    except TableLayoutError:
        return None
    return _shared_row(table_code, row_code, columns, fitted)


@dataclass
class LocatedTables:
    cells: list[Cell]
    #: Version of table A by its column headers; when they tell nothing, the caller's fallback or table B's.
    active_template: str
    #: Version of table B by its （六）其他处理 rows: one row (2019) or three (2021).
    requests_template: str


class _RowView(NamedTuple):
    """A table row as the locator reads it, with what its cells tell worked out once: a row of plain texts is
    shared (rows repeat across reports: headers, labels, rows of '0'), so most rows cost one cache lookup.
    A NamedTuple: made three times faster than a frozen dataclass, for the rows seen first."""

    #: The label cells; the values are the cells after the last label.
    labels: tuple[str, ...]
    values: tuple[str, ...]
    #: The table its labels can only belong to (labels.table_of_row).
    table: str | None
    #: How many value cells hold something.
    filled: int
    #: The last label, stripped, when it stands where a number should ('NaN', '1e30', '若干') in a row of no value.
    lost_number: str | None
    #: Whether every cell is a plain str (no OCR confidence), so that the cells made of its values may be shared.
    plain: bool


def _row_view(cells: Sequence[str]) -> _RowView:
    cells = tuple(cells)  # a reader may hand a list
    if set(map(type, cells)) <= _PLAIN:
        return _plain_row_view(cells)
    return _view(cells, plain=False)


@lru_cache(maxsize=SHARED_ROWS)
def _plain_row_view(cells: tuple[str, ...]) -> _RowView:
    return _view(cells, plain=True)


def _view(cells: tuple[str, ...], plain: bool) -> _RowView:
    last_label = len(cells) - 1
    while last_label >= 0 and looks_like_value(cells[last_label]):
        last_label -= 1
    labels = tuple(filter(normalise_label, cells[: last_label + 1]))
    values = cells[last_label + 1 :]
    filled = sum(map(bool, map(normalise_label, values)))
    lost = len(labels) > 1 and not filled and _reads_like_a_lost_number(labels[-1])
    return _RowView(labels, values, table_of_row(labels), filled, labels[-1].strip() if lost else None, plain)


def fit_values(values: Sequence[str], expected: int, where: str, path: str) -> tuple[str | None, ...]:
    """Align a row's value cells to `expected` columns; None marks a column the row lacks.

    Surplus empty cells are dropped from the end and the start in turn, end first: a merged
    label leaves one empty cell on each side of the numbers in row-per-line text (seed 002:
    label, '', 14 … 14, ''), so a blank last number must not pull the whole row left. Empty cells
    inside the row are dropped only when the numbers left fill the columns exactly.
    """
    if len(values) <= expected:  # the common case: nothing to drop
        return tuple(values) + (None,) * (expected - len(values))
    fitted = list(values)
    from_end = True
    while len(fitted) > expected:
        if from_end and not normalise_label(fitted[-1]):
            fitted.pop()
        elif not normalise_label(fitted[0]):
            fitted.pop(0)
        elif not normalise_label(fitted[-1]):
            fitted.pop()
        else:
            break
        from_end = not from_end
    if len(fitted) > expected and len(filled := [value for value in fitted if normalise_label(value)]) == expected:
        # the surplus is exactly the empty cells inside the row (markdownify pads a cell spanning two
        # columns with an empty one): every number has its column, in order, whatever the empties were
        fitted = filled
    if len(fitted) > expected:
        raise TableLayoutError(
            path, f"{where}: {len(fitted)} value cells where the template has {expected} columns ({fitted!r})"
        )
    return tuple(fitted) + (None,) * (expected - len(fitted))


@cache
def _row_item(row_code: str) -> str:
    """The article-20 item a row of table A belongs to (the same in both versions)."""
    return next(c.item for c in cells_for("2019", ACTIVE_DISCLOSURE) + cells_for("2021", ACTIVE_DISCLOSURE) if c.row_code == row_code)


@dataclass
class _ActiveDisclosure:
    item: str | None = None
    header_columns: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    rows: dict[str, tuple[str, _RowView]] = field(default_factory=dict)
    votes: Counter = field(default_factory=Counter)

    def add(self, row: _RowView) -> None:
        item, columns, row_code = _active_labels(row.labels)
        if item:
            self.item = item
            return
        if columns and not row.filled:
            for _, _, versions in columns:
                if len(versions) == 1:
                    self.votes.update(versions)
            if self.item:
                self.header_columns.setdefault(self.item, [(code, unit) for code, unit, _ in columns])
            return
        if row_code and row_code not in self.rows:
            self.rows[row_code] = (row.labels[-1], row)
            self.item = _row_item(row_code)

    @property
    def version(self) -> str | None:
        if not self.votes:
            return None
        return "2021" if self.votes["2021"] >= self.votes["2019"] else "2019"

    def cells(self, version: str, path: str) -> list[Cell]:
        cells: list[Cell] = []
        for row_code, (label, row) in self.rows.items():
            item = _row_item(row_code)
            columns = self.header_columns.get(item) or [(code, None) for code in columns_for(version, ACTIVE_DISCLOSURE, item)]
            where = f"{TABLE_TITLES[ACTIVE_DISCLOSURE]}, row {label}"
            cells.extend(_cells_of(ACTIVE_DISCLOSURE, row_code, tuple(columns), row, where, path))
        return cells


@lru_cache(maxsize=16384)
def _active_labels(labels: tuple[str, ...]) -> tuple[str | None, tuple[tuple[str, str | None, frozenset[str]], ...], str | None]:
    """What a row's labels say in table A: (the article-20 item it opens, the columns it names with
    their unit and versions, the row it is), cached: every report prints the template's labels."""
    columns = tuple((found[0], unit_in_label(label), found[1]) for label in labels if (found := active_column(label)))
    return article_item("".join(labels)), columns, active_row(labels[-1]) if labels else None


@dataclass
class _Requests:
    section: str | None = None
    header_rows: list[Sequence[str]] = field(default_factory=list)
    rows: dict[str, tuple[str, _RowView]] = field(default_factory=dict)

    def add(self, row: _RowView) -> None:
        if not row.filled and _names_request_columns(row.labels):
            self.header_rows.append(row.labels)
            return
        row_code, self.section = request_row(row.labels, self.section)
        if row_code and row_code not in self.rows:
            self.rows[row_code] = (" ".join(row.labels), row)

    def column_order(self) -> tuple[str, ...]:
        """Leaf columns in printed order: the group 法人或其他组织 stands for the labels under it."""
        return _column_order(tuple(self.header_rows))

    @property
    def version(self) -> str:
        if any(code.startswith("other.") for code in self.rows):
            if "other" in self.rows and not self.rows["other"][1].filled:
                del self.rows["other"]  # a （六） heading row of the 2021 layout, not the 2019 row
            return "2021"
        return "2019"

    def cells(self, path: str) -> list[Cell]:
        columns = tuple((code, None) for code in self.column_order())
        cells: list[Cell] = []
        for row_code, (label, row) in self.rows.items():
            cells.extend(_cells_of(REQUESTS, row_code, columns, row, f"{TABLE_TITLES[REQUESTS]}, row {label}", path))
        return cells


@lru_cache(maxsize=16384)
def _names_request_columns(labels: tuple[str, ...]) -> bool:
    """Whether a row's labels name a column of table B (a header row), cached."""
    return any(request_column(label) or REQUEST_COLUMN_GROUP in normalise_label(label) for label in labels)


@lru_cache(maxsize=4096)
def _column_order(header_rows: tuple[Sequence[str], ...]) -> tuple[str, ...]:
    """_Requests.column_order, cached: most reports print one of a few headers."""
    template_order = tuple(code for _, code in REQUEST_COLUMNS)
    tops = [i for i, row in enumerate(header_rows) if any(request_column(label) in ("natural_person", "total") for label in row)]
    if not tops:
        return template_order
    top = header_rows[tops[0]]
    children = [
        code
        for row in header_rows[tops[0] + 1 :]
        for label in row
        if (code := request_column(label)) and code not in ("natural_person", "total")
    ]
    order: list[str] = []
    for label in top:
        if REQUEST_COLUMN_GROUP in normalise_label(label):
            order.extend(children)
        elif code := request_column(label):
            order.append(code)
    return tuple(order) if sorted(order) == sorted(template_order) else template_order


_REVIEW_WIDTH = len(columns_for("2021", REVIEW_LITIGATION)) * len(REVIEW_GROUPS)


@dataclass
class _ReviewLitigation:
    group_rows: dict[str, Sequence[str]] = field(default_factory=dict)
    data_rows: list[Sequence[str]] = field(default_factory=list)
    #: A full row of empty cells under the header: a report with no cases that writes nothing for 0.
    blank_rows: list[Sequence[str]] = field(default_factory=list)

    def add(self, row: _RowView) -> None:
        if not row.filled:
            if not row.labels and len(row.values) >= _REVIEW_WIDTH:
                self.blank_rows.append(row.values)
            return
        group = review_group(row.labels[-1]) if row.labels else None
        if group and row.filled <= 5:
            self.group_rows.setdefault(group, row.values)
        else:
            self.data_rows.append(row.values)

    @property
    def found(self) -> bool:
        return bool(self.group_rows or self.data_rows or self.blank_rows)

    def cells(self, path: str) -> list[Cell]:
        columns = columns_for("2021", REVIEW_LITIGATION)
        where = TABLE_TITLES[REVIEW_LITIGATION]
        data_rows = self.data_rows or ([] if self.group_rows else self.blank_rows)
        if data_rows:
            if len(data_rows) > 1 and len(data_rows[0]) < _REVIEW_WIDTH:
                # pdftotext without -layout prints table C's numbers in runs between its header words,
                # in no column order ('72 64 178 37', '12 1 1 6', '351' …): no run can be placed
                runs = " / ".join(" ".join(values) for values in data_rows)
                raise TableLayoutError(
                    path, f"{where}: its numbers are printed in {len(data_rows)} runs between its header words "
                    f"({runs}), so their columns are unknown; read a rendering that keeps its rows (pdftotext -layout)",
                )
            fitted = fit_values(data_rows[0], _REVIEW_WIDTH, where, path)
            by_group = {g: fitted[i * len(columns) : (i + 1) * len(columns)] for i, g in enumerate(REVIEW_GROUPS)}
        else:
            by_group = {g: fit_values(v, len(columns), f"{where}, {g}", path) for g, v in self.group_rows.items()}
        plain_columns = tuple((code, None) for code in columns)
        return [cell for group, fitted in by_group.items() for cell in _row_cells(REVIEW_LITIGATION, group, plain_columns, fitted)]


def _reads_like_a_lost_number(text: str) -> bool:
    """'NaN', '1e30', '若干' where a number should be; not a column header such as 现行有效件数."""
    compact = normalise_label(text)
    return 0 < len(compact) <= 8 and (len(compact) <= 3 or any(c.isascii() and c.isalnum() for c in compact))


def locate_tables(document: Document, path: str, fallback_version: str | None = None) -> LocatedTables:
    active, requests, review = _ActiveDisclosure(), _Requests(), _ReviewLitigation()
    readers: dict[str, _ActiveDisclosure | _Requests | _ReviewLitigation] = {
        ACTIVE_DISCLOSURE: active, REQUESTS: requests, REVIEW_LITIGATION: review,
    }
    current: str | None = None
    #: Per table: the short last cells of its rows that hold no value at all ('NaN', '1e30', '若干').
    not_numbers: dict[str, Counter] = {}
    for block in document.blocks:
        if isinstance(block, Paragraph):
            heading = table_of_heading(block.text)
            if heading is not None:
                current = heading or None
            continue
        row = _row_view(block.cells)
        current = row.table or current
        if current:
            readers[current].add(row)
            if row.lost_number is not None:
                not_numbers.setdefault(current, Counter())[row.lost_number] += 1

    if not (active.rows or requests.rows or review.found):
        raise NotAReport(
            path,
            "no statistical table of an annual report found (looked for the tables "
            + ", ".join(TABLE_TITLES.values())
            + ")",
        )
    if requests.rows and not ({"total_handled", "carried_forward"} & requests.rows.keys()):
        last = list(requests.rows)[-1]
        raise TruncatedTable(
            path,
            f"table {TABLE_TITLES[REQUESTS]} is cut off after row {last}: "
            "its rows （七）总计 and 四、结转下年度继续办理 are missing",
        )
    for code, found in ((ACTIVE_DISCLOSURE, active.rows), (REQUESTS, requests.rows), (REVIEW_LITIGATION, review.found)):
        if not found and sum(not_numbers.get(code, Counter()).values()) >= 3:
            printed = ", ".join(repr(text) for text, _ in not_numbers[code].most_common(3))
            raise ValuesNotNumbers(
                path, f"table {TABLE_TITLES[code]} is there, but its rows end in cells that are not numbers "
                f"({printed}): no cell of it can be read. The numbers were lost or replaced when the file was made; "
                "get a copy that prints them",
            )
        if not found:
            raise TableNotFound(path, f"table {TABLE_TITLES[code]} not found")

    requests_version = requests.version
    active_version = active.version or fallback_version or requests_version
    return LocatedTables(
        cells=active.cells(active_version, path) + requests.cells(path) + review.cells(path),
        active_template=active_version,
        requests_template=requests_version,
    )
