"""The ingest flow: plan which files changed, extract them in batches, load, publish.

One Prefect task per batch, not per file (a task costs ~10 ms of orchestration); each
file's outcome is kept in the warehouse's ingest_files table. Batches run on the flow's
own threads or on a Dask cluster (flows/cluster.py); either way only this process writes
DuckDB. Extracted batches are persisted under a key of their files' hashes and the code
version, so that Retry on a failed flow run extracts only what had not completed. The
night is loaded into a copy of the warehouse and published with one rename
(warehouse/staging.py). The flow ends Failed when any file failed, after every good file
has been published.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from datetime import datetime, timedelta
from pathlib import Path

from distributed import KilledWorker
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from extractors.crawl import CrawledDocument, CrawlOutcome, CrawlSettings, crawl
from extractors.files import SourceRef
from extractors.report import PARSER_VERSION
from flows.cluster import choose_dask, extraction_runner
from flows.pipeline import extraction_code_version, failed_batch, process_batch, records_batch
from flows.plan import Plan, PlannedFile, plan_files
from flows.sources import CrawlSource, DirectorySource, load_dask_settings, load_exclude, load_sources, tag_sources
from warehouse.analyst import refresh_analyst_tables
from flows.summary import IngestSummary, plural
from warehouse.run_lock import DEFAULT_RUN_LOCK_WAIT_SECONDS, run_lock
from warehouse.staging import Staging, discard_leftovers, discard_path, publish, stage
from warehouse.store import LoadBatch, WarehouseLocked, connect, load_batch, record_fetches, record_run

DEFAULT_DB = "nianbao.duckdb"
SAMPLES_DIR = Path(__file__).with_name("samples")
#: Batches are cut by bytes so that memory per batch stays bounded whatever the file sizes.
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
DEFAULT_BATCH_FILES = 500
#: A warehouse held by another writer is waited for this long in all before the run fails.
LOCK_RETRY_DELAYS = [2, 5, 15]
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


def _batch_cache_key(context, parameters) -> str:
    """A batch is served from cache only for the same files, the same bytes and the same code."""
    digest = hashlib.sha256(f"{PARSER_VERSION}\n{extraction_code_version()}\n".encode())
    for planned in parameters["files"]:
        digest.update(f"{planned.path}\0{planned.sha256}\0{planned.url}\0{planned.http_charset}\0{planned.source}\0"
                      f"{planned.region}\0{planned.pictures_sha256}\n".encode())
    return f"nianbao-extract-{digest.hexdigest()}"


def _extracted_or_failed(future: PrefectFuture, files: list[PlannedFile]) -> LoadBatch:
    """A batch that failed for good (it raised, or every worker running it died) loads as its files' failure.

    Anything else (the cluster gone, a scheduler that cannot read the batch) fails the run:
    it says nothing about these files, and nothing of the run is published.
    """
    try:
        outcome = future.result(raise_on_failure=False)
    except KilledWorker as exc:
        cause = (f"the {exc.allowed_failures + 1} Dask workers that ran it died, the last {exc.last_worker.address}: "
                 "see its log")
    else:
        if not isinstance(outcome, BaseException):
            return outcome
        cause = f"{type(outcome).__name__}: {outcome}"
    get_run_logger().error("a batch of %d files (%s, …) failed: %s", len(files), files[0].path, cause)
    return failed_batch([(f.path, f.size_bytes) for f in files], cause)


def raw_store_for(db: str) -> Path:
    """Crawled files live beside the warehouse they feed: raw/<sha256><suffix>."""
    return Path(db).with_name("raw")


def batches(files: list[PlannedFile], max_bytes: int, max_files: int) -> list[list[PlannedFile]]:
    out: list[list[PlannedFile]] = []
    current: list[PlannedFile] = []
    size = 0
    for planned in files:
        if current and (size + planned.size_bytes > max_bytes or len(current) >= max_files):
            out.append(current)
            current, size = [], 0
        current.append(planned)
        size += planned.size_bytes
    if current:
        out.append(current)
    return out


@task(name="plan-files", cache_policy=NO_CACHE, retry_condition_fn=_warehouse_busy)
def plan_files_task(paths: list[str], crawled: list[CrawledDocument], db: str, exclude: list[str]) -> Plan:
    """Hash every file and compare with the published warehouse: unchanged files are not extracted again."""
    return plan_files(paths, crawled, db, exclude)


@task(
    name="extract-batch",
    cache_key_fn=_batch_cache_key,
    cache_expiration=EXTRACT_CACHE_EXPIRATION,
    persist_result=True,
    result_serializer="compressed/pickle",
    # Prefect's result store would otherwise keep every persisted batch of the run in memory (an LRU of
    # 1,000 records): 4.2 GB at 100,000 reports. The result still reaches the flow in its state.
    cache_result_in_memory=False,
)
def extract_batch(files: list[PlannedFile]) -> LoadBatch:
    """Pure work (files in, frames out), persisted so that a retried flow run reuses it."""
    return process_batch([SourceRef(f.path, f.url, f.http_charset, f.source, f.region) for f in files])


@task(name="crawl-source", cache_policy=NO_CACHE)
def crawl_source(settings: CrawlSettings, raw_root: str) -> CrawlOutcome:
    """Download what is new on one site into the raw store; resumes the source's unfinished crawl."""
    return crawl(settings, raw_root)


@task(name="stage-warehouse", cache_policy=NO_CACHE, retry_condition_fn=_warehouse_busy)
def stage_warehouse(db: str, run_id: str) -> Staging:
    return stage(db, run_id)


@task(name="load-batch", cache_policy=NO_CACHE, persist_result=False)
def load_into_staging(staging: Staging, batch: LoadBatch, run_id: str) -> None:
    with connect(staging.path) as conn:
        load_batch(conn, batch, run_id)


@task(name="publish-warehouse", cache_policy=NO_CACHE, retry_condition_fn=_warehouse_busy)
def publish_warehouse(staging: Staging, run_id: str, attempt: int, run_name: str | None, started_at: datetime,
                      status: str, counts: dict[str, int], fetches: list[dict]) -> None:
    """Record the run and its crawl fetches in the copy, then swap the copy in for the published file."""
    with connect(staging.path) as conn:
        refresh_analyst_tables(conn, run_id)
        record_fetches(conn, fetches)
        record_run(conn, run_id, attempt, run_name, started_at, status, counts)
    publish(staging)


def report_page_for(db: str) -> Path:
    """nianbao.duckdb -> nianbao.report.html, beside it."""
    return Path(db).with_name(f"{Path(db).stem}.report.html")


@task(name="write-report", cache_policy=NO_CACHE)
def write_report_task(db: str) -> str | None:
    """The published warehouse's charts beside it; a page that cannot be written is logged, the night stands."""
    from warehouse.html_report.page import write_report

    try:
        return str(write_report(db, report_page_for(db)).path)
    except Exception as exc:  # the night is published: a report problem must not turn it Failed
        get_run_logger().error("the report page of %s could not be written: %s: %s", db, type(exc).__name__, exc)
        return None


@flow(name="nianbao-ingest")
def ingest_flow(
    paths: list[str] | None = None,
    db: str = DEFAULT_DB,
    sources: str | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    batch_files: int = DEFAULT_BATCH_FILES,
    lock_retry_delays: list[float] = LOCK_RETRY_DELAYS,
    source_kinds: list[str] | None = None,
    dask_address: str | None = None,
    dask_workers: int | None = None,
    exclude: list[str] | None = None,
    run_lock_wait_seconds: float = DEFAULT_RUN_LOCK_WAIT_SECONDS,
    write_report_page: bool = False,
):
    """Ingest report files into the DuckDB warehouse at `db`.

    The files are `paths` plus what the `sources` file lists (read at run time: directories,
    and sites to crawl into raw/ beside the warehouse), restricted to `source_kinds` when
    given; with neither, the bundled samples. Files matching an `exclude` pattern (or one of
    the sources file's) are recorded as ignored. The night is loaded into a private copy of the
    warehouse and published at the end with one atomic rename, so readers never wait and never
    see half a night. A warehouse held by another writer is waited for `lock_retry_delays`
    (seconds between attempts) before the run fails; another nianbao run on the same warehouse
    is waited for up to `run_lock_wait_seconds`.

    Batches of at most `batch_bytes` and `batch_files` are extracted on the Dask cluster whose
    scheduler is at `dask_address`, or on a local Dask cluster of `dask_workers` processes, or
    as the sources file's [dask] table says; with none of them, on this process's threads.

    With `write_report_page` (the nightly deployment sets it), the charts of the published warehouse
    are written beside it (nianbao.report.html for nianbao.duckdb) and linked from the artifact.
    """
    logger = get_run_logger()
    db = str(Path(db).resolve())
    run_id = flow_run.get_id()
    with run_lock(db, run_id, flow_run.get_name(), wait_seconds=run_lock_wait_seconds,
                  on_wait=lambda holder: logger.info("waiting for another nianbao run on %s: %s", db, holder)):
        for leftover in discard_leftovers(db, run_id):
            logger.info("deleted %s, the copy a killed run left", leftover)
        summary = _ingest(paths, db, sources, batch_bytes, batch_files, lock_retry_delays, source_kinds,
                          dask_address, dask_workers, exclude or [], run_id)
        if write_report_page:
            summary.report_page = write_report_task(db)
    create_markdown_artifact(
        key="nianbao-ingest-summary", markdown=summary.to_markdown(), description=f"{summary.title} into {db}"
    )
    create_table_artifact(
        key="nianbao-ingest-counts", table=[summary.counts()], description=f"What {summary.title} did to {db}"
    )
    if summary.failed:
        return Failed(message=summary.state_message(), data=summary)
    return Completed(message=summary.state_message(), data=summary)


def _ingest(paths: list[str] | None, db: str, sources: str | None, batch_bytes: int, batch_files: int,
            lock_retry_delays: list[float], source_kinds: list[str] | None, dask_address: str | None,
            dask_workers: int | None, exclude: list[str], run_id: str) -> IngestSummary:
    """The run, under the warehouse's run lock: crawl, plan, extract and load into a copy, publish."""
    logger = get_run_logger()
    started_at = datetime.now()
    listed = [s for s in (load_sources(sources) if sources else []) if not source_kinds or s.kind in source_kinds]
    dask = choose_dask(dask_address, dask_workers, load_dask_settings(sources) if sources else None)
    exclude = exclude + (load_exclude(sources) if sources else [])
    paths = list(paths or []) + [str(source.path) for source in listed if isinstance(source, DirectorySource)]
    waiting = {"retries": len(lock_retry_delays), "retry_delay_seconds": lock_retry_delays}
    summary = IngestSummary(run_id=run_id, title="nianbao crawl" if source_kinds == ["crawl"] else "nianbao ingest")
    crawled: list[CrawledDocument] = []
    crawled_by: dict[str, str] = {}
    fetches: list[dict] = []
    for source in listed:
        if isinstance(source, CrawlSource):
            outcome = crawl_source.with_options(name=f"crawl-{source.name}")(source.settings, str(raw_store_for(db)))
            crawled += outcome.documents
            crawled_by.update({document.path: source.name for document in outcome.documents})
            fetches += outcome.records
            summary.fetches.update(record["outcome"] for record in outcome.records)
            if outcome.unreachable:
                logger.error("source %s reached nothing: %s", source.name, outcome.unreachable)
                summary.failed_sources.append((source.name, outcome.unreachable))
    if not paths and not listed:
        paths = [str(SAMPLES_DIR)]
    plan = plan_files_task.with_options(**waiting)(paths, crawled, db, exclude)
    plan.to_process = tag_sources(plan.to_process, listed, crawled_by)
    _count_plan(summary, plan)
    planned_batches = batches(plan.to_process, batch_bytes, batch_files)
    logger.info(
        "%s: %d new, %d changed, %d unchanged, %d still failing, %d duplicates, %d ignored; %s to extract on %s",
        plural(summary.files_seen, "file"), summary.files_new, summary.files_changed, summary.files_unchanged,
        summary.files_still_failing, summary.files_duplicate, summary.files_ignored,
        plural(len(planned_batches), "batch", "batches"),
        dask.describe() if dask and planned_batches else "this process",
    )

    pending: deque = deque()
    done_files = 0
    staging: Staging | None = None

    def load(batch: LoadBatch) -> None:
        nonlocal staging
        if staging is None:  # copied as late as possible, so that writers in the day are not refused for long
            staging = stage_warehouse.with_options(**waiting)(db, run_id)
        load_into_staging(staging, batch, run_id)

    def load_next() -> None:
        nonlocal done_files
        batch = _extracted_or_failed(*pending.popleft())
        load(batch)
        failed = batch.files.filter(batch.files["status"] == "failed")
        summary.files_loaded += batch.reports.height
        summary.files_failed += failed.height
        summary.facts_loaded += batch.facts.height
        summary.checks_failed += batch.checks.filter(~batch.checks["passed"]).height
        summary.failures.extend(failed.select("path", "reason", "error").iter_rows())
        done_files += batch.files.height
        logger.info("%d of %s extracted and loaded; %d of them failed", done_files,
                    plural(len(plan.to_process), "file"), summary.files_failed - summary.files_still_failing)

    try:
        if plan.records:
            load(records_batch(plan.records))
        with extraction_runner(dask if planned_batches else None, [f.path for f in plan.to_process]) as extraction:
            # A bounded window of batches in flight keeps memory flat however large the corpus.
            for files in planned_batches:
                pending.append((extraction.runner.submit(extract_batch, {"files": files}), files))
                if len(pending) >= extraction.in_flight:
                    load_next()
            while pending:
                load_next()
        if staging is None:
            staging = stage_warehouse.with_options(**waiting)(db, run_id)
        publish_warehouse.with_options(**waiting)(
            staging, run_id, flow_run.run_count or 1, flow_run.get_name(), started_at,
            "failed" if summary.failed else "completed", summary.counts(), fetches,
        )
    except BaseException:
        if staging is not None:
            discard_path(staging.path)
        raise
    return summary


def _count_plan(summary: IngestSummary, plan: Plan) -> None:
    """What the plan already knows: every file found, and those that are not extracted."""
    summary.files_seen = plan.files_seen
    summary.files_unchanged = len(plan.unchanged)
    summary.files_still_failing = len(plan.still_failing)
    summary.files_failed = len(plan.still_failing)
    summary.failures.extend((f.path, f.reason, f.message) for f in plan.still_failing)
    summary.files_duplicate = plan.duplicates
    summary.files_ignored = plan.ignored
    novelty = Counter(plan.novelty.values())
    summary.files_new, summary.files_changed = novelty["new"], novelty["changed"]
