"""The wide tables: a column per template cell, one row per report (requests_wide, ...) or per report and
template row (requests_by_row, ...), written at publish instead of pivoted at every query.

Pivoting the facts per query cost 0.2-2 s of CPU at 100,000 reports (20 million facts). So each publish
pivots the facts of the reports its run loaded into the `*_cells` tables (`sync_wide_rows`, called by
refresh_analyst_tables), and the views analysts query keep their names and columns: they join those rows
to `reports` (the report's current agency, year and region) and to `cell_dictionary` (labels and
template order), which is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from template import (
    ACTIVE_DISCLOSURE,
    MONEY_COLUMNS,
    REQUESTS,
    REVIEW_LITIGATION,
    TEMPLATE_VERSIONS,
    cells_for,
    template_cells,
)
from warehouse.cell_codes import cell_ids
from warehouse.sql import memory_limit_at_most, registered, transaction

#: Table code -> the wide view analysts query (one row per report).
WIDE_VIEWS = {
    ACTIVE_DISCLOSURE: "active_disclosure_wide",
    REQUESTS: "requests_wide",
    REVIEW_LITIGATION: "review_litigation_wide",
}
#: Table code -> the by-row view (one row per report and template row) and the report column naming its template.
BY_ROW_VIEWS = {
    ACTIVE_DISCLOSURE: ("active_disclosure_by_row", "template_version"),
    REQUESTS: ("requests_by_row", "requests_template_version"),
    REVIEW_LITIGATION: ("review_litigation_by_row", "requests_template_version"),
}
#: Reports whose facts are read and pivoted at a time (in polars), so that memory stays bounded: at 10,000
#: reports the publish's wide phase peaked 60 MB lower with 500 than with 1,000, for 0.4 s more CPU.
SLICE_REPORTS = 500
_REPORT_COLUMNS = ("agency_id", "agency", "year", "adcode", "province", "city", "county", "template_version",
                   "requests_template_version")


def cells_table(view: str) -> str:
    """Where a view's pivoted cells are stored."""
    return f"{view}_cells"


def column_name(row_code: str, col_code: str) -> str:
    """A wide view's column for a cell: denied.state_secret / total -> denied_state_secret__total."""
    return f"{row_code.replace('.', '_')}__{col_code}"


def _sql_type(col_code: str) -> str:
    return "double" if col_code in MONEY_COLUMNS else "bigint"


@cache
def wide_cells(table_code: str) -> tuple[tuple[str, str], ...]:
    """(row_code, col_code) of every cell of the table in either template version, in template order."""
    return tuple(dict.fromkeys((c.row_code, c.col_code) for c in template_cells() if c.table_code == table_code))


@cache
def by_row_columns(table_code: str) -> tuple[str, ...]:
    """The table's column codes, the newest version's order first."""
    columns: dict[str, None] = {}
    for version in reversed(TEMPLATE_VERSIONS):
        for cell in cells_for(version, table_code):
            columns.setdefault(cell.col_code)
    return tuple(columns)


def _columns(table_code: str, by_row: bool) -> dict[str, str]:
    """A cells table's columns: name -> DuckDB type."""
    if by_row:
        cells = {col: _sql_type(col) for col in by_row_columns(table_code)}
        return {"report_id": "varchar", "item": "varchar", "row_code": "varchar"} | cells
    return {"report_id": "varchar"} | {column_name(row, col): _sql_type(col) for row, col in wide_cells(table_code)}


def _tables() -> list[tuple[str, str, bool]]:
    """(table code, cells table, by row) of every wide table."""
    return ([(code, cells_table(view), False) for code, view in WIDE_VIEWS.items()]
            + [(code, cells_table(view), True) for code, (view, _) in BY_ROW_VIEWS.items()])


def _typed(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """Each cell typed for display: counts BIGINT, so that they print as 14 and not 14.0; money (万元) stays
    DOUBLE. A count printed with a fraction (a typo) is NULL here; facts keeps what was printed.
    Columns the frame lacks (no report of the slice prints that cell) are NULL."""
    exprs = []
    for name, kind in columns.items():
        column = pl.col(name) if name in frame.columns else pl.lit(None, pl.Float64)
        if kind == "bigint":
            column = pl.when(column == column.floor()).then(column.cast(pl.Int64))
        exprs.append(column.alias(name))
    return frame.select(exprs)


def _by_row_pivot(table_code: str, chosen: pl.DataFrame) -> pl.DataFrame:
    """A by-row table's rows: one per template row that a report has facts for (as the views computed them)."""
    columns = _columns(table_code, by_row=True)
    index = ["report_id", "item", "row_code"]
    if not chosen.height:
        return _typed(chosen.select(index), columns)
    return _typed(chosen.pivot(on="col_code", index=index, values="value", aggregate_function="max"), columns)


#: How many cell ids there can be: cell_codes.cell_id is a SMALLINT, numbered from 1.
_CELL_IDS = 2**15


def _cell_positions(codes: pl.DataFrame) -> dict[str, np.ndarray]:
    """Table code -> an array that gives, at each cell_id of `codes` (cell_codes), the position of the cell's
    column among the wide table's cells, -1 for a cell of no column of that table (another table's included).
    The arrays span every cell_id a SMALLINT holds."""
    positions = {}
    for table_code in WIDE_VIEWS:
        cells = wide_cells(table_code)
        order = pl.DataFrame({"row_code": [row for row, _ in cells], "col_code": [col for _, col in cells]},
                             schema={"row_code": pl.String, "col_code": pl.String}).with_row_index("cell")
        placed = codes.filter(pl.col("table_code") == table_code).join(order, on=["row_code", "col_code"])
        at = np.full(_CELL_IDS, -1, dtype=np.int64)
        at[placed["cell_id"].to_numpy()] = placed["cell"].to_numpy()
        positions[table_code] = at
    return positions


@dataclass(frozen=True)
class _Slice:
    """A slice's facts, once for its six tables: each fact's report as its row among `reports`, and its cell."""

    #: report_id, cell_id, item, value, and the cell's table_code, row_code and col_code (for the by-row tables)
    facts: pl.DataFrame
    reports: pl.Series
    #: Of each fact: its report's row, its cell_id (0 when it has none), whether its value is printed.
    rows: np.ndarray
    cell_ids: np.ndarray
    valued: np.ndarray


def _slice(facts: pl.DataFrame, reports: pl.Series, codes: pl.DataFrame) -> _Slice:
    rows = facts.select("report_id").join(reports.to_frame().with_row_index("row"), on="report_id", how="left",
                                          maintain_order="left")["row"]
    return _Slice(facts.join(codes, on="cell_id", how="left", maintain_order="left"), reports, rows.to_numpy(),
                  facts["cell_id"].fill_null(0).to_numpy(), facts["value"].is_not_null().to_numpy())


def _wide_rows(table_code: str, piece: _Slice, cell_positions: np.ndarray) -> pa.Table:
    """A wide table's rows: one for every report of the slice, its cells NULL where it has no facts of
    the table, typed as `_typed` types them.

    The largest, requests (183 columns), cost 0.11 CPU s per 1,000 reports as a polars pivot; placing each
    fact's value at its report's row and cell's column of an array costs a third of that, the column found
    from the fact's cell_id (`_cell_positions`) rather than by joining its codes. A cell that several facts
    print (two items of one row and column) keeps the largest value, as the pivot did."""
    columns = _columns(table_code, by_row=False)
    cells = list(columns)[1:]
    cell = cell_positions[piece.cell_ids]
    chosen = (cell >= 0) & piece.valued
    at = (piece.rows[chosen], cell[chosen])
    values = np.full((piece.reports.len(), len(cells)), -np.inf)
    np.maximum.at(values, at, piece.facts["value"].to_numpy()[chosen])
    printed = np.zeros(values.shape, dtype=bool)
    printed[at] = True
    whole = printed & np.isfinite(values) & (values == np.floor(values))
    counts = np.where(whole, values, 0).astype(np.int64)
    arrays = [pa.array(counts[:, i], mask=~whole[:, i]) if columns[name] == "bigint"
              else pa.array(values[:, i], mask=~printed[:, i]) for i, name in enumerate(cells)]
    return pa.Table.from_arrays([piece.reports.to_arrow(), *arrays], names=list(columns))


def _pivot(table_code: str, by_row: bool, piece: _Slice, cell_positions: dict[str, np.ndarray]) -> pa.Table:
    """A cells table's rows for the slice's reports, pivoted from their facts in polars and numpy (DuckDB's
    PIVOT cannot spill: it ran out of a 256 MB limit).

    A wide table has a row for every report (its cells NULL where it has no facts of the table), a by-row
    table one per template row that the report has facts for, as the views computed them before.
    """
    if by_row:
        return _by_row_pivot(table_code, piece.facts.filter(pl.col("table_code") == table_code)).to_arrow()
    return _wide_rows(table_code, piece, cell_positions[table_code])


def delete_wide_rows(conn: duckdb.DuckDBPyConnection, reports: str) -> None:
    """Delete the rows of the reports of the relation `reports` (a table or view with report_id)."""
    for _, table, _ in _tables():
        conn.execute(f"delete from {table} where report_id in (select report_id from {reports})")


def sync_wide_rows(conn: duckdb.DuckDBPyConnection) -> int:
    """Write the rows of the reports that have none (those a run loaded: load_batch writes none, and deletes
    a replaced report's) and remove those of reports that are gone; returns how many reports were written.
    It reads the facts of those reports only, SLICE_REPORTS at a time.

    A report has a requests_wide_cells row exactly when its rows of every cells table are there (a slice
    writes all six in one transaction), so the rows of the other five tables without one (a gone report's)
    are deleted once here, not per slice."""
    requests = cells_table(WIDE_VIEWS[REQUESTS])
    conn.execute(f"delete from {requests} where report_id not in (select report_id from reports)")
    for _, table, _ in _tables():
        if table != requests:
            conn.execute(f"delete from {table} where report_id not in (select report_id from {requests})")
    missing = [row[0] for row in conn.execute(
        f"select report_id from reports where report_id not in (select report_id from {requests})"
    ).fetchall()]
    with memory_limit_at_most(conn, WIDE_ROWS_MEMORY_LIMIT):
        _write_from_facts(conn, missing)
    return len(missing)


def rebuild_wide_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Write every report's rows of every cells table again from facts."""
    for _, table, _ in _tables():
        conn.execute(f"delete from {table}")
    with memory_limit_at_most(conn, WIDE_ROWS_MEMORY_LIMIT):
        _write_from_facts(conn, [row[0] for row in conn.execute("select report_id from reports").fetchall()])


#: DuckDB's memory while the wide rows are written (never more than the connection's own limit). What fills it is
#: blocks of facts read and of the rows written: a full publish of 100,000 reports replayed in a new process
#: went 274 -> 438 MB under 128 MB, 266 -> 407 under 96 MB for the same CPU (32 s), 233 -> 366 under 64 MB
#: for 14% more; under the writers' 256 MB it had reached 606. With DuckDB's 256 KiB blocks their checkpoint
#: needed 183 MiB; warehouse files have 64 KiB blocks (warehouse/store.py).
WIDE_ROWS_MEMORY_LIMIT = "96MB"


#: Where each report's facts lie in `facts` (rowids), the reports without facts last: a slice of consecutive
#: reports in this order reads a range of rowids, whose row groups DuckDB alone scans (at 100,000 reports a
#: slice's facts were otherwise found by reading all 20 M report_ids, 200 times over).
_FACT_RANGES = """
select w.report_id, min(f.rowid) as first, max(f.rowid) as last
from _wide_reports w left join facts f on f.report_id = w.report_id
group by w.report_id order by first nulls last, w.report_id
"""
#: A slice's facts with their cell_id, not their three codes: the codes are joined from cell_codes in polars
#: (0.03 CPU ms per report less at 2,000 text reports than reading them from every fact).
_SLICE_FACTS = """
select report_id, cell_id, item, value from facts
where rowid between $first and $last and report_id in (select report_id from _wide_slice)
"""


def _write_from_facts(conn: duckdb.DuckDBPyConnection, report_ids: list[str]) -> None:
    """Write the rows of `report_ids`, which have none in any cells table, from their facts, SLICE_REPORTS at
    a time in the order their facts are stored, each slice in a transaction of its own: one transaction for
    every slice grew by some 5 MB a slice outside DuckDB's memory limit (1.8 GB at the first publish of 100,000
    reports). A report's rows are all there or none: those missing are written by the next sync_wide_rows."""
    if not report_ids:  # an unchanged re-ingest: nothing to read
        return
    wanted = pl.DataFrame({"report_id": report_ids}, schema={"report_id": pl.String})
    codes = cell_ids(conn)
    cell_positions = _cell_positions(codes)
    with registered(conn, "_wide_reports", wanted.to_arrow()):
        ranges = conn.execute(_FACT_RANGES).pl()
    for start in range(0, ranges.height, SLICE_REPORTS):
        piece = ranges.slice(start, SLICE_REPORTS)
        ids = piece["report_id"]
        first, last = piece["first"].min(), piece["last"].max()
        with transaction(conn):
            with registered(conn, "_wide_slice", ids.to_frame().to_arrow()):
                facts = conn.execute(_SLICE_FACTS, {"first": -1 if first is None else first,
                                                    "last": -1 if last is None else last}).pl()
            whole = _slice(facts, ids, codes)
            for table_code, table, by_row in _tables():
                with registered(conn, "_wide_rows", _pivot(table_code, by_row, whole, cell_positions)):
                    conn.execute(f"insert into {table} by name select * from _wide_rows")


def _wide_view(view: str) -> str:
    reports = ", ".join(f"r.{c}" for c in _REPORT_COLUMNS)
    return f"""create or replace view {view} as
select r.report_id, {reports}, c.* exclude (report_id)
from reports r left join {cells_table(view)} c on c.report_id = r.report_id"""


def _by_row_view(table_code: str, view: str, version_column: str) -> str:
    """Each template row's columns side by side, with the row's order and labels in the version the report
    printed, so that a table shows in template order without a list."""
    return f"""create or replace view {view} as
select c.report_id, r.agency_id, r.agency, r.year, r.{version_column} as template, c.item, c.row_code,
       d.row_order, d.row_label_zh, d.row_label_en, c.* exclude (report_id, item, row_code)
from {cells_table(view)} c join reports r on r.report_id = c.report_id
left join (select distinct template, row_code, row_order, row_label_zh, row_label_en
           from cell_dictionary where table_code = '{table_code}') d
       on d.template = r.{version_column} and d.row_code = c.row_code"""


def ensure_wide_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the cells tables and their views. A cells table whose columns are not the template's (a new
    warehouse, one from before schema 6, or a template that gained a cell) is created again and filled."""
    stale = []
    for table_code, table, by_row in _tables():
        expected = [(name, kind.upper()) for name, kind in _columns(table_code, by_row).items()]
        found = conn.execute("select column_name, data_type from information_schema.columns "
                             "where table_schema = 'main' and table_name = ? order by ordinal_position", [table]).fetchall()
        if found != expected:
            columns = ", ".join(f"{name} {kind}" for name, kind in _columns(table_code, by_row).items())
            conn.execute(f"create or replace table {table} ({columns})")
            stale.append(table)
    if stale:
        rebuild_wide_tables(conn)
    for view in WIDE_VIEWS.values():
        conn.execute(_wide_view(view))
    for table_code, (view, version_column) in BY_ROW_VIEWS.items():
        conn.execute(_by_row_view(table_code, view, version_column))
