"""nianbao's local Prefect server: started once, found again by the next command, restarted when dead,
never shared with another user or another PREFECT_HOME, stopped when idle. Every server a test starts
is stopped by it."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows import local_server
from flows.cli import app
from flows.local_server import LEASES, LOG_FILE, STATE_FILE, ServerState, read_state, state_dir
from flows.server_process import BLOCKS_REGISTERED, Activity, idle_for, live_leases
from flows.settings import SERVER_IDLE_VARIABLE, server_idle_seconds
from tests.conftest import ROOT, SAMPLES
from tests.processes import wait_for

STARTING = "starting nianbao's local Prefect server (once"


@contextmanager
def prefect_home(home: Path) -> Iterator[Path]:
    """PREFECT_HOME for the calls this test makes in its own process."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_HOME", str(home))
        patch.delenv("PREFECT_API_URL", raising=False)
        yield home


def nianbao(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """A `nianbao` command as a user runs it: its own process, no PREFECT_API_URL, this PREFECT_HOME."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    environment |= {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **env}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=900)


def api_post(state: ServerState, path: str, body: dict) -> list[dict]:
    connection = http.client.HTTPConnection("127.0.0.1", state.port, timeout=30)
    try:
        connection.request("POST", f"/api{path}", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200, response.read()
        return json.loads(response.read())
    finally:
        connection.close()


def a_state(home: Path, **changes) -> ServerState:
    fields = dict(pid=os.getpid(), port=1, uid=os.getuid(), prefect_home=str(home.resolve()), idle_seconds=60.0,
                  started_at=0.0)
    return ServerState(**(fields | changes))


def write_state(directory: Path, state: ServerState) -> None:
    (directory / STATE_FILE).write_text(json.dumps(state.__dict__), encoding="utf-8")


class TestTheStateDirectory:
    def test_it_is_private_to_its_user_even_when_found_open(self, tmp_path):
        with prefect_home(tmp_path / "prefect"):
            directory = state_dir()
            assert directory == (tmp_path / "prefect" / "nianbao-server").resolve()
            assert directory.stat().st_mode & 0o777 == 0o700
            directory.chmod(0o755)
            state_dir()
            assert directory.stat().st_mode & 0o777 == 0o700

    def test_a_state_file_of_another_user_or_another_prefect_home_is_not_read(self, tmp_path):
        home = tmp_path / "prefect"
        with prefect_home(home):
            directory = state_dir()
            write_state(directory, a_state(home))
            assert read_state(directory) == a_state(home)
            write_state(directory, a_state(home, uid=os.getuid() + 1))
            assert read_state(directory) is None
            write_state(directory, a_state(tmp_path / "another-home"))
            assert read_state(directory) is None
            (directory / STATE_FILE).write_text("{half a", encoding="utf-8")
            assert read_state(directory) is None

    def test_only_a_live_nianbao_server_process_counts_as_running(self):
        assert not local_server.is_running(os.getpid())  # alive, but not a server: a reused PID
        lookalike = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "flows.server_process"])
        try:
            wait_for(lambda: local_server.is_running(lookalike.pid), 10, "its command line after exec")
        finally:
            lookalike.kill()
            lookalike.wait()
        assert not local_server.is_running(lookalike.pid)


class TestIdleness:
    def test_a_lease_of_a_dead_command_is_dropped_and_a_live_one_kept(self, tmp_path):
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        (tmp_path / str(dead.pid)).touch()
        (tmp_path / str(os.getpid())).touch()
        assert live_leases(tmp_path) == [os.getpid()]
        assert sorted(p.name for p in tmp_path.iterdir()) == [str(os.getpid())]

    def test_the_server_is_not_idle_while_a_command_holds_a_lease_or_a_request_is_open(self, tmp_path):
        activity = Activity(app=None)
        activity.last -= 100
        assert idle_for(activity, tmp_path) >= 100
        (tmp_path / str(os.getpid())).touch()
        assert idle_for(activity, tmp_path) == 0.0
        (tmp_path / str(os.getpid())).unlink()
        activity.open = 1
        assert idle_for(activity, tmp_path) == 0.0

    def test_the_idle_timeout_is_read_from_the_environment(self, monkeypatch):
        monkeypatch.delenv(SERVER_IDLE_VARIABLE, raising=False)
        assert server_idle_seconds() == 1800.0
        monkeypatch.setenv(SERVER_IDLE_VARIABLE, "2.5")
        assert server_idle_seconds() == 2.5
        monkeypatch.setenv(SERVER_IDLE_VARIABLE, "half an hour")
        with pytest.raises(ValueError, match="NIANBAO_SERVER_IDLE_SECONDS='half an hour' is not a number of seconds"):
            server_idle_seconds()


def test_prefect_api_url_in_the_environment_or_a_profile_wins(tmp_path, monkeypatch):
    """What a command checks before it has imported Prefect."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv("PREFECT_PROFILES_PATH", raising=False)
    assert not local_server.api_url_in_environment_or_profile()
    (tmp_path / "profiles.toml").write_text('active = "ops"\n[profiles.ops]\nPREFECT_API_URL = "http://ops:4200/api"\n')
    assert local_server.api_url_in_environment_or_profile()
    (tmp_path / "profiles.toml").unlink()
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert local_server.api_url_in_environment_or_profile()


def test_a_command_in_a_process_whose_prefect_has_an_api_url_starts_no_server(tmp_path, monkeypatch):
    """As under the test suite's Prefect harness: no server is started, none is left behind."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.cli import _local_server_started_early

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert local_server.api_url_set_elsewhere()
        assert _local_server_started_early() is None
    assert not (tmp_path / "nianbao-server").exists()


def test_status_and_stop_say_when_no_server_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    status = CliRunner().invoke(app, ["server", "status"])
    assert status.exit_code == 1
    assert " ".join(status.output.split()) == (
        f"not running (state in {tmp_path.resolve() / 'nianbao-server'}); the next `nianbao ingest` starts it")
    stop = CliRunner().invoke(app, ["server", "stop"])
    assert (stop.exit_code, stop.output) == (0, "not running\n")


@pytest.fixture(scope="module")
def running(tmp_path_factory) -> Iterator[tuple[Path, ServerState]]:
    """A home whose server the first ingest started; stopped at the end."""
    home = tmp_path_factory.mktemp("prefect-home")
    first = nianbao(home, "ingest", str(SAMPLES), "--db", str(home / "w.duckdb"))
    try:
        assert first.returncode == 0, first.stderr
        assert STARTING in first.stderr
        state = read_state(home.resolve() / "nianbao-server")
        assert state is not None and local_server.is_running(state.pid)
        yield home, state
    finally:
        with prefect_home(home):
            local_server.stop()


@pytest.mark.slow
class TestTheReusedServer:
    def test_a_second_ingest_finds_the_server_again_and_both_runs_are_flow_runs_in_it(self, running):
        home, state = running
        second = nianbao(home, "ingest", str(SAMPLES), "--db", str(home / "w.duckdb"))
        assert second.returncode == 0, second.stderr
        assert STARTING not in second.stderr
        assert read_state(home.resolve() / "nianbao-server") == state  # same process, same port
        runs = api_post(state, "/flow_runs/filter", {"sort": "START_TIME_ASC"})
        assert [(run["state_type"], run["state_name"]) for run in runs][:2] == [("COMPLETED", "Completed")] * 2
        status = nianbao(home, "server", "status")
        assert status.returncode == 0
        assert f"running, answering: process {state.pid}, UI {state.ui_url}," in " ".join(status.stdout.split())

    def test_the_new_database_was_made_from_the_schema_file_and_block_types_registered_once_the_command_ended(
            self, running):
        home, state = running
        directory = home.resolve() / "nianbao-server"
        log = directory / LOG_FILE
        # The server writes BLOCKS_REGISTERED, then says so in its log: the line is what is waited for.
        text = wait_for(lambda: "registered Prefect's block types (" in (logged := log.read_text()) and logged, 180,
                        "the block types to be registered", log)
        assert (directory / BLOCKS_REGISTERED).exists()
        assert "created Prefect's database from prefect_sqlite_schema.sql (Prefect " in text
        assert f"serving on 127.0.0.1:{state.port}, started in" in text
        assert text.count("registered Prefect's block types (") == 1
        block_types = {block_type["slug"] for block_type in api_post(state, "/block_types/filter", {})}
        assert {"secret", "local-file-system", "webhook"} <= block_types

    def test_a_state_file_copied_into_another_prefect_home_is_not_reused(self, running, tmp_path):
        home, state = running
        other = tmp_path / "other-home"
        with prefect_home(other):
            shutil.copy(home / "nianbao-server" / STATE_FILE, state_dir() / STATE_FILE)
            server = local_server.find_or_start()
            try:
                assert server.started and server.state.pid != state.pid
                assert server.state.prefect_home == str(other.resolve())
            finally:
                local_server.release_lease(server.directory)
                assert local_server.stop() == server.state
        assert local_server.is_running(state.pid)

    def test_a_state_file_of_another_user_is_not_reused_and_its_server_not_touched(self, running):
        home, state = running
        directory = home.resolve() / "nianbao-server"
        original = (directory / STATE_FILE).read_text()
        with prefect_home(home):
            write_state(directory, ServerState(**(state.__dict__ | {"uid": os.getuid() + 1})))
            server = local_server.find_or_start()
            try:
                assert server.started and server.state.pid != state.pid
            finally:
                local_server.release_lease(server.directory)
                assert local_server.stop() == server.state
                (directory / STATE_FILE).write_text(original)
        assert local_server.is_running(state.pid)


@pytest.mark.slow
def test_a_dead_server_is_started_again_and_the_new_one_stops_when_idle(tmp_path):
    home = tmp_path / "prefect"
    with prefect_home(home):
        first = local_server.wait_ready(local_server.find_or_start())
        local_server.release_lease(first.directory)
        try:
            os.kill(first.state.pid, signal.SIGKILL)
            wait_for(lambda: not local_server.is_running(first.state.pid), 10, "the killed server to die")
            run = nianbao(home, "ingest", str(SAMPLES), "--db", str(tmp_path / "w.duckdb"),
                          **{SERVER_IDLE_VARIABLE: "30"})
            assert run.returncode == 0, run.stderr
            assert STARTING in run.stderr
            second = read_state(first.directory)
            assert second is not None and second.pid != first.state.pid and second.idle_seconds == 30.0
            assert local_server.is_running(second.pid)
            wait_for(lambda: not local_server.is_running(second.pid), 180, "the idle server to stop by itself")
            assert not (first.directory / STATE_FILE).exists()
            assert list((first.directory / LEASES).iterdir()) == []
        finally:
            local_server.stop()
