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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from distributed import KilledWorker
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from extractors.crawl import CrawledDocument, CrawlOutcome, CrawlSettings, crawl
from extractors.files import SourceRef, discover
from extractors.report import PARSER_VERSION
from flows.cluster import choose_dask, extraction_runner
from flows.pipeline import extraction_code_version, failed_batch, process_batch
from flows.sources import CrawlSource, DirectorySource, load_dask_settings, load_sources, tag_sources
from warehouse.analyst import refresh_analyst_tables
from warehouse.staging import Staging, discard_path, publish, stage
from warehouse.store import LoadBatch, WarehouseLocked, connect, known_files, load_batch, record_fetches, record_run

DEFAULT_DB = "nianbao.duckdb"
SAMPLES_DIR = Path(__file__).with_name("samples")
#: Batches are cut by bytes so that memory per batch stays bounded whatever the file sizes.
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
DEFAULT_BATCH_FILES = 500
#: A warehouse held by another writer is waited for this long in all before the run fails.
LOCK_RETRY_DELAYS = [2, 5, 15]
#: Extracted batches are kept for a retry of the flow run; after this they are extracted again.
EXTRACT_CACHE_EXPIRATION = timedelta(days=7)
FAILURES_IN_ARTIFACT = 200


@dataclass(frozen=True)
class PlannedFile:
    path: str
    sha256: str
    size_bytes: int
    #: For a crawled file: where it came from (its report id) and the charset the server declared.
    url: str | None = None
    http_charset: str | None = None
    #: The sources-file entry it came through and that entry's `region` (see flows/sources.py).
    source: str | None = None
    region: str | None = None


@dataclass
class Plan:
    to_process: list[PlannedFile]
    unchanged: list[str]
    #: path -> 'new' or 'changed', for the summary.
    novelty: dict[str, str] = field(default_factory=dict)


@dataclass
class IngestSummary:
    run_id: str | None = None
    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_loaded: int = 0
    files_failed: int = 0
    facts_loaded: int = 0
    checks_failed: int = 0
    #: Crawl fetches by outcome: downloaded, not_modified, refused, failed.
    fetches: Counter = field(default_factory=Counter)
    #: (path, reason, error) of every failed file.
    failures: list[tuple[str, str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "files_seen": self.files_seen, "files_loaded": self.files_loaded, "files_unchanged": self.files_unchanged,
            "files_failed": self.files_failed, "facts_loaded": self.facts_loaded, "checks_failed": self.checks_failed,
        }

    def to_markdown(self) -> str:
        """The run's artifact: counts, top failure reasons and the failed files."""
        lines = [
            "# nianbao ingest",
            "",
            "| files seen | new | changed | unchanged | loaded | failed | facts loaded | checks failed |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {self.files_seen} | {self.files_new} | {self.files_changed} | {self.files_unchanged} | "
            f"{self.files_loaded} | {self.files_failed} | {self.facts_loaded} | {self.checks_failed} |",
        ]
        if self.fetches:
            lines += [
                "", "| URLs downloaded | not modified | refused | failed |", "|---:|---:|---:|---:|",
                f"| {self.fetches['downloaded']} | {self.fetches['not_modified']} | {self.fetches['refused']} | "
                f"{self.fetches['failed']} |",
                "", "Refused and failed URLs, with the reason: `select * from fetches where outcome in ('refused', 'failed')`.",
            ]
        if self.failures:
            reasons = Counter(reason for _, reason, _ in self.failures).most_common()
            lines += ["", "## Top failure reasons", "", "| reason | files |", "|---|---:|"]
            lines += [f"| {reason} | {count} |" for reason, count in reasons]
            lines += ["", "## Failed files", "", "| file | error |", "|---|---|"]
            lines += [
                f"| {path} | {error.replace('|', '/')} |" for path, _, error in self.failures[:FAILURES_IN_ARTIFACT]
            ]
            if len(self.failures) > FAILURES_IN_ARTIFACT:
                lines.append(f"| … | {len(self.failures) - FAILURES_IN_ARTIFACT} more in the ingest_files table |")
        return "\n".join(lines) + "\n"


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
                      f"{planned.region}\n".encode())
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
def plan_files(paths: list[str], crawled: list[CrawledDocument], db: str) -> Plan:
    """Hash every file and compare with the published warehouse: unchanged files are not extracted again."""
    files = []
    for path in discover(paths):
        data = path.read_bytes()
        files.append(PlannedFile(str(path), hashlib.sha256(data).hexdigest(), len(data)))
    for document in {d.path: d for d in crawled}.values():  # identical bytes at two URLs are one report
        data = Path(document.path).read_bytes()
        files.append(PlannedFile(document.path, hashlib.sha256(data).hexdigest(), len(data), document.url,
                                 document.http_charset))
    known = {}
    if Path(db).exists():
        with connect(db, read_only=True) as conn:
            known = known_files(conn, [f.path for f in files])
    plan = Plan(to_process=[], unchanged=[])
    for planned in files:
        before = known.get(planned.path)
        # The same bytes through the same parser give the same result, a failure included: not redone.
        if before and before.sha256 == planned.sha256 and before.parser_version == PARSER_VERSION:
            plan.unchanged.append(planned.path)
        else:
            plan.to_process.append(planned)
            plan.novelty[planned.path] = "changed" if before else "new"
    return plan


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
def publish_warehouse(staging: Staging, run_id: str, run_name: str | None, started_at: datetime,
                      status: str, counts: dict[str, int], fetches: list[dict]) -> None:
    """Record the run and its crawl fetches in the copy, then swap the copy in for the published file."""
    with connect(staging.path) as conn:
        refresh_analyst_tables(conn, run_id)
        record_fetches(conn, fetches)
        record_run(conn, run_id, run_name, started_at, status, counts)
    publish(staging)


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
):
    """Ingest report files into the DuckDB warehouse at `db`.

    The files are `paths` plus what the `sources` file lists (read at run time: directories,
    and sites to crawl into raw/ beside the warehouse), restricted to `source_kinds` when
    given; with neither, the bundled samples. The night is loaded into a private copy of the warehouse
    and published at the end with one atomic rename, so readers never wait and never see
    half a night. A warehouse held by another writer is waited for `lock_retry_delays`
    (seconds between attempts) before the run fails.

    Batches of at most `batch_bytes` and `batch_files` are extracted on the Dask cluster whose
    scheduler is at `dask_address`, or on a local Dask cluster of `dask_workers` processes, or
    as the sources file's [dask] table says; with none of them, on this process's threads.
    """
    logger = get_run_logger()
    started_at = datetime.now()
    listed = [s for s in (load_sources(sources) if sources else []) if not source_kinds or s.kind in source_kinds]
    dask = choose_dask(dask_address, dask_workers, load_dask_settings(sources) if sources else None)
    paths = list(paths or []) + [str(source.path) for source in listed if isinstance(source, DirectorySource)]
    db = str(Path(db).resolve())
    run_id = flow_run.get_id()
    waiting = {"retries": len(lock_retry_delays), "retry_delay_seconds": lock_retry_delays}
    summary = IngestSummary(run_id=run_id)
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
    if not paths and not listed:
        paths = [str(SAMPLES_DIR)]
    plan = plan_files.with_options(**waiting)(paths, crawled, db)
    plan.to_process = tag_sources(plan.to_process, listed, crawled_by)
    summary.files_seen = len(plan.to_process) + len(plan.unchanged)
    summary.files_unchanged = len(plan.unchanged)
    novelty = Counter(plan.novelty.values())
    summary.files_new, summary.files_changed = novelty["new"], novelty["changed"]
    planned_batches = batches(plan.to_process, batch_bytes, batch_files)
    logger.info(
        "%d files: %d new, %d changed, %d unchanged; %d batches to extract on %s",
        summary.files_seen, summary.files_new, summary.files_changed, summary.files_unchanged, len(planned_batches),
        dask.describe() if dask and planned_batches else "this process",
    )

    pending: deque = deque()
    done_files = 0
    staging: Staging | None = None

    def load_next() -> None:
        nonlocal done_files, staging
        batch = _extracted_or_failed(*pending.popleft())
        if staging is None:  # copied as late as possible, so that writers in the day are not refused for long
            staging = stage_warehouse.with_options(**waiting)(db, run_id)
        load_into_staging(staging, batch, run_id)
        failed = batch.files.filter(batch.files["status"] == "failed")
        summary.files_loaded += batch.reports.height
        summary.files_failed += failed.height
        summary.facts_loaded += batch.facts.height
        summary.checks_failed += batch.checks.filter(~batch.checks["passed"]).height
        summary.failures.extend(failed.select("path", "reason", "error").iter_rows())
        done_files += batch.files.height
        logger.info(
            "%d/%d files extracted and loaded (%d failed so far)", done_files, len(plan.to_process), summary.files_failed
        )

    try:
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
        status = "failed" if summary.files_failed else "completed"
        publish_warehouse.with_options(**waiting)(
            staging, run_id, flow_run.get_name(), started_at, status, summary.counts(), fetches
        )
    except BaseException:
        if staging is not None:
            discard_path(staging.path)
        raise
    create_markdown_artifact(
        key="nianbao-ingest-summary", markdown=summary.to_markdown(), description=f"nianbao ingest into {db}"
    )
    if summary.files_failed:
        return Failed(message=f"{summary.files_failed} of {summary.files_seen} files failed", data=summary)
    return Completed(message=f"{summary.files_loaded} files loaded", data=summary)
