"""Does extraction scale with Dask workers? files/s of `nianbao ingest --workers N` on one corpus.

Generates a corpus with known numbers (corpus.synth), or takes one, then runs
`nianbao ingest CORPUS --workers N` for each N (and, with --local, the default run on the
flow's own threads), each in a subprocess on a fresh warehouse and a fresh result storage, so
that no run is served another's cached batches. A Prefect server is started first and shared,
so that its start-up is in no figure.

Two figures per run: files/s over the flow run (the runs table's started_at..finished_at: the
local Dask cluster's start-up, Prefect's task overhead and the DuckDB load included; process
start-up not) and over the whole `nianbao ingest` process. The machine's cores are printed
with them: N workers cannot go faster than the cores they share with the flow and the server.

With --serial it measures instead, in this process and without Prefect, what a run does outside the
workers: one worker's extraction of each batch (`process_batch`, CPU seconds), and the flow process's
steps as its tasks run them: the stage (copy --base, a warehouse the size the loads will meet, empty by
default, and open the run's connection to the copy), the load of each batch (`load_into`, on that one
connection), and the publish (`refresh_analyst_tables`, closing the connection, which checkpoints the
copy, and the rename). A batch is pickled after its extraction and unpickled before its load, as when
it travels from a worker. From them it prints the Amdahl throughput of N workers: a run of F files takes
serial + extraction / N, where serial is the stage, every load and the publish, and each worker task
also pays --task-overhead seconds (Prefect on a Dask worker).

Run from the project root:  .venv/bin/python benchmarks/dask_scaling.py --count 2000
                            .venv/bin/python benchmarks/dask_scaling.py --serial --count 2000 --base W.duckdb
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from corpus.synth import generate  # noqa: E402
from flows.pipeline import process_batch  # noqa: E402
from flows.publish import load_into  # noqa: E402
from warehouse.analyst import refresh_analyst_tables  # noqa: E402
from warehouse.sql import one_row, scalar  # noqa: E402
from warehouse.staging import Staging, loading, publish, stage  # noqa: E402

BIN = Path(sys.executable).parent
SERVER_START_TIMEOUT = 180
#: The flow's batches: at most this many bytes and files (flows/ingest.py's defaults).
BATCH_BYTES = 16 * 1024 * 1024
BATCH_FILES = 500
#: Worker counts the Amdahl figures are given for.
AMDAHL_WORKERS = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class Run:
    label: str
    files: int
    flow_seconds: float
    process_seconds: float

    def line(self) -> str:
        return (f"{self.label:<14} {self.files:>6} files  flow run {self.flow_seconds:7.1f} s "
                f"{self.files / self.flow_seconds:7.1f} files/s  process {self.process_seconds:7.1f} s "
                f"{self.files / self.process_seconds:7.1f} files/s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """A Prefect server of this benchmark's own, so that no run pays for starting one."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    with (home / "server.log").open("w") as log:
        server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def ingest(corpus: Path, work: Path, api_url: str, label: str, options: list[str], batch_mb: int) -> Run:
    """One `nianbao ingest` on a fresh warehouse and result storage; its times from the runs table and the clock."""
    run_dir = work / label.replace(" ", "-")
    run_dir.mkdir()
    db = run_dir / "warehouse.duckdb"
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_HOME": str(work / "prefect-home"),
           "PREFECT_LOCAL_STORAGE_PATH": str(run_dir / "results"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    started = time.perf_counter()
    with (run_dir / "ingest.log").open("w") as log:
        code = subprocess.call([str(BIN / "nianbao"), "ingest", str(corpus), "--db", str(db), "--batch-mb", str(batch_mb),
                                *options], env=env, cwd=run_dir, stdout=log, stderr=subprocess.STDOUT)
    process_seconds = time.perf_counter() - started
    if code not in (0, 1):
        raise RuntimeError(f"{label}: nianbao ingest exited {code}; see {run_dir / 'ingest.log'}")
    with duckdb.connect(str(db), read_only=True) as conn:
        files, seconds = one_row(
            conn, "select files_seen, epoch(finished_at - started_at) from runs order by started_at desc limit 1")
    return Run(label, files, seconds, process_seconds)


def cut_batches(paths: list[Path]) -> list[list[Path]]:
    """Batches as the flow cuts them: at most BATCH_BYTES and BATCH_FILES each, in path order."""
    out: list[list[Path]] = [[]]
    size = 0
    for path in sorted(paths):
        if out[-1] and (size + path.stat().st_size > BATCH_BYTES or len(out[-1]) >= BATCH_FILES):
            out.append([])
            size = 0
        out[-1].append(path)
        size += path.stat().st_size
    return [batch for batch in out if batch]


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu: float


def _timed(work: Callable[[], T]) -> tuple[T, Timed]:
    started, started_cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, Timed(time.perf_counter() - started, time.process_time() - started_cpu)


def _shipped_batch(batch: list[Path]) -> bytes:
    """What a Dask worker does: extract, then pickle the batch to send it (the wide rows are pivoted then)."""
    return pickle.dumps(process_batch([str(p) for p in batch]))


def _load_shipped(staging: Staging, shipped: bytes, run_id: str) -> None:
    """What the flow process does with a batch: unpickle it and load it into the run's copy (the load-batch task)."""
    load_into(staging, pickle.loads(shipped), run_id)


def serial_part(corpus: Path, work: Path, base: Path | None, task_overhead: float) -> None:
    """Extraction per batch against the flow process's stage, loads and publish; Amdahl for AMDAHL_WORKERS."""
    files = [p for p in corpus.rglob("*") if p.is_file() and p.suffix in {".txt", ".html", ".htm", ".docx", ".pdf"}]
    batches = cut_batches(files)
    db = work / "warehouse.duckdb"
    if base is not None:
        shutil.copyfile(base, db)
    run_id = "serial-bench"
    extracted: list[Timed] = []
    loads: list[Timed] = []
    staging, staged = _timed(lambda: stage(db, run_id))
    for batch in batches:
        shipped, timed = _timed(partial(_shipped_batch, batch))
        extracted.append(timed)
        loads.append(_timed(partial(_load_shipped, staging, shipped, run_id))[1])
    with loading(staging) as conn:
        duckdb_mb = scalar(conn, "select sum(memory_usage_bytes) from duckdb_memory()") / 1e6

    def checkpoint() -> None:
        with loading(staging) as conn:
            conn.execute("checkpoint")

    def publish_run() -> None:
        with loading(staging) as conn:
            refresh_analyst_tables(conn, run_id)
        publish(staging)  # closes the run's connection (checkpointing what the refresh wrote), renames
    # The flow checkpoints once, when the publish closes the connection; here the loads' rows are checkpointed
    # first, apart, so that their compression is counted with the loads rather than with the publish.
    _, checkpointed = _timed(checkpoint)
    _, published = _timed(publish_run)
    with duckdb.connect(str(db), read_only=True) as conn:
        reports = scalar(conn, "select count(*) from reports")
    count = len(files)
    extract_cpu = sum(t.cpu for t in extracted) + task_overhead * len(batches)
    # The checkpoint compresses what the loads wrote: counted with them.
    load_cpu = sum(t.cpu for t in loads) + checkpointed.cpu
    load_wall = sum(t.wall for t in loads) + checkpointed.wall
    # CPU seconds, not wall: on a shared machine the wall clock says more about the neighbours than the code.
    serial = load_cpu + staged.cpu + published.cpu
    median = statistics.median
    print(f"{count} files in {len(batches)} batches (median {median([len(b) for b in batches]):.0f} files); "
          f"warehouse after the run: {reports:,} reports; DuckDB memory before the publish {duckdb_mb:.0f} MB; "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| CPU seconds (wall) | per batch, median | per file (ms) | whole run |\n|---|---:|---:|---:|")
    print(f"| one worker's extraction (+ {task_overhead} s of task overhead per batch) | "
          f"{median([t.cpu for t in extracted]) + task_overhead:.2f} | {1000 * extract_cpu / count:.2f} | {extract_cpu:.1f} |")
    print(f"| load in the flow process: each batch on the run's connection, and the checkpoint of its rows | "
          f"{median([t.cpu for t in loads]):.3f} ({median([t.wall for t in loads]):.3f}) | {1000 * load_cpu / count:.2f} "
          f"| {load_cpu:.2f} ({load_wall:.2f}) |")
    print(f"| of which the checkpoint of the loaded rows | | {1000 * checkpointed.cpu / count:.2f} "
          f"| {checkpointed.cpu:.2f} ({checkpointed.wall:.2f}) |")
    print(f"| stage (copy the warehouse, open the run's connection) | | | {staged.cpu:.2f} ({staged.wall:.2f}) |")
    print(f"| publish (refresh the analyst tables, close the connection, rename) | | | {published.cpu:.2f} ({published.wall:.2f}) |")
    print(f"extraction / load: {extract_cpu / load_cpu:.1f}x (at least 10x wanted for 8 workers)")
    print("| workers | this run (CPU-bound s) | files/s | speed-up | a long run, files/s |\n|---:|---:|---:|---:|---:|")
    for n in AMDAHL_WORKERS:
        seconds = serial + extract_cpu / n
        # A long run: the stage and the publish amortised, each file costs its load plus 1/N of its extraction.
        print(f"| {n} | {seconds:.1f} | {count / seconds:.1f} | {(serial + extract_cpu) / seconds:.2f}x "
              f"| {count / (load_cpu + extract_cpu / n):.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="An existing corpus directory; default: generate one.")
    parser.add_argument("--count", type=int, default=2000, help="Reports to generate (without --corpus).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Local Dask worker counts to run.")
    parser.add_argument("--local", action="store_true", help="Also run the default, on the flow's own threads.")
    parser.add_argument("--batch-mb", type=int, default=16, help="nianbao ingest --batch-mb.")
    parser.add_argument("--serial", action="store_true",
                        help="Measure the serial part (loads, publish) against extraction, in-process, and print Amdahl.")
    parser.add_argument("--base", type=Path, help="With --serial: load into a copy of this warehouse.")
    parser.add_argument("--task-overhead", type=float, default=0.35,
                        help="With --serial: Prefect's seconds per task on a Dask worker (BENCHMARKS.md).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="nianbao-dask-scaling-") as tmp:
        work = Path(tmp)
        corpus = args.corpus
        if corpus is None:
            corpus = work / "corpus"
            summary = generate(corpus, args.count, args.seed)
            print(f"generated {summary.reports} reports ({summary.bytes_written / 1e6:.0f} MB) in {corpus}", flush=True)
        if args.serial:
            serial_part(corpus, work, args.base, args.task_overhead)
            return
        (work / "prefect-home").mkdir()
        print(f"{os.cpu_count()} cores; batches of at most {args.batch_mb} MB", flush=True)
        runs: list[tuple[str, list[str]]] = [("threads", [])] if args.local else []
        runs += [(f"--workers {n}", ["--workers", str(n)]) for n in args.workers]
        with prefect_server(work / "prefect-home") as api_url:
            for label, options in runs:
                print(ingest(corpus, work, api_url, label, options, args.batch_mb).line(), flush=True)


if __name__ == "__main__":
    main()
