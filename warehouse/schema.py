"""The warehouse's tables and views. Creating them is idempotent; every load calls ensure_schema.

The loaded tables' columns are declared in warehouse/tables.py, the wide tables in warehouse/wide.py.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl

from template import (
    TABLE_CODES,
    TABLE_TITLES,
    TEMPLATE_VERSIONS,
    cells_for,
    columns_for,
    english_labels,
    rows_for,
    template_cells,
)
from warehouse.analyst import REFRESH_MISSING_REPORTS, ensure_analyst_schema
from warehouse.analyst import TABLES as ANALYST_TABLES
from warehouse.analyst import VIEWS as ANALYST_VIEWS
from warehouse.cell_codes import CELL_KEY, number_cells, number_template_cells
from warehouse.sql import registered, scalar, transaction
from warehouse.tables import TABLES as LOADED_TABLES
from warehouse.tables import create_table_sql, frame_schema
from warehouse.wide import ensure_wide_tables

SCHEMA_VERSION = 7

TABLES = "create table if not exists schema_info (schema_version integer not null);\n" + "".join(
    create_table_sql(name) for name in LOADED_TABLES
)

#: facts_labelled: the codes come from cell_codes, not facts, so that a filter on them is a filter on a few cell
#: ids, which DuckDB hands to the scan of facts (warehouse/cell_codes.py); its columns are those of schema 6.
FIXED_VIEWS = """
create or replace view facts_labelled as
select r.agency_id, r.agency, r.year, r.adcode, r.province, r.city, r.county, {fact_columns},
       d.table_label_zh, d.row_label_zh, d.row_label_en, d.col_label_zh, d.col_label_en, d.row_order, d.col_order
from facts f
join reports r using (report_id)
join cell_codes c using (cell_id)
left join cell_dictionary d
       on d.template = case when c.table_code = 'active_disclosure' then r.template_version
                            else r.requests_template_version end
      and d.cell_id = f.cell_id;

create or replace view report_sources as
select i.report_id, i.path, i.url, i.status, i.updated_at
from ingest_files i
where i.status in ('loaded', 'duplicate') and i.report_id is not null
union
select r.report_id, f.raw_path as path, f.url, 'crawled' as status, f.fetched_at as updated_at
from fetches f join reports r on r.sha256 = f.sha256
where f.outcome = 'downloaded';
""".replace("{fact_columns}", ", ".join(
    f"c.{column}" if column in CELL_KEY else f"f.{column}" for column in LOADED_TABLES["facts"] if column != "cell_id"))


def _dictionary_rows() -> list[tuple]:
    """Every template cell with its labels and its place in the printed template (orders from 1)."""
    english = english_labels()
    rows = []
    for version in TEMPLATE_VERSIONS:
        for table_code in TABLE_CODES:
            cells = cells_for(version, table_code)
            items = list(dict.fromkeys(c.item for c in cells))
            row_codes = rows_for(version, table_code)
            for c in cells:
                rows.append((
                    c.template, c.table_code, c.item, c.row_code, c.col_code,
                    TABLE_TITLES[c.table_code], english[("table", c.table_code)],
                    c.row_label, english[("row", c.row_code)],
                    c.col_label, english[("col", c.col_code)],
                    items.index(c.item) + 1, row_codes.index(c.row_code) + 1,
                    columns_for(version, table_code, c.item).index(c.col_code) + 1,
                ))
    return rows


_REPORT_COLUMNS_V3 = ("source", "agency_id", "agency_key", "agency_kind", "admin_level", "adcode", "province", "city",
                      "county", "township", "region_method", "region_reason")

#: Schema version -> what moves a warehouse of that version to the next: SQL, or a function of the connection.
MIGRATIONS: dict[int, str | Callable[[duckdb.DuckDBPyConnection], None]] = {
    1: "alter table reports add column if not exists source_url varchar",
    # runs keeps every attempt of a flow run: its key becomes (run_id, attempt), which DuckDB cannot alter.
    2: """
    alter table reports add column if not exists source_status varchar default 'current';
    update reports set source_status = 'current' where source_status is null;
    alter table reports add column if not exists source_error varchar;
    alter table ingest_files add column if not exists url varchar;
    create table runs_v3 as select run_id, 1 as attempt, flow_run_name, started_at, finished_at, status, files_seen,
        files_loaded, files_unchanged, files_failed, facts_loaded, checks_failed, null::integer as files_ignored,
        null::integer as files_duplicate, null::integer as sources_failed from runs;
    drop table runs;
    """,
    3: "alter table facts add column if not exists confidence double",
    # agencies and regions on reports (NULL until the files are extracted again: PARSER_VERSION 3),
    # template order in cell_dictionary (refilled), the analyst tables (warehouse/analyst.py).
    4: ";\n".join(
        [f"alter table reports add column if not exists {c} varchar" for c in _REPORT_COLUMNS_V3]
        + [f"alter table cell_dictionary add column if not exists {c} integer" for c in ("item_order", "row_order", "col_order")]
        + ["delete from cell_dictionary"]
    ),
    # missing_reports becomes a table written at publish (warehouse/analyst.py); the wide views' cells are
    # written at load into *_cells tables, created and filled by ensure_wide_tables (warehouse/wide.py).
    5: lambda conn: _drop_view(conn, "missing_reports"),
    # facts gain cell_id (warehouse/cell_codes.py): the table is written again with it, below; the dictionary
    # is refilled with its cells' ids.
    6: "alter table facts rename to facts_v6; alter table facts_v6 drop column if exists cell_id; "
       "alter table cell_dictionary add column if not exists cell_id smallint",
}
#: Run after a migration's statements, when the tables above have been created again where dropped.
MIGRATION_FOLLOW_UPS: dict[int, str | Callable[[duckdb.DuckDBPyConnection], None]] = {
    2: "insert into runs by name select * from runs_v3; drop table runs_v3;",
    5: ANALYST_TABLES + ANALYST_VIEWS + REFRESH_MISSING_REPORTS,
    6: lambda conn: _facts_with_cell_ids(conn),
}
#: Facts of schema 6 are copied this many at a time (in their order), each slice in cell order as a load writes it.
MIGRATION_SLICE_FACTS = 100_000


def _facts_with_cell_ids(conn: duckdb.DuckDBPyConnection) -> None:
    """Copy facts_v6 into facts with each fact's cell_id, in slices of MIGRATION_SLICE_FACTS facts (stored order)
    each in cell order, as a load writes its batches (one sort of every fact spilled for minutes at 100,000 reports)."""
    number_template_cells(conn)
    number_cells(conn, conn.sql(f"select distinct {', '.join(CELL_KEY)} from facts_v6").pl())
    end = scalar(conn, "select coalesce(max(rowid) + 1, 0) from facts_v6")
    for start in range(0, end, MIGRATION_SLICE_FACTS):
        conn.execute(f"""insert into facts by name
                         select f.*, c.cell_id from facts_v6 f join cell_codes c using ({', '.join(CELL_KEY)})
                         where f.rowid >= {start} and f.rowid < {start + MIGRATION_SLICE_FACTS} order by c.cell_id""")
    conn.execute("drop table facts_v6")


def _drop_view(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a view that became a table, and nothing if it is already one."""
    if scalar(conn, "select count(*) from information_schema.tables where table_schema = 'main' and table_name = ? "
                    "and table_type = 'VIEW'", [name]):
        conn.execute(f"drop view {name}")


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(TABLES)
    version = scalar(conn, "select max(schema_version) from schema_info")
    if version is None:
        conn.execute("insert into schema_info values (?)", [SCHEMA_VERSION])
    elif version < SCHEMA_VERSION:
        with transaction(conn):
            for step in range(version, SCHEMA_VERSION):
                migration = MIGRATIONS[step]
                conn.execute(migration) if isinstance(migration, str) else migration(conn)
                conn.execute(TABLES)
                if step in MIGRATION_FOLLOW_UPS:
                    follow_up = MIGRATION_FOLLOW_UPS[step]
                    conn.execute(follow_up) if isinstance(follow_up, str) else follow_up(conn)
            conn.execute("update schema_info set schema_version = ?", [SCHEMA_VERSION])
    elif version > SCHEMA_VERSION:
        raise RuntimeError(
            f"the warehouse has schema version {version}, newer than this nianbao ({SCHEMA_VERSION}): upgrade nianbao"
        )
    number_template_cells(conn)
    if scalar(conn, "select count(cell_id) from cell_dictionary") != len(template_cells()):
        # From a frame: executemany of the same 398 rows costs half a CPU second, a new warehouse's largest part.
        columns = [c for c in LOADED_TABLES["cell_dictionary"] if c != "cell_id"]
        rows = pl.DataFrame(_dictionary_rows(), schema=frame_schema("cell_dictionary", columns), orient="row")
        with registered(conn, "_cell_dictionary", rows.to_arrow()):
            conn.execute("delete from cell_dictionary")
            conn.execute(f"insert into cell_dictionary by name select d.*, c.cell_id from _cell_dictionary d "
                         f"join cell_codes c using ({', '.join(CELL_KEY)})")
    conn.execute(FIXED_VIEWS)
    ensure_wide_tables(conn)
    ensure_analyst_schema(conn)
