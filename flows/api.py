"""The pipeline as plain functions, without Prefect: plan, extract, load and publish, and ingest (all three).

A notebook, a test or a one-off run calls these directly, with no Prefect server:

    from flows.api import ingest
    summary = ingest(["reports/"], "nianbao.duckdb")

The Prefect flow (flows/ingest.py) calls the same `ingest`, with `TaskSteps` (flows/tasks.py)
running each step as a task: state, retries, the UI, cached batches for a Retry, Dask. `Steps`
here runs them in this process, one batch after another.

Memory does not grow with the collection: batches are extracted as they are loaded (a bounded
window in flight) and each is dropped once loaded; the summary keeps counts and the first failures.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import TypeVar

from extractors.crawl import CrawledDocument, CrawlOutcome, crawl
from flows.batching import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_FILES, batches
from flows.pipeline import failed_batch, process_batch, records_batch
from flows.plan import Plan, PlannedFile, plan_files, taken
from flows.publish import RunInfo, load_into, publish_run, write_report_page
from flows.sources import CrawlSource, DirectorySource, load_exclude, load_sources, tag_sources
from flows.summary import IngestSummary, plural
from warehouse.run_lock import DEFAULT_RUN_LOCK_WAIT_SECONDS, run_lock
from warehouse.staging import Staging, discard_leftovers, discard_path, stage
from warehouse.store import LoadBatch, WarehouseLocked

DEFAULT_DB = "nianbao.duckdb"
SAMPLES_DIR = Path(__file__).with_name("samples")
#: A warehouse held by another writer is waited for this long in all (seconds between attempts) before the run fails.
LOCK_RETRY_DELAYS = (2, 5, 15)

T = TypeVar("T")


def plan(paths: Sequence[str | Path], db: str | Path, *, crawled: Sequence[CrawledDocument] = (),
         exclude: Sequence[str] = ()) -> Plan:
    """Which files under `paths` (and `crawled`) to extract: hashed and compared with the published warehouse `db`."""
    return plan_files([str(p) for p in paths], list(crawled), str(db), list(exclude))


def extract(files: Sequence[PlannedFile]) -> LoadBatch:
    """One batch: its files read and extracted, their frames ready for the warehouse. No database is touched."""
    return process_batch([planned.source_ref for planned in files])


def batch_failure(files: Sequence[PlannedFile], cause: str, logger: logging.Logger | logging.LoggerAdapter) -> LoadBatch:
    """What a batch whose extraction never completed loads: each of its files as a failure, tried again next run."""
    logger.error("a batch of %d files (%s, …) failed: %s", len(files), files[0].path, cause)
    return failed_batch([(f.path, f.size_bytes) for f in files], cause)


def report_page(db: str, logger: logging.Logger | logging.LoggerAdapter) -> str | None:
    """The published warehouse's charts beside it; a page that cannot be written is logged, the night stands."""
    try:
        return write_report_page(db)
    except Exception as exc:  # the night is published: a report problem must not fail it
        logger.error("the report page of %s could not be written: %s: %s", db, type(exc).__name__, exc)
        return None


def raw_store_for(db: str | Path) -> Path:
    """Crawled files live beside the warehouse they feed: raw/<sha256><suffix>."""
    return Path(db).with_name("raw")


class Steps:
    """How each step runs: here, in this process, one batch after another; a busy warehouse is waited for.

    flows/tasks.py's TaskSteps runs the same steps as Prefect tasks.
    """

    def __init__(self, lock_retry_delays: Sequence[float] = LOCK_RETRY_DELAYS) -> None:
        self.lock_retry_delays = list(lock_retry_delays)

    @property
    def logger(self) -> logging.Logger | logging.LoggerAdapter:
        return logging.getLogger("nianbao.ingest")

    def where(self) -> str:
        """Where the batches are extracted, for the log."""
        return "this process"

    def crawl(self, source: CrawlSource, raw_root: str) -> CrawlOutcome:
        return crawl(source.settings, raw_root)

    def plan(self, paths: list[str], crawled: list[CrawledDocument], db: str, exclude: list[str]) -> Plan:
        return self._waiting(plan, paths, db, crawled=crawled, exclude=exclude)

    def extract(self, files: list[PlannedFile], cut: Iterable[list[PlannedFile]]) -> Generator[LoadBatch, None, None]:
        """Each batch of `cut` (of `files`) extracted, in order; one that raises loads as its files' failure."""
        for batch in cut:
            try:
                yield extract(batch)
            except Exception as exc:  # a batch that fails must not take the run's other batches with it
                yield batch_failure(batch, f"{type(exc).__name__}: {exc}", self.logger)

    def stage(self, db: str, run_id: str) -> Staging:
        return self._waiting(stage, db, run_id)

    def load(self, staging: Staging, batch: LoadBatch, run_id: str) -> None:
        load_into(staging, batch, run_id)

    def publish(self, staging: Staging, run: RunInfo, started_at: datetime, status: str, counts: dict[str, int],
                fetches: list[dict]) -> None:
        self._waiting(publish_run, staging, run, started_at, status, counts, fetches)

    def write_report(self, db: str) -> str | None:
        return report_page(db, self.logger)

    def _waiting(self, step: Callable[..., T], *args, **kwargs) -> T:
        """Retry only what waiting can cure: a warehouse locked by another writer, or an I/O error."""
        for delay in self.lock_retry_delays:
            try:
                return step(*args, **kwargs)
            except (WarehouseLocked, OSError) as exc:
                self.logger.info("%s; trying again in %s s", exc, delay)
                time.sleep(delay)
        return step(*args, **kwargs)


def load_and_publish(db: str | Path, loads: Iterable[LoadBatch], *, run: RunInfo | None = None,
                     summary: IngestSummary | None = None, started_at: datetime | None = None,
                     fetches: Sequence[dict] = (), steps: Steps | None = None) -> IngestSummary:
    """Load each of `loads` into a private copy of the warehouse `db`, counting it into `summary`, then record
    the run and publish the copy with one rename. When anything fails, the copy is deleted and nothing is
    published. Each batch is dropped once loaded, so `loads` can be a generator of any length.

    The copy is opened once, at the stage, and its connection kept by this process for every load and
    the publish, which closes it; deleting a failed run's copy closes it too (warehouse/staging.py).

    Hold the warehouse's run lock (warehouse/run_lock.py) around it, as `ingest` does.
    """
    steps = steps or Steps()
    run = run or RunInfo(str(uuid.uuid4()))
    summary = summary if summary is not None else IngestSummary(run_id=run.id)
    started_at = started_at or datetime.now()
    db = str(db)
    staging: Staging | None = None
    try:
        for batch in loads:
            if staging is None:  # copied as late as possible, so that writers in the day are not refused for long
                staging = steps.stage(db, run.id)
            steps.load(staging, batch, run.id)
            summary.count_batch(batch)
            del batch  # not kept while the next batch is extracted
        if staging is None:
            staging = steps.stage(db, run.id)
        steps.publish(staging, run, started_at, "failed" if summary.failed else "completed", summary.counts(),
                      list(fetches))
    except BaseException:
        if staging is not None:
            discard_path(staging.path)
        raise
    return summary


def ingest(paths: Sequence[str | Path] | None = None, db: str | Path = DEFAULT_DB, *, sources: str | Path | None = None,
           source_kinds: Sequence[str] | None = None, exclude: Sequence[str] = (),
           batch_bytes: int = DEFAULT_BATCH_BYTES, batch_files: int = DEFAULT_BATCH_FILES,
           run_lock_wait_seconds: float = DEFAULT_RUN_LOCK_WAIT_SECONDS, write_report_page: bool = False,
           run: RunInfo | None = None, steps: Steps | None = None) -> IngestSummary:
    """Ingest report files into the DuckDB warehouse at `db`: plan, extract in batches, load and publish.

    The files are `paths` plus what the `sources` file lists (directories, and sites to crawl into raw/
    beside the warehouse), restricted to `source_kinds` when given; with neither, the bundled samples.
    Files matching an `exclude` pattern (or one of the sources file's) are recorded as ignored. Batches
    hold at most `batch_bytes` and `batch_files`. Another nianbao run on the same warehouse is waited for
    up to `run_lock_wait_seconds`. With `write_report_page`, the charts of the published warehouse are
    written beside it (nianbao.report.html for nianbao.duckdb).

    Returns what the run did; `summary.failed` says whether any file or source failed (every good file
    is published all the same). The sources file's [dask] table is for the flow (`TaskSteps`).
    """
    steps = steps or Steps()
    run = run or RunInfo(str(uuid.uuid4()))
    db = str(Path(db).resolve())
    Path(db).parent.mkdir(parents=True, exist_ok=True)  # `--db reports/2025/nb.duckdb` on a fresh machine
    logger = steps.logger
    with run_lock(db, run.id, run.name, wait_seconds=run_lock_wait_seconds,
                  on_wait=lambda holder: logger.info("waiting for another nianbao run on %s: %s", db, holder)):
        for leftover in discard_leftovers(db, run.id):
            logger.info("deleted %s, the copy a killed run left", leftover)
        summary = _ingest_locked([str(p) for p in paths or []], db, sources, source_kinds, list(exclude),
                                 batch_bytes, batch_files, run, steps)
        if write_report_page:
            summary.report_page = steps.write_report(db)
    return summary


def _ingest_locked(paths: list[str], db: str, sources: str | Path | None, source_kinds: Sequence[str] | None,
                   exclude: list[str], batch_bytes: int, batch_files: int, run: RunInfo, steps: Steps) -> IngestSummary:
    """The run, under the warehouse's run lock: crawl, plan, extract and load into a copy, publish."""
    logger = steps.logger
    started_at = datetime.now()
    listed = [s for s in (load_sources(sources) if sources else []) if not source_kinds or s.kind in source_kinds]
    exclude = exclude + (load_exclude(sources) if sources else [])
    paths = paths + [str(source.path) for source in listed if isinstance(source, DirectorySource)]
    summary = IngestSummary(run_id=run.id, title="nianbao crawl" if list(source_kinds or []) == ["crawl"]
                            else "nianbao ingest")
    crawled, crawled_by, fetches = _crawl(listed, db, steps, summary)
    if not paths and not listed:
        paths = [str(SAMPLES_DIR)]
    planned = steps.plan(paths, crawled, db, exclude)
    del crawled
    to_process = tag_sources(planned.to_process, listed, crawled_by)
    summary.count_plan(planned)
    records = list(planned.records)
    planned.let_go()  # counted and taken; Prefect would keep them for the whole run
    del planned
    total = len(to_process)
    batch_count = sum(1 for _ in batches(to_process, batch_bytes, batch_files))
    logger.info(
        "%s: %d new, %d changed, %d unchanged, %d still failing, %d duplicates, %d ignored; %s to extract on %s",
        plural(summary.files_seen, "file"), summary.files_new, summary.files_changed, summary.files_unchanged,
        summary.files_still_failing, summary.files_duplicate, summary.files_ignored,
        plural(batch_count, "batch", "batches"), steps.where() if batch_count else "this process",
    )
    with closing(steps.extract(to_process, batches(taken(to_process), batch_bytes, batch_files))) as extracted:
        loads = chain([records_batch(records)] if records else [],
                      _progress(extracted, total, summary, logger))
        return load_and_publish(db, loads, run=run, summary=summary, started_at=started_at, fetches=fetches,
                                steps=steps)


def _crawl(listed: list, db: str, steps: Steps,
           summary: IngestSummary) -> tuple[list[CrawledDocument], dict[str, str], list[dict]]:
    """Crawl each crawl source into the raw store: what it downloaded, which source did, and every fetch."""
    crawled: list[CrawledDocument] = []
    crawled_by: dict[str, str] = {}
    fetches: list[dict] = []
    for source in listed:
        if isinstance(source, CrawlSource):
            outcome = steps.crawl(source, str(raw_store_for(db)))
            crawled += outcome.documents
            crawled_by.update({document.path: source.name for document in outcome.documents})
            fetches += outcome.records
            summary.fetches.update(record["outcome"] for record in outcome.records)
            if outcome.unreachable:
                steps.logger.error("source %s reached nothing: %s", source.name, outcome.unreachable)
                summary.failed_sources.append((source.name, outcome.unreachable))
    return crawled, crawled_by, fetches


def _progress(extracted: Iterable[LoadBatch], total: int, summary: IngestSummary,
              logger: logging.Logger | logging.LoggerAdapter) -> Iterator[LoadBatch]:
    """The extracted batches, each logged once it is loaded (when the next one is asked for)."""
    done = 0
    for batch in extracted:
        files = batch.files.height
        yield batch
        del batch
        done += files
        logger.info("%d of %s extracted and loaded; %d of them failed", done, plural(total, "file"),
                    summary.files_failed - summary.files_still_failing)
