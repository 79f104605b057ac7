"""How long does a small `nianbao ingest` take, Prefect included? The start-up benchmark of issue 17.

Runs `nianbao ingest` as a user does: its own process, no PREFECT_API_URL, a throwaway PREFECT_HOME
(so the first run starts nianbao's local Prefect server on a new Prefect database, the slowest case: made
from flows/prefect_sqlite_schema.sql when the installed Prefect is its version, else migrated):
- first: the five bundled samples into a new warehouse, starting the server;
- warm: --repeats more five-file ingests into new warehouses, reusing it;
- unchanged: the same five files into the last warehouse again;
- restart: `nianbao server stop`, then five files into a new warehouse, starting the server again on
  the Prefect database the first run migrated (what a command pays after the idle timeout);
- with --reingest DIR: DIR ingested once (not timed), then --repeats unchanged re-ingests of it.
For each: wall seconds, CPU seconds of the ingest process and of the server over the run (the child
that migrates Prefect's database included), the flow run's own seconds (the runs table's
started_at..finished_at) and the load average when it started. For a run that started the server, its
log says when it answered and where its CPU went (the database made from the schema file, or the server
before the fork and the migrations in the child); the block registration it does once the first command
is over is reported apart. Also the
CPU seconds of the imports alone (`import flows.cli, flows.ingest`). The server is stopped at the end.

Run from the project root:  .venv/bin/python benchmarks/startup.py [--reingest DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.local_server import LOG_FILE, read_state  # noqa: E402
from warehouse.sql import one_row  # noqa: E402

SAMPLES = ROOT / "flows" / "samples"
TICKS = os.sysconf("SC_CLK_TCK")


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    return env | {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


SERVING = re.compile(r"started in ([0-9.]+) s: ([0-9.]+) CPU s here(?:, ([0-9.]+) in the child)?")
CREATED = re.compile(r"created Prefect's database from \S+ \(Prefect [^)]*\) in ([0-9.]+) CPU s")
FORKED = re.compile(r"forked after ([0-9.]+) CPU s")
BLOCKS = re.compile(r"registered Prefect's block types \(([0-9.]+) CPU s\)")


def process_cpu(pid: int | None) -> float:
    """CPU seconds of a process that is not our child (the server) and of the children it reaped (the
    migrations), 0 when there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0.0
    return sum(int(field) for field in fields[11:15]) / TICKS


def server_start(log: Path) -> dict:
    """What the server's log says about its start: seconds until it answered, its CPU seconds until then (in
    all; making the database from the schema file, or before the fork and in the child that migrated it)."""
    text = log.read_text(encoding="utf-8", errors="replace")
    serving, forked, created = SERVING.findall(text), FORKED.findall(text), CREATED.findall(text)
    if not serving:
        return {}
    wall, here, child = serving[-1]
    return {"server_answered_after_s": float(wall), "server_start_cpu_s": float(here),
            "database_from_schema_cpu_s": float(created[-1]) if created else None,
            "server_cpu_before_fork_s": float(forked[-1]) if forked else None,
            "migrations_cpu_s": float(child) if child else None}


def deferred_block_registration(log: Path, timeout: float = 120.0) -> float | None:
    """CPU seconds of the block registration the server does once the first command is over."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = BLOCKS.findall(log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return float(found[-1])
        time.sleep(0.5)
    return None


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def flow_seconds(db: Path) -> float:
    with duckdb.connect(str(db), read_only=True) as conn:
        started, finished = one_row(conn, "select started_at, finished_at from runs order by started_at desc limit 1")
    return (finished - started).total_seconds()


def timed(label: str, command: list[str], home: Path, db: Path) -> dict:
    """One command, with the CPU of the ingest process and of the server it talked to."""
    server_dir = home / "nianbao-server"
    before = read_state(server_dir) if server_dir.exists() else None
    server_before = process_cpu(before.pid if before else None)
    load = os.getloadavg()[0]
    cpu_before, started = children_cpu(), time.perf_counter()
    run = subprocess.run(command, cwd=ROOT, env=environment(home), capture_output=True, text=True)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"{label}: exit code {run.returncode}\n{run.stderr[-3000:]}")
    state = read_state(server_dir)
    if state is None:
        raise SystemExit(f"{label}: no local server is recorded in {server_dir} after the command")
    server_cpu = process_cpu(state.pid) - (server_before if before and before.pid == state.pid else 0.0)
    started_server = "starting nianbao's local Prefect server" in run.stderr
    return {"run": label, "wall_s": round(wall, 2), "ingest_cpu_s": round(children_cpu() - cpu_before, 2),
            "server_cpu_s": round(server_cpu, 2), "flow_s": round(flow_seconds(db), 2), "load_1min": load,
            "started_server": started_server} | (server_start(server_dir / LOG_FILE) if started_server else {})


def ingest_command(paths: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "flows.cli", "ingest", str(paths), "--db", str(db)]


def stop_command() -> list[str]:
    return [sys.executable, "-m", "flows.cli", "server", "stop"]


def import_cpu(home: Path) -> float:
    before = children_cpu()
    subprocess.run([sys.executable, "-c", "import flows.cli, flows.ingest"], cwd=ROOT, env=environment(home), check=True)
    return round(children_cpu() - before, 2)


def summary(rows: list[dict]) -> dict:
    keys = ("wall_s", "ingest_cpu_s", "server_cpu_s", "flow_s", "load_1min")
    return {key: {"min": min(r[key] for r in rows), "median": statistics.median(r[key] for r in rows)} for key in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reingest", type=Path, help="a corpus directory for the unchanged re-ingest")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nianbao-startup-"))
    home = work / "prefect"
    result: dict = {"load_before": os.getloadavg(), "cpus": os.cpu_count()}
    try:
        result["import_cpu_s"] = import_cpu(home)
        rows = [timed("first (starts the server)", ingest_command(SAMPLES, work / "w0.duckdb"), home, work / "w0.duckdb")]
        result["deferred_block_registration_cpu_s"] = deferred_block_registration(home / "nianbao-server" / LOG_FILE)
        for n in range(1, args.repeats + 1):
            db = work / f"w{n}.duckdb"
            rows.append(timed("warm, five new files", ingest_command(SAMPLES, db), home, db))
        for _ in range(args.repeats):
            rows.append(timed("warm, five unchanged files", ingest_command(SAMPLES, db), home, db))
        subprocess.run(stop_command(), cwd=ROOT, env=environment(home), check=True, capture_output=True)
        restart = work / "restart.duckdb"
        rows.append(timed("after `server stop` (starts it on a migrated database)", ingest_command(SAMPLES, restart),
                          home, restart))
        if args.reingest:
            big = work / "big.duckdb"
            timed("load the corpus (not a result)", ingest_command(args.reingest, big), home, big)
            for _ in range(args.repeats):
                rows.append(timed(f"unchanged re-ingest of {args.reingest}", ingest_command(args.reingest, big),
                                  home, big))
        result["runs"] = rows
        result["summary"] = {label: summary([r for r in rows if r["run"] == label])
                             for label in dict.fromkeys(r["run"] for r in rows)}
    finally:
        subprocess.run(stop_command(), cwd=ROOT, env=environment(home))
        result["load_after"] = os.getloadavg()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
