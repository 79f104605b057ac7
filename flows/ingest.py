"""The ingest flow: plan which files changed, extract them in batches, load each batch.

One Prefect task per batch, not per file (a task costs ~10 ms of orchestration); each
file's outcome is kept in the warehouse's ingest_files table. The flow ends Failed when
any file failed, after every good file has been loaded.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from extractors.files import discover
from extractors.report import PARSER_VERSION
from flows.pipeline import process_batch
from flows.sources import load_sources
from warehouse.store import LoadBatch, WarehouseLocked, connect, finish_run, known_files, load_batch, start_run

DEFAULT_DB = "nianbao.duckdb"
SAMPLES_DIR = Path(__file__).with_name("samples")
#: Batches are cut by bytes so that memory per batch stays bounded whatever the file sizes.
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
DEFAULT_BATCH_FILES = 500
#: A warehouse held by another writer is waited for this long in all before the run fails.
LOCK_RETRY_DELAYS = [2, 5, 15]
FAILURES_IN_ARTIFACT = 200
BATCHES_IN_FLIGHT = 4


@dataclass(frozen=True)
class PlannedFile:
    path: str
    sha256: str
    size_bytes: int


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


@task(name="plan-files", retries=len(LOCK_RETRY_DELAYS), retry_delay_seconds=LOCK_RETRY_DELAYS,
      retry_condition_fn=_warehouse_busy)
def plan_files(paths: list[str], db: str, run_id: str, run_name: str | None) -> Plan:
    """Record the run, hash every file and compare with the warehouse: unchanged files are not extracted again."""
    files = []
    for path in discover(paths):
        data = path.read_bytes()
        files.append(PlannedFile(str(path), hashlib.sha256(data).hexdigest(), len(data)))
    with connect(db) as conn:
        start_run(conn, run_id, run_name)
        known = known_files(conn, [f.path for f in files])
    plan = Plan(to_process=[], unchanged=[])
    for planned in files:
        before = known.get(planned.path)
        if before and before.sha256 == planned.sha256 and before.status == "loaded" and before.parser_version == PARSER_VERSION:
            plan.unchanged.append(planned.path)
        else:
            plan.to_process.append(planned)
            plan.novelty[planned.path] = "changed" if before else "new"
    return plan


@task(name="extract-batch")
def extract_batch(paths: list[str]) -> LoadBatch:
    return process_batch(paths)


@task(name="load-batch", retries=len(LOCK_RETRY_DELAYS), retry_delay_seconds=LOCK_RETRY_DELAYS,
      retry_condition_fn=_warehouse_busy)
def load_into_warehouse(db: str, batch: LoadBatch, run_id: str | None) -> None:
    with connect(db) as conn:
        load_batch(conn, batch, run_id)


@task(name="record-run", retries=len(LOCK_RETRY_DELAYS), retry_delay_seconds=LOCK_RETRY_DELAYS,
      retry_condition_fn=_warehouse_busy)
def record_run(db: str, run_id: str, status: str, counts: dict[str, int]) -> None:
    with connect(db) as conn:
        finish_run(conn, run_id, status, counts)


@flow(name="nianbao-ingest")
def ingest_flow(
    paths: list[str] | None = None,
    db: str = DEFAULT_DB,
    sources: str | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    batch_files: int = DEFAULT_BATCH_FILES,
):
    """Ingest report files into the DuckDB warehouse at `db`.

    The files are `paths` plus those the `sources` file lists (read at run time); with
    neither, the bundled samples.
    """
    logger = get_run_logger()
    paths = list(paths or []) + [str(source.path) for source in (load_sources(sources) if sources else [])]
    run_id = flow_run.get_id()
    summary = IngestSummary(run_id=run_id)
    plan = plan_files(paths or [str(SAMPLES_DIR)], db, run_id, flow_run.get_name())
    summary.files_seen = len(plan.to_process) + len(plan.unchanged)
    summary.files_unchanged = len(plan.unchanged)
    novelty = Counter(plan.novelty.values())
    summary.files_new, summary.files_changed = novelty["new"], novelty["changed"]
    planned_batches = batches(plan.to_process, batch_bytes, batch_files)
    logger.info(
        "%d files: %d new, %d changed, %d unchanged; %d batches to extract",
        summary.files_seen, summary.files_new, summary.files_changed, summary.files_unchanged, len(planned_batches),
    )

    pending: deque = deque()
    done_files = 0

    def load_next() -> None:
        nonlocal done_files
        batch = pending.popleft().result()
        load_into_warehouse(db, batch, run_id)
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

    # A bounded window of batches in flight keeps memory flat however large the corpus.
    for batch in planned_batches:
        pending.append(extract_batch.submit([f.path for f in batch]))
        if len(pending) >= BATCHES_IN_FLIGHT:
            load_next()
    while pending:
        load_next()

    record_run(db, run_id, "failed" if summary.files_failed else "completed", summary.counts())
    create_markdown_artifact(
        key="nianbao-ingest-summary", markdown=summary.to_markdown(), description=f"nianbao ingest into {db}"
    )
    if summary.files_failed:
        return Failed(message=f"{summary.files_failed} of {summary.files_seen} files failed", data=summary)
    return Completed(message=f"{summary.files_loaded} files loaded", data=summary)
