"""The pipeline's steps as Prefect tasks, and TaskSteps, which runs `flows.api.ingest` through them.

One task per batch, not per file (a task costs ~10 ms of orchestration). Extracted batches are
persisted under a key of their files' hashes and the code version, so that Retry on a failed flow
run extracts only what had not completed. Batches run on the flow's own threads or on a Dask
cluster (flows/cluster.py); either way only the flow's process writes DuckDB. The steps that
touch the warehouse are retried while another writer holds it.

The stage, load-batch and publish tasks are called, never submitted, so they run in the flow's
process, where the run's one connection to its copy of the warehouse is kept from the stage to the
publish (warehouse/staging.py's `loading`). They pass the run's `Staging`, plain data; the connection
never becomes a task parameter, which Prefect would have to hash or serialise.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from collections.abc import Generator, Iterable, Sequence
from dataclasses import fields
from datetime import datetime, timedelta

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.utilities.annotations import quote

from extractors.crawl import CrawledDocument, CrawlOutcome, crawl
from extractors.report import PARSER_VERSION
from flows import api
from flows.api import Steps, batch_failure
from flows.cluster import DaskSettings, dask_worker_deaths, extraction_runner
from flows.pipeline import extraction_code_version
from flows.plan import Plan, PlannedFile
from flows.publish import RunInfo, load_into, publish_run
from flows.sources import CrawlSource
from warehouse.staging import Staging, stage
from warehouse.store import LoadBatch, WarehouseLocked

#: Extracted batches are kept for a retry of the flow run; after this they are extracted again.
EXTRACT_CACHE_EXPIRATION = timedelta(days=7)


def _warehouse_busy(task, task_run, state) -> bool:
    """Retry only what waiting can cure: a warehouse locked by another writer, or an I/O error."""
    try:
        state.result()
    except (WarehouseLocked, OSError):
        return True
    except Exception:
        return False
    return False


def batch_cache_key(context, parameters) -> str:
    """A batch is served from cache only for the same files, the same bytes and the same code."""
    digest = hashlib.sha256(f"{PARSER_VERSION}\n{extraction_code_version()}\n".encode())
    for planned in parameters["files"]:
        digest.update(f"{planned.path}\0{planned.sha256}\0{planned.url}\0{planned.http_charset}\0{planned.source}\0"
                      f"{planned.region}\0{planned.pictures_sha256}\n".encode())
    return f"nianbao-extract-{digest.hexdigest()}"


@task(name="plan-files", cache_policy=NO_CACHE, retry_condition_fn=_warehouse_busy)
def plan_files_task(paths: list[str], crawled: list[CrawledDocument], db: str, exclude: list[str]) -> Plan:
    """Hash every file and compare with the published warehouse: unchanged files are not extracted again."""
    return api.plan(paths, db, crawled=crawled, exclude=exclude)


@task(
    name="extract-batch",
    cache_key_fn=batch_cache_key,
    cache_expiration=EXTRACT_CACHE_EXPIRATION,
    persist_result=True,
    # Plain pickle: a LoadBatch pickles as zstd-compressed Arrow IPC (warehouse/store.py), so lzma on top
    # ("compressed/pickle") made the stored batch no smaller and cost 0.33 CPU ms per report (BENCHMARKS.md).
    result_serializer="pickle",
    # Prefect's result store would otherwise keep every persisted batch of the run in memory (an LRU of
    # 1,000 records): 4.2 GB at 100,000 reports. The result still reaches the flow in its state.
    cache_result_in_memory=False,
)
def extract_batch(files: list[PlannedFile]) -> LoadBatch:
    """Pure work (files in, frames out), persisted so that a retried flow run reuses it."""
    return api.extract(files)


crawl_source = task(name="crawl-source", cache_policy=NO_CACHE)(crawl)
stage_warehouse = task(name="stage-warehouse", cache_policy=NO_CACHE, retry_condition_fn=_warehouse_busy)(stage)
# A task per batch, so that each load shows in the UI; its parameters are not hashed (NO_CACHE) or kept.
load_into_staging = task(name="load-batch", cache_policy=NO_CACHE, persist_result=False)(load_into)
publish_warehouse = task(name="publish-warehouse", cache_policy=NO_CACHE, retry_condition_fn=_warehouse_busy)(publish_run)


def extracted_or_failed(future: PrefectFuture, files: Sequence[PlannedFile]) -> LoadBatch:
    """A batch that failed for good (it raised, or every worker running it died) loads as its files' failure.

    Anything else (the cluster gone, a scheduler that cannot read the batch) fails the run:
    it says nothing about these files, and nothing of the run is published.
    """
    try:
        outcome = future.result(raise_on_failure=False)
    except dask_worker_deaths() as exc:
        cause = (f"the {exc.allowed_failures + 1} Dask workers that ran it died, the last {exc.last_worker.address}: "
                 "see its log")
    else:
        if not isinstance(outcome, BaseException):
            return outcome
        cause = f"{type(outcome).__name__}: {outcome}"
    return batch_failure(files, cause, get_run_logger())


def _freed_once_loaded(batch: LoadBatch) -> Generator[LoadBatch, None, None]:
    """`batch`, then, once the caller has loaded it, its frames let go.

    A finished task's future and the concurrent future it wraps refer to each other (the wrapper's
    done-callback is a bound method), and that cycle holds the task's final state, whose result is
    this very batch: only a full collection of Python's cyclic garbage would free it, rare in a
    process of several hundred thousand objects, and meanwhile the frames' native memory (outside
    Python's heap) piled up batch after batch (BENCHMARKS.md). Emptying the frames costs nothing; a
    collection per batch cost 185 ms at 10,000 reports. The batch is already persisted for a retry.
    """
    yield batch
    for field in fields(batch):
        setattr(batch, field.name, getattr(batch, field.name).clear())


class TaskSteps(Steps):
    """The steps as Prefect tasks of the current flow run; batches extracted on its threads or on `dask`."""

    def __init__(self, lock_retry_delays: Sequence[float], dask: DaskSettings | None) -> None:
        super().__init__(lock_retry_delays)
        self.dask = dask
        #: A task that meets the warehouse locked is tried again after each of these delays.
        self.lock_retries = len(self.lock_retry_delays)
        self.lock_delays = list(self.lock_retry_delays)

    @property
    def logger(self) -> logging.Logger | logging.LoggerAdapter:
        return get_run_logger()

    def where(self) -> str:
        return self.dask.describe() if self.dask else "this process"

    def crawl(self, source: CrawlSource, raw_root: str) -> CrawlOutcome:
        return crawl_source.with_options(name=f"crawl-{source.name}")(source.settings, raw_root)

    def plan(self, paths: list[str], crawled: list[CrawledDocument], db: str, exclude: list[str]) -> Plan:
        return plan_files_task.with_options(retries=self.lock_retries, retry_delay_seconds=self.lock_delays)(paths, crawled, db, exclude)

    def extract(self, files: list[PlannedFile], cut: Iterable[list[PlannedFile]]) -> Generator[LoadBatch, None, None]:
        """A bounded window of batches in flight keeps memory flat however large the corpus."""
        with extraction_runner(self.dask if files else None, [f.path for f in files]) as extraction:
            pending: deque[tuple[PrefectFuture, list[PlannedFile]]] = deque()
            for batch in cut:
                files_parameter = quote(batch) if extraction.quote_files else batch
                pending.append((extraction.runner.submit(extract_batch, {"files": files_parameter}), batch))
                if len(pending) >= extraction.in_flight:
                    yield from _freed_once_loaded(extracted_or_failed(*pending.popleft()))
            while pending:
                yield from _freed_once_loaded(extracted_or_failed(*pending.popleft()))

    def stage(self, db: str, run_id: str) -> Staging:
        return stage_warehouse.with_options(retries=self.lock_retries, retry_delay_seconds=self.lock_delays)(db, run_id)

    def load(self, staging: Staging, batch: LoadBatch, run_id: str) -> None:
        load_into_staging(staging, batch, run_id)

    def publish(self, staging: Staging, run: RunInfo, started_at: datetime, status: str, counts: dict[str, int],
                fetches: list[dict]) -> None:
        publish_warehouse.with_options(retries=self.lock_retries, retry_delay_seconds=self.lock_delays)(staging, run, started_at, status, counts, fetches)

    def write_report(self, db: str) -> str | None:
        return write_report_task(db)


@task(name="write-report", cache_policy=NO_CACHE)
def write_report_task(db: str) -> str | None:
    """The published warehouse's charts beside it; a page that cannot be written is logged, the night stands."""
    return api.report_page(db, get_run_logger())
