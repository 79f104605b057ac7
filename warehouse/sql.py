"""DuckDB idioms said once: one answer from a query that always returns one (a count, a setting, a copy's
row count), a size setting read back (the memory limit in bytes, a value that restores it) or set for a block, a transaction
that is rolled back on any error, and a frame registered for one statement's time.

Said once here, so that every caller states the expectation instead of indexing a fetch that might be None,
and no caller can forget the rollback or leave a frame registered on the connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def memory_limit_bytes(conn: duckdb.DuckDBPyConnection) -> int:
    """The connection's DuckDB memory limit in bytes (DuckDB shows it as '122.0 MiB'), to size slices by."""
    number, unit = str(scalar(conn, "select current_setting('memory_limit')")).split()
    return int(float(number) * _UNITS[unit])


def size_setting(conn: duckdb.DuckDBPyConnection, name: str) -> str:
    """A value that sets a size setting (memory_limit, checkpoint_threshold) back to what it is now, as DuckDB
    shows it. DuckDB truncates what it shows to a tenth of the unit ('256MB' shows as 244.1 MiB, and
    '244.1 MiB' as 244.0 MiB), so half a tenth more restores the same."""
    number, unit = str(scalar(conn, f"select current_setting('{name}')")).split()
    return f"{float(number) + 0.05:.2f} {unit}"


@contextmanager
def size_set_to(conn: duckdb.DuckDBPyConnection, name: str, value: str) -> Iterator[str]:
    """The size setting `name` set to `value` inside the block, then set back (also when it raises); yields the
    value that sets it back (size_setting)."""
    before = size_setting(conn, name)
    conn.execute(f"set {name} = '{value}'")
    try:
        yield before
    finally:
        conn.execute(f"set {name} = '{before}'")


@contextmanager
def memory_limit_at_most(conn: duckdb.DuckDBPyConnection, limit: str) -> Iterator[str]:
    """The connection's DuckDB memory limit lowered to `limit` inside the block, never raised (a lower one is
    kept), then set back; yields the value that sets it back."""
    before_bytes = memory_limit_bytes(conn)
    with size_set_to(conn, "memory_limit", limit) as before:
        if memory_limit_bytes(conn) > before_bytes:
            conn.execute(f"set memory_limit = '{before}'")
        yield before


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block wrote, or roll all of it back when the block raises (an interrupt included)."""
    conn.execute("begin transaction")
    try:
        yield
        conn.execute("commit")
    except BaseException:
        try:
            conn.execute("rollback")
        except duckdb.TransactionException:
            pass  # DuckDB ended it already (a commit that failed, out of memory say): the block's error is the one to see
        raise


@contextmanager
def registered(conn: duckdb.DuckDBPyConnection, name: str, relation: Any) -> Iterator[None]:
    """`relation` (an Arrow table or a polars frame) queryable as `name` inside the block, and only there."""
    conn.register(name, relation)
    try:
        yield
    finally:
        conn.unregister(name)
