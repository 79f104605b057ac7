"""Other processes a test needs around the warehouse: a writer holding its lock, a reader in a loop."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
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

    def _say(self, command: str, expect: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == expect

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class ReaderLoop:
    """A process that queries the warehouse read-only in a loop and writes every answer or error to a file."""

    def __init__(self, db: Path, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen([sys.executable, "-c", _READER, str(db), str(log)])

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
