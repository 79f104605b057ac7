"""What bounds a long run's memory (BENCHMARKS.md, issue 17): extraction keeps nothing per batch beyond its
bounded caches; the flow extracts on two threads with three batches in flight, loads under DuckDB's load
limit and publishes under the writers'."""

from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import threading
import tracemalloc
from contextlib import contextmanager
from functools import _lru_cache_wrapper

import duckdb
import pytest

import flows.api
import flows.publish
import flows.tasks
from flows.cluster import LOCAL_BATCHES_IN_FLIGHT, LOCAL_EXTRACTION_THREADS
from flows.ingest import ingest_flow
from flows.pipeline import process_batch
from flows.plan import PlannedFile
from tests.test_pipeline_api import many_small_batches
from warehouse.staging import loading, publishing
from warehouse.store import DEFAULT_LOAD_MEMORY_LIMIT, DEFAULT_MEMORY_LIMIT

BATCH_REPORTS = 20


def extraction_caches() -> list[_lru_cache_wrapper]:
    """Every cache of the code that turns files into frames, as loaded in this process."""
    return [function for name, module in list(sys.modules.items())
            if name.split(".")[0] in ("extractors", "transforms", "template")
            for function in vars(module).values()
            if isinstance(function, _lru_cache_wrapper) and function.__module__ == name]


def heap_without_caches() -> int:
    """The Python heap once extraction's caches are emptied: what batches left behind besides them."""
    for cache in extraction_caches():
        cache.cache_clear()
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.mark.slow
def test_extraction_keeps_nothing_per_batch_but_its_bounded_caches(tmp_path):
    from corpus.synth import generate

    generate(tmp_path / "reports", 14 * BATCH_REPORTS, seed=3, formats=("text",))
    files = sorted(str(path) for path in (tmp_path / "reports").rglob("*.txt"))
    assert len(files) == 14 * BATCH_REPORTS
    tracemalloc.start()
    try:
        after: list[int] = []
        for start in range(0, len(files), BATCH_REPORTS):
            batch = process_batch(files[start:start + BATCH_REPORTS])
            assert batch.reports.height == BATCH_REPORTS
            del batch
            if start // BATCH_REPORTS + 1 in (7, 14):
                after.append(heap_without_caches())
    finally:
        tracemalloc.stop()
    # 140 more reports leave nothing behind but what their caches hold (each bounded: extractors/locate.py's
    # SHARED_ROWS, extractors/labels.py's): a report kept would cost ~50 KB, its rows ~10 KB.
    assert after[1] - after[0] < 100_000, after


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.slow
def test_the_flow_bounds_its_extraction_threads_and_duckdbs_memory(tmp_path, monkeypatch):
    corpus = many_small_batches(tmp_path / "reports", good_copies=4, bad_copies=0)
    threads: set[int] = set()
    extracted_not_loaded = [0]
    most_in_flight = [0]
    limits: dict[str, set[str]] = {"load": set(), "publish": set()}
    lock = threading.Lock()
    extract, load_task = flows.api.extract, flows.tasks.load_into_staging

    def watched_extract(files):
        with lock:
            threads.add(threading.get_ident())
            extracted_not_loaded[0] += 1
            most_in_flight[0] = max(most_in_flight[0], extracted_not_loaded[0])
        return extract(files)

    def duckdb_limit(conn) -> str:
        return conn.execute("select current_setting('memory_limit')").fetchone()[0]

    def watched_load(staging, batch, run_id):
        with lock:
            extracted_not_loaded[0] -= 1
        with loading(staging) as conn:
            limits["load"].add(duckdb_limit(conn))
        return load_task(staging, batch, run_id)

    @contextmanager
    def watched_publishing(staging):
        with publishing(staging) as conn:
            limits["publish"].add(duckdb_limit(conn))
            yield conn

    monkeypatch.setattr(flows.api, "extract", watched_extract)
    monkeypatch.setattr(flows.tasks, "load_into_staging", watched_load)
    monkeypatch.setattr(flows.publish, "publishing", watched_publishing)
    state = ingest_flow(paths=[str(corpus)], db=str(tmp_path / "w.duckdb"), batch_files=1, return_state=True)
    assert state.is_completed()
    assert state.result().files_loaded == 20
    assert 1 <= len(threads) <= LOCAL_EXTRACTION_THREADS == 1, threads
    assert most_in_flight[0] <= LOCAL_BATCHES_IN_FLIGHT == 2, most_in_flight
    assert limits == {"load": {as_duckdb_says(DEFAULT_LOAD_MEMORY_LIMIT)}, "publish": {as_duckdb_says(DEFAULT_MEMORY_LIMIT)}}
    assert as_duckdb_says(DEFAULT_LOAD_MEMORY_LIMIT) != as_duckdb_says(DEFAULT_MEMORY_LIMIT)


def as_duckdb_says(limit: str) -> str:
    with duckdb.connect() as conn:
        conn.execute(f"set memory_limit = '{limit}'")
        return conn.execute("select current_setting('memory_limit')").fetchone()[0]


def test_a_planned_file_has_no_dict_and_still_goes_to_a_worker_and_back():
    """A run holds one PlannedFile per file to extract (100,000 at 100,000 reports): slots, not a dict each.
    Prefect persists batches' parameters and Dask ships them, both by pickle."""
    planned = PlannedFile("/reports/a.html", "aa" * 32, 10, url="http://example.gov.cn/a.html", http_charset="gbk",
                          source="site", region="110000")
    assert not hasattr(planned, "__dict__")
    assert pickle.loads(pickle.dumps(planned)) == planned


def test_a_run_lets_go_of_each_planned_file_once_its_batch_is_taken(samples_copy, tmp_path, monkeypatch):
    """The plan's list of files to extract is not held to the end of the run (nor by the plan that Prefect keeps):
    at the last batch's load, only that batch's file is left. Only this run's files are counted (their paths are
    its own): an earlier test in the same process may leave files of its runs to the garbage collector."""
    alive: list[int] = []
    load = flows.api.load_into

    def watched_load(staging, batch, run_id):
        alive.append(sum(isinstance(o, PlannedFile) and o.path.startswith(str(samples_copy)) for o in gc.get_objects()))
        return load(staging, batch, run_id)

    monkeypatch.setattr(flows.api, "load_into", watched_load)
    summary = flows.api.ingest([str(samples_copy)], tmp_path / "w.duckdb", batch_files=1)
    assert summary.files_loaded == 5
    assert alive == [5, 4, 3, 2, 1]


@pytest.mark.parametrize(("set_by_user", "threads"), [(None, 1), ("2", 2)])
def test_every_nianbao_process_runs_polars_on_one_thread_unless_told_otherwise(set_by_user, threads):
    env = {k: v for k, v in os.environ.items() if k != "POLARS_MAX_THREADS"}
    if set_by_user:
        env["POLARS_MAX_THREADS"] = set_by_user
    shown = subprocess.run([sys.executable, "-c", "import flows.cli, polars; print(polars.thread_pool_size())"],
                           env=env, capture_output=True, text=True, check=True).stdout
    assert shown.strip() == str(threads)
