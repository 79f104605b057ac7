"""Extraction on a Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1.

A generated corpus is ingested once on the flow's own threads and then through the
cluster, and the two warehouses must be the same, also when a worker is killed while it
extracts. The workers are started without any PREFECT_ setting and away from the source
tree: they get the Prefect API's address with each batch and import nianbao as installed.
Each run keeps its extracted batches in a result storage of its own, so that no run is
served the batches another one cached.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from distributed import Client, KilledWorker
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, temporary_settings
from typer.testing import CliRunner

import flows.api
from corpus.synth import generate
from flows.cli import app
from flows.ingest import ingest_flow
from flows.plan import PlannedFile
from flows.tasks import extracted_or_failed
from tests.expected import warehouse_state
from tests.processes import free_port, wait_for
from warehouse.store import LoadBatch

REPORTS = 40
#: Eight batches, so that both workers have several and one can be killed in the middle.
BATCH_FILES = "5"
CLUSTER_START_TIMEOUT = 60
DASK = str(Path(sys.executable).with_name("dask"))

pytestmark = pytest.mark.slow  # a real Dask scheduler and workers


def ingest(corpus: Path, db: Path, results: Path, *options: str):
    """`nianbao ingest` as a user runs it, keeping its extracted batches under `results`."""
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: results}):
        return CliRunner().invoke(
            app, ["ingest", str(corpus), "--db", str(db), "--batch-files", BATCH_FILES, *options], catch_exceptions=False
        )


@dataclass
class Worker:
    address: str
    process: subprocess.Popen
    log: Path
    #: Where the current test's part of the log starts.
    log_start: int = 0

    def batches_done(self) -> int:
        """Batches this worker extracted during the current test (a batch served from a cache says Cached)."""
        return self.log.read_text()[self.log_start:].count("Finished in state Completed()")


class Cluster:
    """`dask scheduler` and single-thread `dask worker` processes, started without a nanny so that a killed worker stays dead."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
        self.env["PREFECT_HOME"] = str(home / "worker-prefect-home")
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes: list[subprocess.Popen] = []
        self.workers: list[Worker] = []
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", self._port(self.address), "--no-dashboard"])
        self._top_up()  # they start while the rest of the test is set up
        self.client = Client(self.address, timeout=CLUSTER_START_TIMEOUT, set_as_default=False)

    @staticmethod
    def _port(address: str) -> str:
        return address.rsplit(":", 1)[1]

    def _start(self, name: str, args: list[str]) -> tuple[subprocess.Popen, Path]:
        log = self.home / f"{name}.log"
        with log.open("a") as out:
            process = subprocess.Popen([DASK, *args], env=self.env, cwd=self.home, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process, log

    def _top_up(self) -> None:
        """Start workers in place of the dead ones, so that two are alive."""
        self.workers = [worker for worker in self.workers if worker.process.poll() is None]
        while len(self.workers) < 2:
            address = f"tcp://127.0.0.1:{free_port()}"
            process, log = self._start(f"worker-{len(self.processes)}", [
                "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                "--host", "127.0.0.1", "--worker-port", self._port(address),
            ])
            self.workers.append(Worker(address, process, log))

    def two_live_workers(self) -> list[Worker]:
        """Two workers connected to the scheduler, each log marked where this test starts."""
        self._top_up()
        wait_for(lambda: set(self.client.nthreads()) == {worker.address for worker in self.workers},
                 CLUSTER_START_TIMEOUT, "the two workers to join the scheduler")
        for worker in self.workers:
            worker.log_start = len(worker.log.read_text())
        return self.workers

    def stop(self) -> None:
        self.client.close()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # a worker can hang in its shutdown once its scheduler is gone
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("dask-cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(dask_cluster) -> Cluster:
    """The module's cluster with two live workers for this test."""
    dask_cluster.two_live_workers()
    return dask_cluster


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dask") / "corpus"
    generate(out, REPORTS, seed=6)
    return out


@pytest.fixture(scope="module")
def local_warehouse(corpus, prefect_server, tmp_path_factory) -> dict[str, list[tuple]]:
    """The same corpus ingested on the flow's own threads, as before Dask."""
    where = tmp_path_factory.mktemp("local")
    result = ingest(corpus, where / "local.duckdb", where / "results")
    assert result.exit_code == 0, result.output
    return warehouse_state(where / "local.duckdb")


@pytest.mark.usefixtures("prefect_server")
def test_a_run_on_a_dask_cluster_loads_what_a_local_run_loads(cluster, corpus, local_warehouse, tmp_path):
    db = tmp_path / "dask.duckdb"
    result = ingest(corpus, db, tmp_path / "results", "--dask-address", cluster.address)
    assert result.exit_code == 0, result.output
    assert f"│ {REPORTS:>10} │ {REPORTS:>6} │" in result.output  # files seen, loaded
    assert all(worker.batches_done() > 0 for worker in cluster.workers)  # extracted there, not taken from a cache
    assert warehouse_state(db) == local_warehouse


class Killer(threading.Thread):
    """Kills the first worker seen extracting a batch after it finished one, and notes what it was doing."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.victim: Worker | None = None
        self.extracting: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            processing = self.cluster.client.processing()
            for worker in self.cluster.workers:
                if worker.batches_done() and processing.get(worker.address):
                    self.extracting = [str(key) for key in processing[worker.address]]
                    worker.process.send_signal(signal.SIGKILL)
                    self.victim = worker
                    return
            time.sleep(0.05)


@pytest.mark.usefixtures("prefect_server")
def test_a_worker_killed_in_the_middle_costs_only_its_batches(cluster, corpus, local_warehouse, tmp_path):
    db = tmp_path / "dask.duckdb"
    killer = Killer(cluster)
    killer.start()
    try:
        result = ingest(corpus, db, tmp_path / "results", "--dask-address", cluster.address)
    finally:
        killer.stop.set()
        killer.join()
    assert killer.victim is not None, "the run ended before a worker could be killed in the middle of it"
    assert killer.extracting, "the killed worker had no batch"
    assert killer.victim.process.wait(timeout=10) == -signal.SIGKILL
    assert result.exit_code == 0, result.output
    assert f"│ {REPORTS:>10} │ {REPORTS:>6} │" in result.output  # files seen, loaded
    survivor = next(worker for worker in cluster.workers if worker is not killer.victim)
    assert wait_for(lambda: cluster.client.nthreads() == {survivor.address: 1}, 10, "the scheduler to drop the dead worker")
    assert warehouse_state(db) == local_warehouse


class WorkersKeptDying:
    """What a batch's future gives when every worker that ran it died (Dask's allowed-failures, 3 by default)."""

    def result(self, raise_on_failure: bool = True):
        raise KilledWorker("extract_batch-1234", SimpleNamespace(address="tcp://127.0.0.1:40000"), 3)


@pytest.mark.usefixtures("prefect_server")
def test_a_batch_whose_workers_kept_dying_is_a_failure_of_its_files():
    from prefect import flow

    files = [PlannedFile("/reports/a.html", "aa" * 32, 10), PlannedFile("/reports/b.html", "bb" * 32, 20)]

    @flow
    def load_one() -> LoadBatch:
        return extracted_or_failed(WorkersKeptDying(), files)

    batch = load_one()
    assert batch.reports.is_empty() and batch.facts.is_empty() and batch.checks.is_empty()
    assert batch.files.select("path", "sha256", "size_bytes", "status", "reason").rows() == [
        ("/reports/a.html", "", 10, "failed", "batch_failed"), ("/reports/b.html", "", 20, "failed", "batch_failed"),
    ]
    assert batch.files["error"][0] == (
        "/reports/a.html: its extraction batch failed (the 4 Dask workers that ran it died, the last "
        "tcp://127.0.0.1:40000: see its log); it is tried again at the next run"
    )


@pytest.mark.usefixtures("prefect_server")
def test_a_batch_that_fails_is_reported_with_its_files_and_tried_again_at_the_next_run(samples_copy, tmp_path, monkeypatch):
    poisoned = samples_copy / "002_54cd1b08fa028caf.txt"
    extract = flows.api.process_batch

    def failing_on_the_poisoned_file(sources):
        if any(source.path == str(poisoned) for source in sources):
            raise MemoryError("out of memory")
        return extract(sources)

    db = tmp_path / "w.duckdb"
    monkeypatch.setattr(flows.api, "process_batch", failing_on_the_poisoned_file)
    first = ingest_flow(paths=[str(samples_copy)], db=str(db), batch_files=2, return_state=True)
    assert first.is_failed()
    assert first.message == "2 of 5 files failed"  # the batch of 002 and 003, not lost
    summary = first.result(raise_on_failure=False)
    assert [(Path(path).name, reason) for path, reason, _ in summary.failures] == [
        ("002_54cd1b08fa028caf.txt", "batch_failed"), ("003_63335de3f1ca4395.txt", "batch_failed"),
    ]
    assert "its extraction batch failed (MemoryError: out of memory)" in summary.failures[0][2]
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute("select status, count(*) from ingest_files group by all order by all").fetchall() == [
            ("failed", 2), ("loaded", 3)
        ]

    monkeypatch.undo()
    second = ingest_flow(paths=[str(samples_copy)], db=str(db), batch_files=2, return_state=True)
    assert second.is_completed()
    summary = second.result()
    assert (summary.files_unchanged, summary.files_loaded, summary.files_failed) == (3, 2, 0)


@pytest.mark.usefixtures("prefect_server")
def test_workers_start_a_local_dask_cluster_for_the_run(corpus, local_warehouse, tmp_path, caplog):
    db = tmp_path / "dask.duckdb"
    result = ingest(corpus, db, tmp_path / "results", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "batches to extract on a local Dask cluster of 2 processes" in caplog.text
    assert warehouse_state(db) == local_warehouse
