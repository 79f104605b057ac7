"""Other processes a test needs: a writer holding the warehouse's lock, a writer killed before its checkpoint, a
reader in a loop, a Prefect server."""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

_HOLDER = textwrap.dedent("""
    import sys, time, duckdb
    sys.stdin.readline()                      # "lock"
    while True:
        try:
            conn = duckdb.connect(sys.argv[1])
            break
        except duckdb.IOException:            # a reader or nianbao's copy holds it for a moment
            time.sleep(0.005)
    print("locked", flush=True)
    sys.stdin.readline()                      # "release", or the test going away
    conn.close()
    print("released", flush=True)
""")

_KILLED_WRITER = textwrap.dedent("""
    import os, sys, duckdb
    conn = duckdb.connect(sys.argv[1])
    conn.execute("set checkpoint_threshold = '1GB'")
    conn.execute("insert into runs (run_id, started_at, status) values (?, now(), 'completed')", [sys.argv[2]])
    os._exit(0)  # killed: the insert lives only in the log
""")

_READER = textwrap.dedent("""
    import json, sys, time, duckdb
    path, out = sys.argv[1], open(sys.argv[2], "w")
    while True:
        try:
            with duckdb.connect(path, read_only=True) as conn:
                answer = conn.execute(
                    "select (select count(*) from reports), (select count(*) from facts), "
                    "(select coalesce(sum(value), 0) from facts), (select count(*) from ingest_files)"
                ).fetchone()
            out.write(json.dumps({"answer": list(answer)}) + "\\n")
        except Exception as exc:
            out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\\n")
        out.flush()
        time.sleep(0.01)
""")


class WriteLockHolder:
    """A process that opens the DuckDB file for writing when told to, as an analyst's `duckdb` shell does."""

    def __init__(self, db: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def lock(self) -> None:
        self._say("lock", expect="locked")

    def release(self) -> None:
        self._say("release", expect="released")
        self.process.wait(timeout=10)

    def _say(self, command: str, expect: str, timeout: float = 120) -> None:
        """Tell the holder `command` and read its one-line answer, which must be `expect`, within `timeout`."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        with selectors.DefaultSelector() as selector:  # the holder answers each command with one whole line
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise AssertionError(f"the write-lock holder (process {self.pid}) did not answer {command!r} "
                                     f"within {timeout} s")
        answer = self.process.stdout.readline().strip()
        assert answer == expect, (f"the write-lock holder (process {self.pid}) answered {command!r} with {answer!r}"
                                  f" (exit status {self.process.poll()})")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def killed_writer_recorded_run(db: Path, run_id: str) -> None:
    """A writer that recorded the run `run_id` in `db` and was killed before any checkpoint: the row is only
    in the file's log (.wal)."""
    subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(db), run_id], check=True)


class ReaderLoop:
    """A process that queries the warehouse read-only in a loop and writes every answer or error to a file."""

    def __init__(self, db: Path, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen([sys.executable, "-c", _READER, str(db), str(log)])

    def wait_for_records(self, count: int, timeout: float = 60) -> list[dict]:
        """Its records once there are `count` of them; fails at once if the reader died."""
        def enough() -> list[dict]:
            assert self.process.poll() is None, f"the reader loop exited with status {self.process.returncode}"
            records = self.records()
            return records if len(records) >= count else []

        return wait_for(enough, timeout, f"{count} answers of the reader loop", self.log)

    def records(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.endswith("}")]

    def stop(self) -> list[dict]:
        self.process.terminate()
        self.process.wait(timeout=10)
        return self.records()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    detail = f"\n--- {log} ---\n{log.read_text()[-5000:]}" if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")


class PrefectServer:
    """`prefect server start` on a free 127.0.0.1 port with all its services, as operations run it.

    Its scheduler looks every second instead of every minute, so that a test waits less for it.
    Its Prefect home (database, logs) is `home`; `nianbao serve` and other commands started by a
    test get its URL through env().
    """

    #: Minutes, not seconds: on a machine shared by many, its start (database migrations) has taken 3.
    START_TIMEOUT = 600

    def __init__(self, home: Path) -> None:
        """Starts the server; wait_until_healthy() waits for it to answer."""
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.log = home / "server.log"
        self.url = f"http://127.0.0.1:{free_port()}/api"
        env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
        env |= {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_SERVER_UI_ENABLED": "false", "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1"}
        port = self.url.rsplit(":", 1)[1].split("/")[0]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).with_name("prefect")), "server", "start", "--host", "127.0.0.1",
                 "--port", port], env=env, stdout=out, stderr=subprocess.STDOUT,
            )

    def wait_until_healthy(self) -> None:
        try:
            wait_for(self._healthy, self.START_TIMEOUT, "prefect server start", self.log)
        except BaseException:
            self.stop()
            raise

    def _healthy(self) -> bool:
        assert self.process.poll() is None, f"prefect server exited:\n{self.log.read_text()[-5000:]}"
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    @contextmanager
    def client(self):
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.url}), get_client(sync_client=True) as client:
            yield client

    def env(self, home: Path) -> dict[str, str]:
        """The environment of a command run against this server, with a Prefect home of its own."""
        return {
            **os.environ,
            "PREFECT_API_URL": self.url,
            "PREFECT_HOME": str(home),
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
