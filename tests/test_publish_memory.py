"""The publish's memory. Warehouse files use 64 KiB blocks, so that writing the wide tables (some 530 columns, a
block each) stays small; a warehouse made with DuckDB's default blocks is converted by the next run's copy,
nothing lost. The wide rows are written under their own, lower DuckDB limit."""

from __future__ import annotations

from pathlib import Path

import duckdb

import warehouse.wide
from flows.api import ingest
from tests.conftest import SAMPLES
from tests.expected import warehouse_state
from tests.processes import killed_writer_recorded_run
from warehouse.staging import publish, publishing, stage
from warehouse.store import BLOCK_SIZE, CONVERSION_MEMORY_LIMIT, connect, copy_with_block_size
from warehouse.wide import WIDE_ROWS_MEMORY_LIMIT, rebuild_wide_tables

DUCKDB_DEFAULT_BLOCK_SIZE = 262144


def file_block_size(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute("select block_size from pragma_database_size()").fetchone()[0]


def with_default_blocks(db: Path, target: Path) -> Path:
    """`db` as a warehouse made before nianbao chose its block size would be."""
    with duckdb.connect(str(db), read_only=True) as conn:
        conn.execute(f"attach '{target}' as old (block_size {DUCKDB_DEFAULT_BLOCK_SIZE}, read_only false)")
        conn.execute(f'copy from database "{db.stem}" to old')
    return target


def test_a_new_warehouse_is_made_with_64_kib_blocks(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest([str(SAMPLES)], db)
    assert BLOCK_SIZE == 65536
    assert file_block_size(db) == 65536


def test_a_warehouse_with_duckdbs_default_blocks_is_converted_by_the_next_runs_copy_with_nothing_lost(tmp_path):
    made_now = tmp_path / "now.duckdb"
    ingest([str(SAMPLES)], made_now)
    old = with_default_blocks(made_now, tmp_path / "old.duckdb")
    assert file_block_size(old) == DUCKDB_DEFAULT_BLOCK_SIZE

    publish(stage(old, "run-1"))

    assert file_block_size(old) == BLOCK_SIZE
    assert warehouse_state(old) == warehouse_state(made_now)
    with connect(old, read_only=True) as conn:
        labelled = conn.execute("select count(*) from facts_labelled").fetchone()[0]
        wide = conn.execute("select count(*) from requests_wide").fetchone()[0]
    assert labelled == 998
    assert wide == 5


def test_a_converted_copy_keeps_what_a_crashed_writer_left_in_the_log(tmp_path):
    made_now = tmp_path / "now.duckdb"
    ingest([str(SAMPLES)], made_now)
    old = with_default_blocks(made_now, tmp_path / "old.duckdb")
    killed_writer_recorded_run(old, "crashed")
    assert old.with_name("old.duckdb.wal").exists()

    publish(stage(old, "run-1"))

    assert not old.with_name("old.duckdb.wal").exists()
    with connect(old, read_only=True) as conn:
        assert ("crashed",) in conn.execute("select run_id from runs").fetchall()


def test_the_wide_tables_are_rewritten_and_checkpointed_under_a_96_mb_limit(tmp_path, monkeypatch):
    """With 256 KiB blocks this checkpoint fails below some 183 MiB ("failed to pin block")."""
    db = tmp_path / "w.duckdb"
    ingest([str(SAMPLES)], db)
    monkeypatch.setenv("NIANBAO_DUCKDB_MEMORY_LIMIT", "96MB")
    staging = stage(db, "run-1")
    with publishing(staging) as conn:
        assert conn.execute("select current_setting('memory_limit')").fetchone()[0] == "91.5 MiB"
        rebuild_wide_tables(conn)
    publish(staging)
    with connect(db, read_only=True) as conn:
        assert conn.execute("select count(*) from requests_wide").fetchone()[0] == 5


def test_the_wide_rows_are_written_under_their_own_limit_and_the_writers_limit_comes_back(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    ingest([str(SAMPLES)], db)
    seen = []
    pivot = warehouse.wide._pivot

    def watched_pivot(*args):
        seen.append(conn.execute("select current_setting('memory_limit')").fetchone()[0])
        return pivot(*args)

    monkeypatch.setattr(warehouse.wide, "_pivot", watched_pivot)
    staging = stage(db, "run-1")
    with publishing(staging) as conn:
        writers = conn.execute("select current_setting('memory_limit')").fetchone()[0]
        rebuild_wide_tables(conn)
        after = conn.execute("select current_setting('memory_limit')").fetchone()[0]
    publish(staging)
    assert WIDE_ROWS_MEMORY_LIMIT == "96MB"
    assert set(seen) == {"91.5 MiB"} and len(seen) == 6  # one slice, six cells tables
    assert (writers, after) == ("244.1 MiB", "244.1 MiB")


def test_the_wide_rows_limit_never_raises_a_lower_writers_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("NIANBAO_DUCKDB_MEMORY_LIMIT", "64MB")
    db = tmp_path / "w.duckdb"
    ingest([str(SAMPLES)], db)
    seen = []
    pivot = warehouse.wide._pivot
    monkeypatch.setattr(warehouse.wide, "_pivot", lambda *args: seen.append(
        conn.execute("select current_setting('memory_limit')").fetchone()[0]) or pivot(*args))
    staging = stage(db, "run-1")
    with publishing(staging) as conn:
        rebuild_wide_tables(conn)
    publish(staging)
    assert set(seen) == {"61.0 MiB"}


def test_the_report_pages_queries_run_under_their_own_limit(tmp_path, monkeypatch):
    """The nightly run writes the page after the publish, in the same process: DuckDB's default (80% of RAM)
    took it 231 MB up at 100,000 reports."""
    import warehouse.html_report.page as page

    db = tmp_path / "w.duckdb"
    ingest([str(SAMPLES)], db)
    seen = []
    read = page.read_report_data

    def watched_read(conn, *args):
        seen.append(conn.execute("select current_setting('memory_limit')").fetchone()[0])
        return read(conn, *args)

    monkeypatch.setattr(page, "read_report_data", watched_read)
    info = page.write_report(db, tmp_path / "w.report.html")
    assert page.REPORT_MEMORY_LIMIT == "64MB"
    assert seen == ["61.0 MiB"] and info.reports == 5


def test_a_conversion_runs_under_its_own_limit(tmp_path):
    made_now = tmp_path / "now.duckdb"
    ingest([str(SAMPLES)], made_now)
    old = with_default_blocks(made_now, tmp_path / "old.duckdb")
    with duckdb.connect(str(old), read_only=True) as conn:
        copy_with_block_size(conn, tmp_path / "converted.duckdb")
        limit = conn.execute("select current_setting('memory_limit')").fetchone()[0]
    assert (CONVERSION_MEMORY_LIMIT, limit) == ("128MB", "122.0 MiB")
    assert file_block_size(tmp_path / "converted.duckdb") == BLOCK_SIZE
