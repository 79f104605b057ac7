"""Operational promises, each tried the way it fails in the world: real DuckDB files and processes.

A failed file stays failed; duplicates are one report; an operator can exclude a file; a file
that breaks after loading flags its report; readers never get a lock error, even with a crashed
writer's log beside the warehouse; an empty or foreign DuckDB file at --db; one nianbao run at a
time; copies left by killed runs are cleaned up; the shared local Prefect server outlives a killed run.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.ingest import ingest_flow
from tests.conftest import BAD_FIXTURES, ROOT, SAMPLES, copy_samples_as
from tests.processes import ReaderLoop, killed_writer_recorded_run, wait_for
from warehouse.run_lock import run_lock

runner = CliRunner()
FIRST_SAMPLE = sorted(SAMPLES.glob("*.txt"))[0]


def ingest(*args: str):
    return runner.invoke(app, ["ingest", *args], catch_exceptions=False)


def query(db: Path, sql: str):
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def flat(output: str) -> str:
    return " ".join(output.split())


@pytest.mark.usefixtures("prefect_server")
class TestAFailedFileStaysFailed:
    def test_an_unchanged_failed_file_fails_every_run_without_being_read_again(self, tmp_path, samples_copy):
        shutil.copy(BAD_FIXTURES / "not_a_report.html", samples_copy / "news.html")
        db = tmp_path / "w.duckdb"
        first = ingest(str(samples_copy), "--db", str(db))
        assert first.exit_code == 1
        failed_at = query(db, "select updated_at from ingest_files where status = 'failed'")
        second = ingest(str(samples_copy), "--db", str(db))
        assert second.exit_code == 1
        assert "1 file failed, 1 of them unchanged since they failed" in flat(second.output)
        assert "news.html: no statistical table of an annual report found" in flat(second.output)
        assert f"(still failing, unchanged since {failed_at[0][0]:%Y-%m-%d %H:%M})" in flat(second.output)
        assert query(db, "select updated_at from ingest_files where status = 'failed'") == failed_at  # not re-read
        assert query(db, "select status, files_failed, files_unchanged from runs order by started_at") == [
            ("failed", 1, 0), ("failed", 1, 5)
        ]

    def test_the_flow_run_of_a_night_with_only_old_failures_is_failed_with_them_in_its_artifact(self, tmp_path,
                                                                                                  samples_copy):
        from prefect.artifacts import Artifact

        shutil.copy(BAD_FIXTURES / "empty.html", samples_copy / "empty.html")
        db = str(tmp_path / "w.duckdb")
        assert ingest_flow(paths=[str(samples_copy)], db=db, return_state=True).is_failed()
        state = ingest_flow(paths=[str(samples_copy)], db=db, return_state=True)
        assert state.is_failed()
        assert state.message == "1 of 6 files failed"
        artifact = Artifact.get("nianbao-ingest-summary")
        assert str(artifact.flow_run_id) == str(state.state_details.flow_run_id)
        assert "| 6 | 0 | 0 | 5 | 0 | 1 | 1 | 0 | 0 | 0 | 0 |" in artifact.data
        assert "empty.html: the file is empty (0 bytes) (still failing, unchanged since" in artifact.data

    def test_an_excluded_file_is_ignored_not_failed(self, tmp_path, samples_copy):
        shutil.copy(BAD_FIXTURES / "not_a_report.html", samples_copy / "news.html")
        db = tmp_path / "w.duckdb"
        assert ingest(str(samples_copy), "--db", str(db)).exit_code == 1
        result = ingest(str(samples_copy), "--db", str(db), "--exclude", "news.*")
        assert result.exit_code == 0, result.output
        assert query(db, "select status, reason, error from ingest_files where path like '%news.html'") == [
            ("ignored", "excluded", f"{samples_copy / 'news.html'}: ignored, excluded by the pattern 'news.*'")
        ]
        assert query(db, "select status, files_failed, files_ignored from runs order by started_at desc limit 1") == [
            ("completed", 0, 1)
        ]

    def test_the_sources_file_can_exclude_files(self, tmp_path, samples_copy):
        (samples_copy / "drafts").mkdir()
        shutil.copy(BAD_FIXTURES / "empty.html", samples_copy / "drafts" / "empty.html")
        sources = tmp_path / "sources.toml"
        sources.write_text('exclude = ["drafts/*"]\n[[sources]]\npath = "reports"\n', encoding="utf-8")
        db = tmp_path / "w.duckdb"
        result = ingest("--sources", str(sources), "--db", str(db))
        assert result.exit_code == 0, result.output
        assert query(db, "select status, count(*) from ingest_files group by all order by all") == [
            ("ignored", 1), ("loaded", 5)
        ]


@pytest.mark.usefixtures("prefect_server")
class TestWhatTheWarehouseSays:
    @pytest.mark.slow
    def test_the_same_bytes_at_two_paths_are_one_report_with_both_paths_recorded(self, tmp_path, samples_copy):
        copy = samples_copy / "mirror" / "copy-of-first.txt"
        copy.parent.mkdir()
        shutil.copy(samples_copy / FIRST_SAMPLE.name, copy)
        db = tmp_path / "w.duckdb"
        result = ingest(str(samples_copy), "--db", str(db))
        assert result.exit_code == 0, result.output
        assert query(db, "select count(*), count(distinct sha256) from reports") == [(5, 5)]
        original = str(samples_copy / FIRST_SAMPLE.name)
        report_id = query(db, f"select report_id from ingest_files where path = '{original}'")[0][0]
        assert query(db, f"select path, status from report_sources where report_id = '{report_id}' order by path") == [
            (original, "loaded"), (str(copy), "duplicate")
        ]
        # A third copy in a later run is a duplicate of the report already loaded, not a new one.
        later = tmp_path / "later"
        later.mkdir()
        shutil.copy(FIRST_SAMPLE, later / "again.txt")
        assert ingest(str(later), "--db", str(db)).exit_code == 0
        assert query(db, "select count(*) from reports") == [(5,)]
        assert query(db, f"select status, report_id from ingest_files where path = '{later / 'again.txt'}'") == [
            ("duplicate", report_id)
        ]

    @pytest.mark.slow
    def test_a_loaded_file_that_now_fails_keeps_its_report_flagged_as_failing(self, tmp_path, samples_copy):
        db = tmp_path / "w.duckdb"
        assert ingest(str(samples_copy), "--db", str(db)).exit_code == 0
        report = samples_copy / FIRST_SAMPLE.name
        report.write_bytes(report.read_bytes()[:2000])  # the file is replaced by a cut-off copy
        assert ingest(str(samples_copy), "--db", str(db)).exit_code == 1
        rows = query(db, "select r.source_status, r.source_error, i.status, i.report_id = r.report_id "
                         f"from reports r join ingest_files i on i.path = r.source_path where i.path = '{report}'")
        assert len(rows) == 1
        status, error, file_status, same_report = rows[0]
        assert (status, file_status, same_report) == ("failing", "failed", True)
        assert error.startswith(f"{report}: ")
        assert query(db, "select count(*) from reports where source_status = 'current'") == [(4,)]
        shutil.copy(FIRST_SAMPLE, report)  # fixed again: the report is current again
        assert ingest(str(samples_copy), "--db", str(db)).exit_code == 0
        assert query(db, "select count(*) from reports where source_status = 'current'") == [(5,)]

    def test_every_attempt_of_a_flow_run_keeps_its_runs_row(self, tmp_path):
        from warehouse.store import connect, record_run

        db = tmp_path / "w.duckdb"
        counts = dict.fromkeys(("files_seen", "files_loaded", "files_unchanged", "files_failed", "files_ignored",
                                "files_duplicate", "facts_loaded", "checks_failed", "sources_failed"), 0)
        with connect(db) as conn:
            from datetime import datetime
            record_run(conn, "run-1", 1, "night", datetime.now(), "failed", counts | {"files_failed": 1})
            record_run(conn, "run-1", 2, "night", datetime.now(), "failed", counts | {"files_failed": 1})
        assert query(db, "select attempt, status, files_failed from runs order by attempt") == [
            (1, "failed", 1), (2, "failed", 1)
        ]


@pytest.mark.usefixtures("prefect_server")
class TestTheWarehouseFile:
    def test_an_empty_duckdb_file_is_taken_as_a_new_warehouse(self, tmp_path, samples_copy):
        db = tmp_path / "w.duckdb"
        duckdb.connect(str(db)).close()  # what `duckdb w.duckdb` leaves before the first ingest
        result = ingest(str(samples_copy), "--db", str(db))
        assert result.exit_code == 0, result.output
        assert query(db, "select count(*) from reports") == [(5,)]

    def test_a_zero_byte_file_is_taken_as_a_new_warehouse(self, tmp_path, samples_copy):
        db = tmp_path / "w.duckdb"
        db.touch()
        result = ingest(str(samples_copy), "--db", str(db))
        assert result.exit_code == 0, result.output
        assert query(db, "select count(*) from reports") == [(5,)]

    def test_a_duckdb_file_of_other_tables_is_refused_and_left_untouched(self, tmp_path, samples_copy):
        db = tmp_path / "sales.duckdb"
        with duckdb.connect(str(db)) as conn:
            conn.execute("create table orders as select 1 as id")
        before = db.read_bytes()
        result = ingest(str(samples_copy), "--db", str(db))
        assert result.exit_code == 2
        assert flat(result.output) == (
            f"error: {db} is a DuckDB file holding other tables (orders), not a nianbao warehouse; nianbao leaves it "
            "untouched. Give --db a new file name (it is created) or an existing nianbao warehouse."
        )
        assert db.read_bytes() == before

    def test_a_copy_left_by_a_killed_run_is_deleted_by_the_next_run(self, tmp_path, samples_copy):
        db = tmp_path / "w.duckdb"
        left = tmp_path / ".w.duckdb.0b5e-dead-run.loading"
        left.write_bytes(b"half a night")
        Path(f"{left}.wal").write_bytes(b"log")
        assert ingest(str(samples_copy), "--db", str(db)).exit_code == 0
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".w.duckdb")) == [
            ".w.duckdb.hashes", ".w.duckdb.run.lock"]

    @pytest.mark.slow
    def test_readers_get_no_lock_error_when_a_crashed_writer_left_its_log(self, tmp_path, samples_copy):
        db = tmp_path / "w.duckdb"
        assert ingest(str(samples_copy), "--db", str(db)).exit_code == 0
        killed_writer_recorded_run(db, "by-hand")
        assert Path(f"{db}.wal").exists()
        night = tmp_path / "night"
        for agency in range(40):
            copy_samples_as(night / f"agency-{agency:02d}", agency)
        reader = ReaderLoop(db, tmp_path / "reader.jsonl")
        try:
            wait_for(lambda: len(reader.records()) >= 3, 60, "the reader's first answers")
            state = ingest_flow(paths=[str(night)], db=str(db), batch_files=20, return_state=True)
            assert state.is_completed(), state.message
            time.sleep(0.3)
        finally:
            records = reader.stop()
        assert [r["error"] for r in records if "error" in r] == []
        assert not Path(f"{db}.wal").exists()
        assert query(db, "select count(*) from runs where run_id = 'by-hand'") == [(1,)]  # the log was kept
        assert query(db, "select count(*) from reports") == [(205,)]


@pytest.mark.usefixtures("prefect_server")
class TestOneRunAtATime:
    def test_a_run_waits_for_the_run_holding_the_warehouse_then_says_who(self, tmp_path, samples_copy):
        db = tmp_path / "w.duckdb"
        with run_lock(db, "the-other-run", "midnight-ingest"):
            state = ingest_flow(paths=[str(samples_copy)], db=str(db), run_lock_wait_seconds=1, return_state=True)
        assert state.is_failed()
        assert (f"is being loaded by another nianbao run (process {os.getpid()} on {os.uname().nodename}, "
                "flow run midnight-ingest (the-other-run), since") in state.message
        assert not db.exists()

    @pytest.mark.slow
    def test_a_second_run_goes_on_when_the_first_is_done(self, tmp_path, samples_copy):
        import threading

        db = tmp_path / "w.duckdb"
        held = threading.Event()
        release = threading.Event()

        def other_run() -> None:
            with run_lock(db, "the-other-run", "midnight-ingest"):
                held.set()
                release.wait(30)

        holder = threading.Thread(target=other_run)
        holder.start()
        assert held.wait(60)
        threading.Timer(2.0, release.set).start()
        started = time.monotonic()
        state = ingest_flow(paths=[str(samples_copy)], db=str(db), return_state=True)
        holder.join()
        assert state.is_completed(), state.message
        assert time.monotonic() - started >= 2.0
        assert query(db, "select count(*) from reports") == [(5,)]


@pytest.mark.slow
def test_a_killed_ingest_leaves_the_shared_local_server_running_and_its_lease_is_dropped(tmp_path):
    from flows import local_server

    home = (tmp_path / "prefect").resolve()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env |= {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    directory = home / "nianbao-server"
    db = tmp_path / "w.duckdb"
    # Another run holds the warehouse throughout: the ingest waits for it inside its flow, holding its lease,
    # however soon its server answers, until it is killed.
    with run_lock(db, "the-other-run", "midnight-ingest"):
        ingest_process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "ingest", str(SAMPLES), "--db", str(db)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        lease = directory / local_server.LEASES / str(ingest_process.pid)
        try:
            state = wait_for(lambda: local_server.read_state(directory) if directory.exists() else None, 60,
                             "the local server's state file")
            wait_for(lambda: local_server.answers(state.port), 300, "the local server to answer")
            assert ingest_process.poll() is None and lease.exists()
            ingest_process.send_signal(signal.SIGKILL)
            ingest_process.wait()
            wait_for(lambda: not lease.exists(), 30, "the server to drop the killed ingest's lease")
            assert local_server.is_running(state.pid)
            # Without a lease it may be registering Prefect's block types just then, and slow to answer.
            wait_for(lambda: local_server.answers(state.port, timeout=10), 60, "the local server to answer again")
        finally:
            ingest_process.kill()
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("PREFECT_HOME", str(home))
                local_server.stop()


@pytest.mark.usefixtures("prefect_server")
def test_a_crawl_source_that_reaches_none_of_its_start_urls_fails_the_run(tmp_path):
    from prefect.artifacts import Artifact

    from tests.fake_site import FakeGovSite, write_sources

    db = tmp_path / "w.duckdb"
    with FakeGovSite() as site:
        sources = write_sources(tmp_path, site)
        sources.write_text(sources.read_text().replace("/ndbg/index.html", "/ndbg/moved-away.html"), encoding="utf-8")
        result = runner.invoke(app, ["crawl", "--sources", str(sources), "--db", str(db)], catch_exceptions=False)
    assert result.exit_code == 1
    why = f"no start URL of source 'fake-gov' could be read: {site.root}/ndbg/moved-away.html failed (HTTP 404)"
    assert f"source reached nothing: fake-gov: {why}" in flat(result.output)
    assert "nianbao crawl" in result.output  # the summary's title says what ran
    artifact = Artifact.get("nianbao-ingest-summary")
    assert f"| fake-gov | {why} |" in artifact.data
    assert query(db, "select status, sources_failed from runs") == [("failed", 1)]


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.slow
def test_the_night_writes_its_charts_beside_the_warehouse_and_links_them_with_its_counts(tmp_path, samples_copy):
    from prefect.artifacts import Artifact

    db = tmp_path / "w.duckdb"
    state = ingest_flow(paths=[str(samples_copy)], db=str(db), write_report_page=True, return_state=True)
    assert state.is_completed(), state.message
    page = tmp_path / "w.report.html"
    assert "<title>政府信息公开工作年度报告 · 数据概览 · w.duckdb</title>" in page.read_text(encoding="utf-8")
    summary = Artifact.get("nianbao-ingest-summary")
    assert f"Charts of the warehouse: [{page}](file://{page})" in summary.data
    counts = Artifact.get("nianbao-ingest-counts")
    assert str(counts.flow_run_id) == str(state.state_details.flow_run_id)
    import json
    assert json.loads(counts.data) == [{
        "files_seen": 5, "files_loaded": 5, "files_unchanged": 0, "files_failed": 0, "files_ignored": 0,
        "files_duplicate": 0, "facts_loaded": 998, "checks_failed": 0, "sources_failed": 0,
    }]


def test_a_schema_2_warehouse_is_migrated_keeping_its_runs_and_reports():
    from warehouse.schema import SCHEMA_VERSION, ensure_schema

    conn = duckdb.connect(":memory:")
    conn.execute("""
        create table schema_info (schema_version integer not null);
        insert into schema_info values (2);
        create table reports (report_id varchar primary key, source_path varchar not null, source_url varchar,
            sha256 varchar not null, size_bytes bigint, agency varchar, year integer, title varchar,
            signature_date date, template_version varchar, requests_template_version varchar, encoding varchar,
            encoding_source varchar, declared_encoding varchar, reader varchar, parser_version varchar,
            run_id varchar, loaded_at timestamp);
        create table facts (report_id varchar not null, table_code varchar not null, item varchar not null,
            row_code varchar not null, col_code varchar not null, value double, value_kind varchar not null,
            unit varchar, raw_text varchar);
        create table ingest_files (path varchar primary key, sha256 varchar not null, size_bytes bigint,
            status varchar not null, reason varchar, error varchar, report_id varchar, parser_version varchar,
            run_id varchar, updated_at timestamp not null);
        create table runs (run_id varchar primary key, flow_run_name varchar, started_at timestamp not null,
            finished_at timestamp, status varchar not null, files_seen integer, files_loaded integer,
            files_unchanged integer, files_failed integer, facts_loaded bigint, checks_failed bigint);
        insert into reports (report_id, source_path, sha256, agency) values ('r1', 'a.txt', 'x', '某局');
        insert into runs values ('night-1', 'calm-owl', '2026-12-01 02:00', '2026-12-01 02:05', 'failed',
            6, 5, 0, 1, 998, 0);
    """)
    ensure_schema(conn)
    assert conn.execute("select schema_version from schema_info").fetchall() == [(SCHEMA_VERSION,)]
    assert conn.execute("select report_id, source_status from reports").fetchall() == [("r1", "current")]
    assert conn.execute("select run_id, attempt, status, files_seen, files_failed, files_ignored from runs").fetchall() == [
        ("night-1", 1, "failed", 6, 1, None)
    ]
    conn.execute("insert into runs (run_id, attempt, started_at, status) values ('night-1', 2, now(), 'failed')")
    assert conn.execute("select count(*) from runs").fetchall() == [(2,)]
    assert "confidence" in [row[0] for row in conn.execute("describe facts").fetchall()]
