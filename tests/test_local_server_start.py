"""How nianbao's local Prefect server starts cheaply: a new database made from the SQL Prefect's migrations
leave (any other database migrated by a forked child the way Prefect migrates it), Prefect's own start-up
told what not to do again, block types registered once no command uses the server, and `nianbao ingest`
starting the server before it checks its usage."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows import local_server
from flows.cli import app
from flows.local_server import LEASES, LOG_FILE, LocalServer, ServerState, read_state
from flows.prefect_schema import SCHEMA_FILE, VERSION_LINE, migrate_with_prefect, schema_version
from flows.server_process import AfterStartup, settings_for_the_start_up
from tests.conftest import ROOT, SAMPLES
from tests.processes import wait_for
from tests.test_local_server import STARTING, api_post, nianbao
from tests.test_prefect_schema import portrait


def test_prefect_is_told_to_skip_what_the_server_does_itself():
    from prefect.settings import (
        PREFECT_API_BLOCKS_REGISTER_ON_START,
        PREFECT_API_DATABASE_MIGRATE_ON_START,
        PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION,
        temporary_settings,
    )

    with temporary_settings(updates={PREFECT_API_BLOCKS_REGISTER_ON_START: True}):
        assert settings_for_the_start_up(migrated=True) == {
            PREFECT_API_DATABASE_MIGRATE_ON_START: False, PREFECT_API_BLOCKS_REGISTER_ON_START: False,
            PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION: False}
    with temporary_settings(updates={PREFECT_API_BLOCKS_REGISTER_ON_START: False}):  # the user's choice stays
        assert settings_for_the_start_up(migrated=True) == {PREFECT_API_DATABASE_MIGRATE_ON_START: False}
        assert settings_for_the_start_up(migrated=False) == {}


def test_the_task_after_startup_starts_once_the_app_has_started_and_not_for_requests():
    events: list[str] = []

    async def app(scope, receive, send):
        events.append(f"app {scope['type']}")
        if scope["type"] == "lifespan":
            await send({"type": "lifespan.startup.complete"})

    async def task():
        events.append("task")

    async def sent(message):
        events.append(message["type"])

    async def run() -> None:
        wrapped = AfterStartup(app, task)
        await wrapped({"type": "http"}, None, sent)
        assert wrapped.running is None
        await wrapped({"type": "lifespan"}, None, sent)
        assert wrapped.running is not None
        await wrapped.running

    asyncio.run(run())
    assert events == ["app http", "app lifespan", "lifespan.startup.complete", "task"]


@pytest.fixture
def fake_start(tmp_path, monkeypatch) -> tuple[Path, list[LocalServer]]:
    """find_or_start taking its lease as the real one does, without starting a server; the servers it gave."""
    directory = tmp_path / "nianbao-server"
    (directory / LEASES).mkdir(parents=True)
    started: list[LocalServer] = []

    def find_or_start(announce=None):
        local_server.take_lease(directory)
        started.append(LocalServer(ServerState(pid=1, port=1, uid=os.getuid(), prefect_home=str(tmp_path),
                                               idle_seconds=60.0, started_at=0.0), directory, started=True))
        return started[-1]

    monkeypatch.setattr(local_server, "api_url_set_elsewhere", lambda: False)
    monkeypatch.setattr(local_server, "find_or_start", find_or_start)
    return directory, started


def test_an_ingest_refused_for_its_dask_options_started_the_server_first_and_drops_its_lease(tmp_path, fake_start):
    """The server boots while the command checks Dask (importing it); a refused command leaves it to the next one."""
    directory, started = fake_start
    result = CliRunner().invoke(app, ["ingest", "--dask-address", "tls://127.0.0.1:8786",
                                      "--db", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2, result.output
    assert "only tcp:// scheduler addresses are supported" in result.output
    assert len(started) == 1
    assert list((directory / LEASES).iterdir()) == []


def test_a_bad_sources_file_or_warehouse_starts_no_server(tmp_path, fake_start):
    _, started = fake_start
    sources = tmp_path / "sources.toml"
    sources.write_text("[[sources]\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["ingest", "--sources", str(sources), "--db", str(tmp_path / "w.duckdb")]).exit_code == 2
    not_a_warehouse = tmp_path / "notes.duckdb"
    not_a_warehouse.write_text("not a database", encoding="utf-8")
    assert CliRunner().invoke(app, ["ingest", str(SAMPLES), "--db", str(not_a_warehouse)]).exit_code == 2
    assert started == []


MIGRATE_IN_A_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from flows.server_process import migrate_alongside
    wait = migrate_alongside(Path(sys.argv[1]))
    print("child cpu", wait())
""")
CREATED = "created Prefect's database from "
FORKED = "migrating Prefect's database in a child process (forked after"


def _run(script: str, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "PREFECT_SERVER_DATABASE"))}
    environment |= {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **env}
    return subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=600)


def test_a_new_database_is_made_from_the_schema_file_unless_migrations_are_off(tmp_path):
    made = _run(MIGRATE_IN_A_CHILD, tmp_path / "made", str(SCHEMA_FILE))
    assert made.returncode == 0, made.stderr
    assert f"{CREATED}{SCHEMA_FILE.name} (Prefect " in made.stdout and FORKED not in made.stdout
    assert made.stdout.rstrip().endswith("child cpu 0.0")  # Prefect's start-up is told not to migrate
    with sqlite3.connect(tmp_path / "made" / "prefect.db") as conn:
        assert conn.execute("pragma journal_mode").fetchone() == ("wal",)
        assert conn.execute("select count(*) from sqlite_master where type = 'table'").fetchone()[0] > 30
    off = _run(MIGRATE_IN_A_CHILD, tmp_path / "off", str(SCHEMA_FILE), PREFECT_SERVER_DATABASE_MIGRATE_ON_START="false")
    assert off.returncode == 0, off.stderr
    assert off.stdout.rstrip().endswith("child cpu None") and CREATED not in off.stdout
    assert not (tmp_path / "off" / "prefect.db").exists()


@pytest.mark.slow
def test_another_prefect_version_or_an_existing_database_is_migrated_by_the_forked_child(tmp_path):
    """The fallback: Prefect's own migrations in the child, giving the database they give in Prefect."""
    other_version = tmp_path / "schema-of-another-prefect.sql"
    other_version.write_text(VERSION_LINE.sub("-- Prefect 0.0.1 ", SCHEMA_FILE.read_text(), count=1))
    ours, prefects = tmp_path / "ours", tmp_path / "prefects" / "prefect.db"
    run = _run(MIGRATE_IN_A_CHILD, ours, str(other_version))
    assert run.returncode == 0, run.stderr
    assert FORKED in run.stdout and CREATED not in run.stdout
    assert float(run.stdout.split("child cpu")[1]) > 0.0  # the work was the child's, reaped by the parent
    prefects.parent.mkdir()
    migrate_with_prefect(prefects)
    assert portrait(ours / "prefect.db") == portrait(prefects)
    again = _run(MIGRATE_IN_A_CHILD, ours, str(SCHEMA_FILE))  # the right version, but the database exists
    assert again.returncode == 0, again.stderr
    assert FORKED in again.stdout and CREATED not in again.stdout


def _get(port: int, path: str) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("content-type") or "", response.read()
    finally:
        connection.close()


@pytest.mark.slow
def test_the_first_start_on_a_new_prefect_home_makes_the_database_from_the_file_and_serves_runs_and_the_ui(tmp_path):
    from prefect.client.schemas.objects import TERMINAL_STATES

    final = {state_type.value for state_type in TERMINAL_STATES}
    home = tmp_path / "prefect"
    run = nianbao(home, "ingest", str(SAMPLES), "--db", str(tmp_path / "w.duckdb"))
    try:
        assert run.returncode == 0, run.stderr
        assert STARTING in run.stderr
        state = read_state(home.resolve() / "nianbao-server")
        assert state is not None
        log = (home / "nianbao-server" / LOG_FILE).read_text()
        assert f"{CREATED}{SCHEMA_FILE.name} (Prefect " in log and FORKED not in log
        runs = api_post(state, "/flow_runs/filter", {})
        assert [(flow_run["state_type"], flow_run["state_name"]) for flow_run in runs] == [("COMPLETED", "Completed")]
        # A task run's states reach the API as events, a moment after the command exits: wait until each is final.
        tasks = wait_for(lambda: (found := api_post(state, "/task_runs/filter", {}))
                         and all(task["state_type"] in final for task in found) and found,
                         60, "the task runs' final states")
        assert {task["state_type"] for task in tasks} == {"COMPLETED"}
        status, content_type, body = _get(state.port, "/")  # the UI
        assert status == 200 and content_type.startswith("text/html") and b"<html" in body.lower()
        status, _, body = _get(state.port, "/api/admin/version")
        assert status == 200 and json.loads(body) == schema_version()
        with sqlite3.connect(home / "prefect.db") as conn:
            assert conn.execute("pragma journal_mode").fetchone() == ("wal",)
    finally:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PREFECT_HOME", str(home))
            local_server.stop()


@pytest.mark.slow
def test_a_database_that_cannot_be_migrated_fails_the_command_with_the_reason(tmp_path):
    """The child's traceback and the server's exit reach the user through the server's log."""
    home = tmp_path / "prefect"
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("")
    url = f"sqlite+aiosqlite:///{not_a_directory}/prefect.db"
    run = nianbao(home, "ingest", str(SAMPLES), "--db", str(tmp_path / "w.duckdb"),
                  PREFECT_SERVER_DATABASE_CONNECTION_URL=url)
    try:
        assert run.returncode == 1, run.stderr
        assert "nianbao ingest failed: nianbao's local Prefect server" in " ".join(run.stderr.split())
        assert "exited while starting" in run.stderr
        assert "migrating Prefect's database failed (exit status 1); its traceback is above" in run.stderr
    finally:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PREFECT_HOME", str(home))
            local_server.stop()
