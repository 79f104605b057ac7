"""Each loaded table's columns, declared once: name -> DuckDB type (with its constraints).

The DDL (warehouse/schema.py), the polars schemas of the frames a batch carries, the columns a load
expects of each frame and the fetch and known-file records are all derived from here, so that a new
column is one line. A frame that lacks a column its table expects is refused by the load
(`check_frame`), never inserted with NULLs.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

REPORTS = {
    "report_id": "varchar primary key",
    "source_path": "varchar not null",
    "source_url": "varchar",                 # where a crawled report was downloaded from
    "sha256": "varchar not null",
    "size_bytes": "bigint",
    "agency": "varchar",
    "year": "integer",
    "title": "varchar",
    "signature_date": "date",
    "template_version": "varchar",           # of table A, told by its column headers
    "requests_template_version": "varchar",  # of table B, told by its （六）其他处理 rows
    "encoding": "varchar",
    "encoding_source": "varchar",            # bom / declared / utf-8 / detected / fallback
    "declared_encoding": "varchar",
    "reader": "varchar",                     # which reader produced the cells
    "parser_version": "varchar",
    "run_id": "varchar",
    "loaded_at": "timestamp",
    "source_status": "varchar not null default 'current'",  # current / failing: its file now fails to read
    "source_error": "varchar",               # when failing: what is wrong with the file now
    "source": "varchar",                     # the sources-file entry it came through (its name)
    "agency_id": "varchar",                  # one id per agency across years and name variants
    "agency_key": "varchar",                 # what the id hashes: adcode|township|name without its regions
    "agency_kind": "varchar",                # 人民政府 / 办公厅(室) / 局 / 委 / 厅 / 办事处 / 中心 / 其他
    "admin_level": "varchar",                # province / city / county / township
    "adcode": "varchar",                     # GB/T 2260 code of the smallest region the agency is in
    "province": "varchar",
    "city": "varchar",
    "county": "varchar",
    "township": "varchar",
    "region_method": "varchar",              # name / declared (the source's region) / text (the report's)
    "region_reason": "varchar",              # why adcode is NULL
}

FACTS = {
    "report_id": "varchar not null",
    "table_code": "varchar not null",
    "item": "varchar not null",
    "row_code": "varchar not null",
    "col_code": "varchar not null",
    "value": "double",                       # NULL unless value_kind = 'number'; money in 万元
    "value_kind": "varchar not null",        # number / blank / dash / text / missing / ambiguous
    "unit": "varchar",
    "raw_text": "varchar",                   # the cell as printed; NULL when missing
    "confidence": "double",                  # recognition confidence (0-1) of a cell read by OCR; NULL otherwise
    "cell_id": "smallint",                   # the cell's id in cell_codes (warehouse/cell_codes.py), set by the load
}

CHECKS = {
    "report_id": "varchar not null",
    "rule": "varchar not null",
    "scope": "varchar not null",
    "passed": "boolean not null",
    "lhs": "double",
    "rhs": "double",
    "detail": "varchar",
}

INGEST_FILES = {
    "path": "varchar primary key",
    "sha256": "varchar not null",
    "size_bytes": "bigint",
    "status": "varchar not null",            # loaded / failed / duplicate / ignored
    "reason": "varchar",                     # machine-readable reason (why failed, duplicate or ignored)
    "error": "varchar",                      # what is wrong, naming the file
    "report_id": "varchar",                  # the report it loaded (or is a duplicate of, or had before failing)
    "url": "varchar",                        # where a crawled file was downloaded from
    "parser_version": "varchar",
    "run_id": "varchar",
    "updated_at": "timestamp not null",
}

RUNS = {
    "run_id": "varchar not null",
    "attempt": "integer not null default 1",  # Prefect's run count: a Retry from the UI is attempt 2, and so on
    "flow_run_name": "varchar",
    "started_at": "timestamp not null",
    "finished_at": "timestamp",
    "status": "varchar not null",            # completed / failed (some files failed, or a source reached nothing)
    "files_seen": "integer",
    "files_loaded": "integer",
    "files_unchanged": "integer",
    "files_failed": "integer",               # failed in this run, plus unchanged files still failing
    "facts_loaded": "bigint",
    "checks_failed": "bigint",
    "files_ignored": "integer",
    "files_duplicate": "integer",
    "sources_failed": "integer",
}

FETCHES = {
    "crawl_id": "varchar not null",
    "source": "varchar not null",            # the crawl source's name in the sources file
    "url": "varchar not null",
    "kind": "varchar not null",              # listing / report / attachment / image
    "outcome": "varchar not null",           # downloaded / not_modified / refused / failed
    "final_url": "varchar",
    "status": "integer",
    "content_type": "varchar",
    "http_charset": "varchar",               # as the HTTP header declared it
    "etag": "varchar",
    "last_modified": "varchar",
    "fetched_at": "timestamp not null",
    "sha256": "varchar",
    "raw_path": "varchar",                   # raw/<sha256><suffix> next to the warehouse
    "reason": "varchar",                     # why it was refused or failed
}

CELL_DICTIONARY = {
    "template": "varchar not null",
    "table_code": "varchar not null",
    "item": "varchar not null",
    "row_code": "varchar not null",
    "col_code": "varchar not null",
    "table_label_zh": "varchar",
    "table_label_en": "varchar",
    "row_label_zh": "varchar",
    "row_label_en": "varchar",
    "col_label_zh": "varchar",
    "col_label_en": "varchar",
    "item_order": "integer",                 # template order within the table, from 1
    "row_order": "integer",
    "col_order": "integer",
    "cell_id": "smallint",                   # the cell's id in cell_codes
}

#: One id per cell (warehouse/cell_codes.py): facts carry it, facts_labelled joins it.
CELL_CODES = {
    "cell_id": "smallint primary key",
    "table_code": "varchar not null",
    "row_code": "varchar not null",
    "col_code": "varchar not null",
}

#: Every loaded table, in the order it is created, with its composite primary key if it has one.
TABLES: dict[str, dict[str, str]] = {
    "reports": REPORTS, "facts": FACTS, "checks": CHECKS, "ingest_files": INGEST_FILES, "runs": RUNS,
    "fetches": FETCHES, "cell_dictionary": CELL_DICTIONARY, "cell_codes": CELL_CODES,
}
PRIMARY_KEYS = {"runs": ("run_id", "attempt"), "fetches": ("crawl_id", "url")}

#: Columns a load writes itself, or that the warehouse sets later: a batch's frame never carries them.
FILLED_BY_LOAD = {
    "reports": ("run_id", "loaded_at", "source_status", "source_error"),
    "ingest_files": ("run_id", "updated_at"),
    "facts": ("cell_id",),
}

_POLARS_TYPES: dict[str, pl.DataType] = {
    "varchar": pl.String(), "smallint": pl.Int16(), "integer": pl.Int32(), "bigint": pl.Int64(), "double": pl.Float64(),
    "boolean": pl.Boolean(), "date": pl.Date(), "timestamp": pl.Datetime("us"),
}


class FrameMismatch(ValueError):
    """A frame meant for a table lacks some of its columns, has others, or has them of another type."""

    reason = "frame_mismatch"


def create_table_sql(name: str) -> str:
    columns = [f"    {column} {kind}" for column, kind in TABLES[name].items()]
    if name in PRIMARY_KEYS:
        columns.append(f"    primary key ({', '.join(PRIMARY_KEYS[name])})")
    return f"create table if not exists {name} (\n" + ",\n".join(columns) + "\n);\n"


def polars_type(sql_type: str) -> pl.DataType:
    return _POLARS_TYPES[sql_type.split()[0]]


def frame_schema(table: str, columns: Iterable[str] | None = None) -> dict[str, pl.DataType]:
    """The polars schema of `columns` of `table` (all of them by default), in the table's order."""
    wanted = TABLES[table] if columns is None else {c: TABLES[table][c] for c in columns}
    return {column: polars_type(kind) for column, kind in wanted.items()}


def loaded_schema(table: str) -> dict[str, pl.DataType]:
    """The schema of the frame a batch carries for `table`: every column except those the load fills."""
    skipped = FILLED_BY_LOAD.get(table, ())
    return frame_schema(table, [c for c in TABLES[table] if c not in skipped])


def check_frame(table: str, frame: pl.DataFrame) -> None:
    """Raise FrameMismatch unless `frame` has exactly the columns a batch carries for `table`, of their types.

    A column of nothing but NULLs (polars type Null) passes: DuckDB casts it to any type.
    """
    expected = loaded_schema(table)
    missing = [c for c in expected if c not in frame.schema]
    extra = [c for c in frame.schema if c not in expected]
    mistyped = [f"{c} is {frame.schema[c]}, not {kind}" for c, kind in expected.items()
                if c in frame.schema and frame.schema[c] not in (kind, pl.Null)]
    problems = ([f"lacks {', '.join(missing)}"] if missing else []) + \
        ([f"has columns the table does not ({', '.join(extra)})"] if extra else []) + mistyped
    if problems:
        raise FrameMismatch(
            f"the {table} frame of this batch {'; '.join(problems)}: the code that builds it and "
            f"warehouse/tables.py disagree (a bug in nianbao; declare the column in warehouse/tables.py or build it)"
        )
