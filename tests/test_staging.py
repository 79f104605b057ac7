"""A night is loaded into a copy and published with one rename: readers never wait, never see half a night.
The run opens its copy once and keeps it open until the publish, or the failure that deletes it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import duckdb
import pytest

from flows.api import ingest, load_and_publish
from flows.ingest import ingest_flow
from flows.pipeline import process_batch
from flows.publish import RunInfo, load_into
from tests.conftest import ROOT, SAMPLES, copy_samples_as
from tests.expected import warehouse_state
from tests.processes import ReaderLoop, WriteLockHolder, killed_writer_recorded_run, wait_for
from warehouse import staging
from warehouse.staging import WarehouseChanged, publish, publishing, stage, staging_path
from warehouse.store import WarehouseLocked, connect, load_batch

SAMPLE_PATHS = sorted(str(p) for p in SAMPLES.glob("*.txt"))


def report_count(db) -> int:
    with connect(db, read_only=True) as conn:
        return conn.execute("select count(*) from reports").fetchone()[0]


def test_the_published_warehouse_changes_only_when_the_copy_is_published(tmp_path):
    db = tmp_path / "w.duckdb"
    with connect(db):
        pass
    staging = stage(db, "run-1")
    with connect(staging.path) as conn:
        load_batch(conn, process_batch(SAMPLE_PATHS), "run-1")
    assert report_count(db) == 0
    publish(staging)
    assert report_count(db) == 5
    assert not staging_path(db, "run-1").exists()


def test_the_first_night_publishes_a_new_warehouse(tmp_path):
    db = tmp_path / "w.duckdb"
    staging = stage(db, "run-1")
    assert not db.exists()
    publish(staging)
    assert report_count(db) == 0


def test_staging_a_warehouse_held_by_a_writer_names_the_holder(tmp_path):
    db = tmp_path / "w.duckdb"
    with connect(db):
        pass
    holder = WriteLockHolder(db)
    try:
        holder.lock()
        with pytest.raises(WarehouseLocked, match=f"locked by process {holder.pid}"):
            stage(db, "run-1")
    finally:
        holder.kill()


def test_publishing_refuses_to_discard_what_another_writer_wrote_meanwhile(tmp_path):
    db = tmp_path / "w.duckdb"
    with connect(db):
        pass
    staging = stage(db, "run-1")
    with connect(db) as conn:
        conn.execute("insert into runs (run_id, started_at, status) values ('by-hand', now(), 'completed')")
    with pytest.raises(WarehouseChanged, match="changed by another process while this run was loading"):
        publish(staging)
    with connect(db, read_only=True) as conn:
        assert conn.execute("select run_id from runs").fetchall() == [("by-hand",)]


def test_a_crashed_writers_log_is_folded_in_before_the_copy(tmp_path):
    db = tmp_path / "w.duckdb"
    with connect(db):
        pass
    killed_writer_recorded_run(db, "crashed")
    assert db.with_name("w.duckdb.wal").exists()
    staging = stage(db, "run-1")
    publish(staging)
    assert not db.with_name("w.duckdb.wal").exists()
    with connect(db, read_only=True) as conn:
        assert conn.execute("select run_id from runs").fetchall() == [("crashed",)]


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.slow
def test_a_reader_during_a_night_sees_the_state_before_or_after_it_never_between(tmp_path, samples_copy):
    db = tmp_path / "w.duckdb"
    assert ingest_flow(paths=[str(samples_copy)], db=str(db), return_state=True).is_completed()
    night = tmp_path / "night"
    for copy in range(20):  # 100 new reports in 10 batches, so a non-atomic load would show 9 states between
        copy_samples_as(night / f"agency-{copy:02d}", copy)
    reader = ReaderLoop(db, tmp_path / "reader.jsonl")
    try:
        reader.wait_for_records(1)
        state = ingest_flow(paths=[str(samples_copy), str(night)], db=str(db), batch_files=10, return_state=True)
        assert state.is_completed()
        reader.wait_for_records(len(reader.records()) + 5)
    finally:
        records = reader.stop()
    errors = [r["error"] for r in records if "error" in r]
    assert errors == []
    answers = [tuple(r["answer"]) for r in records]
    before, after = answers[0], answers[-1]
    assert (before[0], after[0]) == (5, 105)
    assert set(answers) == {before, after}
    assert answers == sorted(answers, key=lambda answer: answer == after)


@pytest.mark.usefixtures("prefect_server")
def test_a_run_opens_its_copy_once_for_all_its_batches(tmp_path, samples_copy, monkeypatch):
    db = tmp_path / "w.duckdb"
    assert ingest_flow(paths=[str(samples_copy)], db=str(db), return_state=True).is_completed()
    night = tmp_path / "night"
    copy_samples_as(night / "agency-01", 1)
    opened: list[str] = []
    real_connect = duckdb.connect

    def counting_connect(database=":memory:", *args, **kwargs):
        opened.append(str(database))
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting_connect)
    state = ingest_flow(paths=[str(samples_copy), str(night)], db=str(db), batch_files=1, return_state=True)
    assert state.is_completed(), state.message
    assert state.result().files_loaded == 5  # five batches of one file, each a load-batch task
    run_id = str(state.state_details.flow_run_id)
    assert opened.count(str(staging_path(db, run_id))) == 1  # at the stage; the loads and the publish reuse it
    assert report_count(db) == 10
    assert not staging_path(db, run_id).exists()


def test_a_run_that_fails_while_loading_closes_its_copy_and_deletes_it(tmp_path):
    db = tmp_path / "w.duckdb"

    def loads():
        yield process_batch(SAMPLE_PATHS)
        raise RuntimeError("the next batch could not be read")

    with pytest.raises(RuntimeError, match="could not be read"):
        load_and_publish(db, loads(), run=RunInfo("run-1"))
    copy = staging_path(db, "run-1")
    assert not copy.exists() and not db.exists()
    # DuckDB refuses a read-only connection to a file this process still holds open for writing.
    with connect(tmp_path / "other.duckdb"):
        pass
    os.replace(tmp_path / "other.duckdb", copy)
    with duckdb.connect(str(copy), read_only=True) as conn:
        assert conn.execute("select count(*) from reports").fetchall() == [(0,)]


#: `flows.api.ingest` of argv[3] into argv[1] that stops for good once its first batch is loaded, its copy open.
STALLED_RUN = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from flows.api import Steps, ingest

    class StallAfterOneLoad(Steps):
        def load(self, staging, batch, run_id):
            super().load(staging, batch, run_id)
            Path(sys.argv[2]).touch()
            time.sleep(600)

    ingest([sys.argv[3]], sys.argv[1], batch_files=1, steps=StallAfterOneLoad())
""")


@pytest.mark.slow
def test_a_run_killed_with_its_copy_open_leaves_the_warehouse_as_it_was_and_the_next_run_deletes_the_copy(
        tmp_path, samples_copy):
    db = tmp_path / "w.duckdb"
    ingest([samples_copy], db)
    before = warehouse_state(db)
    night = tmp_path / "night"
    copy_samples_as(night / "agency-01", 1)
    loaded_one = tmp_path / "loaded-one-batch"
    run = subprocess.Popen([sys.executable, "-c", STALLED_RUN, str(db), str(loaded_one), str(night)], cwd=ROOT)
    try:
        wait_for(lambda: loaded_one.exists() or run.poll() is not None, 120, "the run's first load")
        assert run.poll() is None, "the run ended before its first load"
        [copy] = tmp_path.glob(".w.duckdb.*.loading")
        assert os.path.exists(f"{copy}.wal")  # the loaded batch lives in the open copy's log
    finally:
        run.kill()
        run.wait()
    assert warehouse_state(db) == before
    summary = ingest([samples_copy, night], db)
    assert (summary.files_loaded, summary.files_unchanged) == (5, 5)
    # no copy and no log left; the run lock and the plan's index of file hashes stay beside the warehouse
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".w.duckdb")) == [
        ".w.duckdb.hashes", ".w.duckdb.run.lock"]
    assert report_count(db) == 10


def test_the_publish_starts_from_the_loads_checkpointed(tmp_path):
    """The loads' rows wait in the run's log (and in DuckDB's memory) until a checkpoint: `publishing` writes
    them to the copy before the refresh, so that the refresh has DuckDB's memory to itself."""
    db = tmp_path / "w.duckdb"
    staging = stage(db, "run-1")
    load_into(staging, process_batch(SAMPLE_PATHS), "run-1")
    log = f"{staging.path}.wal"
    logged = os.path.getsize(log)
    with publishing(staging) as conn:
        after = os.path.getsize(log) if os.path.exists(log) else 0
        reports = conn.execute("select count(*) from reports").fetchone()[0]
    publish(staging)
    assert logged > 100_000 and after == 0
    assert reports == report_count(db) == len(SAMPLE_PATHS)


def fsst_columns(db) -> list[tuple[str, str]]:
    """(table, column) of every column that has a segment stored with FSST compression."""
    with connect(db, read_only=True) as conn:
        tables = [row[0] for row in conn.execute("select table_name from duckdb_tables() where schema_name = 'main'").fetchall()]
        return sorted((table, column) for table in tables for (column,) in conn.execute(
            f"select distinct column_name from pragma_storage_info('{table}') where compression = 'FSST'").fetchall())


def test_the_copy_is_written_without_fsst_and_holds_the_same_rows(tmp_path, monkeypatch):
    """DuckDB's FSST analysis cost more CPU than it saved space (warehouse/staging.py): the copy's connection
    disables it, and the rows are those a copy written with every compression holds."""
    with_fsst = tmp_path / "with-fsst.duckdb"
    monkeypatch.setattr(staging, "COPY_DISABLED_COMPRESSION", "")
    ingest([SAMPLES], with_fsst)
    monkeypatch.undo()
    without = tmp_path / "without-fsst.duckdb"
    ingest([SAMPLES], without)
    assert ("facts", "unit") in fsst_columns(with_fsst)  # the samples do pick FSST when it is allowed
    assert fsst_columns(without) == []
    assert warehouse_state(without) == warehouse_state(with_fsst)
    for table in ("changes", "metrics", "requests_wide_cells", "requests_by_row_cells"):
        with connect(with_fsst, read_only=True) as a, connect(without, read_only=True) as b:
            sql = f"select * from {table} order by all"
            assert b.execute(sql).fetchall() == a.execute(sql).fetchall()

