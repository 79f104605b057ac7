"""warehouse/sql.py's transaction: what the block wrote is all there or none of it, and the block's own error
is the one raised."""

from __future__ import annotations

import duckdb
import pytest

from warehouse.sql import scalar, transaction


def test_a_transaction_commits_what_its_block_wrote():
    conn = duckdb.connect()
    conn.execute("create table t (x integer)")
    with transaction(conn):
        conn.execute("insert into t values (1), (2)")
    assert scalar(conn, "select sum(x) from t") == 3


def test_a_block_that_raises_leaves_nothing_written():
    conn = duckdb.connect()
    conn.execute("create table t (x integer)")
    with pytest.raises(KeyError), transaction(conn):
        conn.execute("insert into t values (1)")
        raise KeyError("stop")
    assert scalar(conn, "select count(*) from t") == 0


def test_the_blocks_error_is_raised_when_duckdb_already_ended_the_transaction():
    """A commit that fails (out of memory, say) ends DuckDB's transaction: the rollback after it must not hide
    the error with 'cannot rollback - no transaction is active'."""
    conn = duckdb.connect()
    with pytest.raises(MemoryError, match="the block's"), transaction(conn):
        conn.execute("commit")
        raise MemoryError("the block's")
    conn.execute("begin transaction")  # the connection is usable after it
    conn.execute("rollback")
