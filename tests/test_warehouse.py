"""Loads are idempotent and atomic; failed files load nothing; a locked file says who holds it."""

from __future__ import annotations

import random

import polars as pl
import pytest

from flows.pipeline import process_batch
from tests.conftest import BAD_FIXTURES, SAMPLES
from tests.processes import WriteLockHolder
from warehouse.analyst import refresh_analyst_tables
from warehouse.store import WarehouseLocked, connect, load_batch

COUNTS = "select (select count(*) from reports), (select count(*) from facts), (select count(*) from checks)"


def counts(db) -> tuple[int, int, int]:
    with connect(db, read_only=True) as conn:
        return conn.execute(COUNTS).fetchone()


def test_loading_the_same_batch_twice_changes_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    batch = process_batch(sorted(str(p) for p in SAMPLES.glob("*.txt")))
    with connect(db) as conn:
        load_batch(conn, batch, "run-1")
        first = conn.execute("select * from facts order by all").fetchall()
        load_batch(conn, batch, "run-2")
        second = conn.execute("select * from facts order by all").fetchall()
    assert first == second
    assert counts(db) == (5, 998, batch.checks.height)


def test_a_changed_file_replaces_only_its_own_report(tmp_path, samples_copy):
    db = tmp_path / "w.duckdb"
    paths = sorted(str(p) for p in samples_copy.glob("*.txt"))
    with connect(db) as conn:
        load_batch(conn, process_batch(paths), "run-1")
    changed = samples_copy / "002_54cd1b08fa028caf.txt"
    changed.write_text(
        changed.read_text(encoding="utf-8").replace("一、本年新收政府信息公开申请数量\t\t14", "一、本年新收政府信息公开申请数量\t\t15"),
        encoding="utf-8",
    )
    with connect(db) as conn:
        load_batch(conn, process_batch([str(changed)]), "run-2")
        value = conn.execute(
            "select f.value from facts f join reports r using (report_id) "
            "where r.source_path like '%002_%' and row_code = 'new_received' and col_code = 'natural_person'"
        ).fetchone()[0]
        failed = conn.execute(
            "select rule, scope from checks where not passed order by all"
        ).fetchall()
    assert value == 15
    assert counts(db)[:2] == (5, 998)
    assert ("requests_balance", "natural_person") in failed
    assert ("requests_row_total", "new_received") in failed


def test_a_load_that_fails_midway_leaves_the_previous_state(tmp_path):
    db = tmp_path / "w.duckdb"
    batch = process_batch(sorted(str(p) for p in SAMPLES.glob("*.txt")))
    with connect(db) as conn:
        load_batch(conn, batch, "run-1")
    before = counts(db)
    broken = process_batch([str(SAMPLES / "002_54cd1b08fa028caf.txt")])
    broken.checks = broken.checks.with_columns(passed=pl.lit(None))  # the checks insert fails: passed is NOT NULL
    with connect(db) as conn, pytest.raises(Exception, match="(?i)not null"):
        load_batch(conn, broken, "run-2")
    assert counts(db) == before
    with connect(db, read_only=True) as conn:
        assert conn.execute("select distinct run_id from ingest_files").fetchall() == [("run-1",)]


def test_bad_files_are_recorded_with_their_reason_and_load_nothing(tmp_path):
    junk = tmp_path / "junk.html"
    rng = random.Random(3)
    junk.write_bytes(bytes(rng.getrandbits(8) for _ in range(8192)))
    paths = [str(BAD_FIXTURES / name) for name in ("empty.html", "not_a_report.html", "truncated_table_b.html")]
    batch = process_batch(paths + [str(junk)])
    db = tmp_path / "w.duckdb"
    with connect(db) as conn:
        load_batch(conn, batch, "run-1")
        files = dict(conn.execute("select reason, error from ingest_files where status = 'failed'").fetchall())
    assert counts(db) == (0, 0, 0)
    assert set(files) == {"empty_file", "not_a_report", "truncated_table", "undecodable"}
    assert files["empty_file"].endswith("empty.html: the file is empty (0 bytes)")
    assert "no statistical table" in files["not_a_report"]
    assert "收到和处理政府信息公开申请情况 is cut off" in files["truncated_table"]
    assert files["undecodable"].startswith(str(junk))


def test_a_locked_file_names_its_holder_and_what_to_do(tmp_path):
    db = tmp_path / "w.duckdb"
    with connect(db):
        pass
    holder = WriteLockHolder(db)
    try:
        holder.lock()
        with pytest.raises(WarehouseLocked) as error:
            with connect(db):
                pass
        assert f"process {holder.pid}" in str(error.value)
        assert "wait for that process" in str(error.value)
        holder.release()
    finally:
        holder.kill()
    with connect(db):
        pass


def test_views_answer_the_analysts_questions(tmp_path):
    db = tmp_path / "w.duckdb"
    with connect(db) as conn:
        load_batch(conn, process_batch(sorted(str(p) for p in SAMPLES.glob("*.txt"))), "run-1")
        refresh_analyst_tables(conn, "run-1")  # the publish writes the wide rows
        received = conn.execute(
            "select agency, new_received__total, denied_state_secret__total from requests_wide where year = 2023 order by agency"
        ).fetchall()
        labels = conn.execute(
            "select row_label_zh, row_label_en from cell_dictionary where row_code = 'denied.state_secret' limit 1"
        ).fetchone()
        by_row = conn.execute(
            "select natural_person, total from requests_by_row where agency = '平顶山市教育体育局' and row_code = 'granted'"
        ).fetchone()
    assert received == [("乌拉特中旗教育局", 0, 0), ("平顶山市教育体育局", 14, 0), ("繁峙县教育科技局", 0, 0)]
    assert labels == ("（三）不予公开 1.属于国家秘密", "(3) Not disclosed: 1. state secret")
    assert by_row == (7, 7)
