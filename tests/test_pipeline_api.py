"""The pipeline without Prefect (flows/api.py): the same warehouse as the flow, and memory that does not
grow with the collection (no batch, report or per-file record kept once its batch is loaded)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
import weakref
from pathlib import Path

import duckdb
import pytest

import flows.summary
import flows.tasks
from flows.api import Steps, ingest
from flows.ingest import ingest_flow
from tests.conftest import BAD_FIXTURES, ROOT, copy_samples_as
from tests.expected import warehouse_state

RUN_COLUMNS = ("status", "attempt", "files_seen", "files_loaded", "files_unchanged", "files_failed", "facts_loaded",
               "checks_failed")


def runs(db: Path) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(f"select {', '.join(RUN_COLUMNS)} from runs order by started_at").fetchall()


def ingest_without_prefect(db: Path, tmp_path: Path) -> dict:
    """`flows.api.ingest` of the bundled samples in a fresh interpreter with no Prefect API and no Prefect home."""
    script = (
        "import json, sys\n"
        "from flows.api import ingest\n"
        f"summary = ingest(db={str(db)!r})\n"
        "print(json.dumps({'counts': summary.counts(), 'failed': summary.failed,\n"
        "                  'prefect_imported': any(m.split('.')[0] == 'prefect' for m in sys.modules)}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "no-prefect-home")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.usefixtures("prefect_server")
def test_an_ingest_through_the_api_needs_no_prefect_and_loads_what_the_flow_loads(tmp_path):
    api_db, flow_db = tmp_path / "api.duckdb", tmp_path / "flow.duckdb"
    plain = ingest_without_prefect(api_db, tmp_path)
    assert plain["prefect_imported"] is False
    assert not plain["failed"]
    assert (plain["counts"]["files_seen"], plain["counts"]["files_loaded"], plain["counts"]["facts_loaded"]) == (5, 5, 998)
    assert not (tmp_path / "no-prefect-home").exists()

    state = ingest_flow(db=str(flow_db), return_state=True)
    assert state.is_completed()
    assert state.result().counts() == plain["counts"]
    assert warehouse_state(api_db) == warehouse_state(flow_db)
    assert runs(api_db) == runs(flow_db) == [("completed", 1, 5, 5, 0, 0, 998, 0)]


def test_a_warehouse_in_a_directory_that_does_not_exist_yet_is_created_with_it(tmp_path):
    db = tmp_path / "warehouses" / "2025" / "nb.duckdb"
    summary = ingest(db=db)
    assert (summary.counts()["files_loaded"], summary.counts()["facts_loaded"]) == (5, 998)
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.sql("select count(*) from reports").fetchone() == (5,)


def many_small_batches(root: Path, good_copies: int, bad_copies: int) -> Path:
    """Copies of the five samples (other bytes each time, so other reports) and of a page that is not a report."""
    for agency in range(good_copies):
        copy_samples_as(root / f"agency-{agency:02d}", agency)
    bad = (BAD_FIXTURES / "not_a_report.html").read_bytes()
    for number in range(bad_copies):
        (root / "bad" / f"{number:02d}.html").parent.mkdir(parents=True, exist_ok=True)
        (root / "bad" / f"{number:02d}.html").write_bytes(bad + b"\n" * (number + 1))
    return root


class Watched(Steps):
    """Steps that note, as each batch is loaded, which batches loaded before are still alive, and the Python heap."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[weakref.ref] = []
        self.alive_before: list[int] = []
        self.heap: list[int] = []

    def load(self, staging, batch, run_id) -> None:
        gc.collect()
        self.alive_before.append(sum(ref() is not None for ref in self.loaded))
        self.heap.append(tracemalloc.get_traced_memory()[0])
        self.loaded.append(weakref.ref(batch))
        super().load(staging, batch, run_id)


@pytest.mark.slow
def test_a_long_run_keeps_no_batch_and_no_per_file_record_once_loaded(tmp_path, monkeypatch):
    corpus = many_small_batches(tmp_path / "reports", good_copies=4, bad_copies=6)
    monkeypatch.setattr(flows.summary, "FAILURES_KEPT", 3)
    steps = Watched()
    tracemalloc.start()
    try:
        summary = ingest([corpus], tmp_path / "w.duckdb", batch_files=1, steps=steps)
    finally:
        tracemalloc.stop()
    assert (summary.files_seen, summary.files_loaded, summary.files_failed) == (26, 20, 6)
    assert len(steps.loaded) == 26
    assert steps.alive_before == [0] * 26  # each batch is dropped once loaded, whatever Python or polars keeps
    # The failures are counted, but only the first are kept by name: the rest are in ingest_files.
    assert len(summary.failures) == 3 and summary.failure_reasons == {"not_a_report": 6}
    assert "| … | 3 more in the ingest_files table |" in summary.to_markdown()
    # The Python heap of the second half of the run does not grow with the files it loads (the first
    # batches warm caches): ~2 KB a batch in DuckDB's and Arrow's bindings, where a kept report would cost ~50 KB.
    second_half = steps.heap[13:]
    assert max(second_half) - second_half[0] < 13 * 8_000, [h - second_half[0] for h in second_half]


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.slow
def test_the_flow_keeps_no_extracted_batch_once_it_is_loaded(tmp_path, monkeypatch):
    """Prefect hands each batch back from its result store: neither it nor the task runner may keep it."""
    corpus = many_small_batches(tmp_path / "reports", good_copies=4, bad_copies=0)
    loaded: list[weakref.ref] = []
    alive_before: list[int] = []
    load_task = flows.tasks.load_into_staging

    def watched_load(staging, batch, run_id):
        gc.collect()
        alive_before.append(sum(ref() is not None for ref in loaded))
        loaded.append(weakref.ref(batch))
        return load_task(staging, batch, run_id)

    monkeypatch.setattr(flows.tasks, "load_into_staging", watched_load)
    state = ingest_flow(paths=[str(corpus)], db=str(tmp_path / "w.duckdb"), batch_files=1, return_state=True)
    assert state.is_completed()
    assert state.result().files_loaded == 20
    # Prefect's threads may still hold the previous load task's parameters for a moment: one batch, never more.
    assert len(alive_before) == 20 and max(alive_before) <= 1, alive_before
    gc.collect()
    assert [ref for ref in loaded if ref() is not None] == []


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.slow
def test_the_flow_frees_each_batch_without_pythons_cycle_collector(tmp_path, monkeypatch):
    """A finished task's future and the concurrent future it wraps refer to each other and hold the batch.

    Python's cycle collector would free it only at a full collection, rare in a long run, while its
    frames' native memory piled up (BENCHMARKS.md): with that collector off, the flow must still let go
    of every batch's frames once it is loaded.
    """
    corpus = many_small_batches(tmp_path / "reports", good_copies=4, bad_copies=0)
    loaded: list[weakref.ref] = []
    alive_before: list[int] = []
    load_task = flows.tasks.load_into_staging

    def watched_load(staging, batch, run_id):
        alive_before.append(sum(ref() is not None for ref in loaded))
        loaded.extend(weakref.ref(getattr(batch, name)) for name in ("reports", "facts", "checks", "files"))
        return load_task(staging, batch, run_id)

    monkeypatch.setattr(flows.tasks, "load_into_staging", watched_load)
    gc.collect()
    gc.disable()
    try:
        state = ingest_flow(paths=[str(corpus)], db=str(tmp_path / "w.duckdb"), batch_files=1, return_state=True)
    finally:
        gc.enable()
    assert state.is_completed()
    # The frames of the batch being loaded are the only ones alive; of the batches before it, none.
    assert len(alive_before) == 20 and max(alive_before) == 0, alive_before
