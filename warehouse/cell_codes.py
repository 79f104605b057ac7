"""Small-integer ids for the template's cells, so that a question on one cell or a family of rows does not
compare three strings of every fact.

`cell_codes` numbers every cell (table_code, row_code, col_code) in the order table, column, row: a
family of rows in one column ('denied.%' at 'total') has consecutive ids. facts carry the id (cell_id) and
`facts_labelled` takes the codes from `cell_codes`, so that a filter on them selects a few ids, which DuckDB's
join filter pushdown hands to the scan of facts as a range of cell_id. Each batch's facts are written in
cell_id order (load_batch), so that cell_id is stored in runs as long as the batch's reports (run-length
encoded): the scan tests a run once instead of each fact (BENCHMARKS.md, issue 17). An id, once given, never
changes; a cell that a later template adds, or a batch brings that no template has, is numbered after the rest.
"""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from template import template_cells
from warehouse.sql import registered

CELL_KEY = ("table_code", "row_code", "col_code")
#: Cells of the relation `_cells` (CELL_KEY columns) that have no id yet, numbered after the rest.
_NUMBER_NEW = f"""
insert into cell_codes
select (select coalesce(max(cell_id), 0) from cell_codes) + row_number() over (order by table_code, col_code, row_code),
       {', '.join(CELL_KEY)}
from (select distinct {', '.join(CELL_KEY)} from _cells) n
where not exists (select 1 from cell_codes c where {' and '.join(f'c.{k} = n.{k}' for k in CELL_KEY)})
"""


def number_cells(conn: duckdb.DuckDBPyConnection, cells: object) -> None:
    """Give an id to each cell of `cells` (an Arrow table, a polars frame or a relation with CELL_KEY) that has none."""
    with registered(conn, "_cells", cells):
        conn.execute(_NUMBER_NEW)


def number_template_cells(conn: duckdb.DuckDBPyConnection) -> None:
    """Number the template's cells: all of them in a new warehouse, those a newer template added in an old one."""
    rows = sorted({tuple(getattr(c, k) for k in CELL_KEY) for c in template_cells()})
    number_cells(conn, pl.DataFrame(rows, schema=list(CELL_KEY), orient="row").to_arrow())


def cell_ids(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every numbered cell: CELL_KEY and cell_id."""
    return conn.execute(f"select {', '.join(CELL_KEY)}, cell_id from cell_codes").pl()


def in_cell_order(conn: duckdb.DuckDBPyConnection, facts: pl.DataFrame) -> pl.DataFrame:
    """`facts` with their cell_id, sorted by it (each cell's facts in the batch's report order); a cell without
    an id is numbered first."""
    if not facts.height:  # a batch of failures: its columns may be of type Null, which joins nothing
        return facts.with_columns(cell_id=pl.lit(None, pl.Int16))
    with_ids = facts.join(cell_ids(conn), on=CELL_KEY, how="left", maintain_order="left")
    if with_ids["cell_id"].null_count():
        number_cells(conn, with_ids.filter(pl.col("cell_id").is_null()).select(CELL_KEY).unique().to_arrow())
        with_ids = facts.join(cell_ids(conn), on=CELL_KEY, how="left", maintain_order="left")
    # numpy's stable sort of small integers is a radix sort: a third of polars' sort of the frame.
    return with_ids[np.argsort(with_ids["cell_id"].to_numpy(), kind="stable")]
