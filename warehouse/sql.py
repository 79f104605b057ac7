"""One answer from DuckDB: the row of a query that always returns one (a count, a setting, a copy's row count).

Said once here, so that every caller states the expectation instead of indexing a fetch that might be None.
"""

from __future__ import annotations

from typing import Any

import duckdb


def one_row(conn: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> tuple[Any, ...]:
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise LookupError(f"the query returned no row: {sql}")
    return row


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> Any:
    """The first column of the query's one row."""
    return one_row(conn, sql, params)[0]
