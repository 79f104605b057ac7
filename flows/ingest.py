"""The ingest flow: plan which files changed, extract them in batches, load each batch.

One Prefect task per batch, not per file (a task costs ~10 ms of orchestration); each
file's outcome is kept in the warehouse's ingest_files table. The flow ends Failed when
any file failed, after every good file has been loaded.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from extractors.files import discover
from extractors.report import PARSER_VERSION
from flows.pipeline import process_batch
from warehouse.store import LoadBatch, connect, finish_run, known_files, load_batch, start_run

DEFAULT_DB = "nianbao.duckdb"
SAMPLES_DIR = Path(__file__).with_name("samples")
#: Batches are cut by bytes so that memory per batch stays bounded whatever the file sizes.
DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
DEFAULT_BATCH_FILES = 500


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
    failures: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "files_seen": self.files_seen, "files_loaded": self.files_loaded, "files_unchanged": self.files_unchanged,
            "files_failed": self.files_failed, "facts_loaded": self.facts_loaded, "checks_failed": self.checks_failed,
        }


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


@task(name="plan-files")
def plan_files(paths: list[str], db: str) -> Plan:
    """Hash every file and compare with the warehouse: unchanged files are not extracted again."""
    files = []
    for path in discover(paths):
        data = path.read_bytes()
        files.append(PlannedFile(str(path), hashlib.sha256(data).hexdigest(), len(data)))
    with connect(db) as conn:
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


@task(name="load-batch")
def load_into_warehouse(db: str, batch: LoadBatch, run_id: str | None) -> None:
    with connect(db) as conn:
        load_batch(conn, batch, run_id)


@flow(name="nianbao-ingest")
def ingest_flow(
    paths: list[str] | None = None,
    db: str = DEFAULT_DB,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    batch_files: int = DEFAULT_BATCH_FILES,
):
    """Ingest report files (default: the bundled samples) into the DuckDB warehouse at `db`."""
    logger = get_run_logger()
    run_id = flow_run.get_id()
    summary = IngestSummary(run_id=run_id)
    with connect(db) as conn:
        start_run(conn, run_id, flow_run.get_name())

    plan = plan_files(paths or [str(SAMPLES_DIR)], db)
    summary.files_seen = len(plan.to_process) + len(plan.unchanged)
    summary.files_unchanged = len(plan.unchanged)
    novelty = Counter(plan.novelty.values())
    summary.files_new, summary.files_changed = novelty["new"], novelty["changed"]
    planned_batches = batches(plan.to_process, batch_bytes, batch_files)
    logger.info(
        "%d files: %d new, %d changed, %d unchanged; %d batches to extract",
        summary.files_seen, summary.files_new, summary.files_changed, summary.files_unchanged, len(planned_batches),
    )

    futures = [extract_batch.submit([f.path for f in batch]) for batch in planned_batches]
    done_files = 0
    for number, future in enumerate(futures, start=1):
        batch = future.result()
        load_into_warehouse(db, batch, run_id)
        failed = batch.files.filter(batch.files["status"] == "failed")
        summary.files_loaded += batch.reports.height
        summary.files_failed += failed.height
        summary.facts_loaded += batch.facts.height
        summary.checks_failed += batch.checks.filter(~batch.checks["passed"]).height
        summary.failures.extend(zip(failed["path"].to_list(), failed["error"].to_list()))
        done_files += batch.files.height
        logger.info(
            "batch %d/%d loaded: %d/%d files done (%d failed so far)",
            number, len(futures), done_files, len(plan.to_process), summary.files_failed,
        )

    status = "failed" if summary.files_failed else "completed"
    with connect(db) as conn:
        finish_run(conn, run_id, status, summary.counts())
    if summary.files_failed:
        return Failed(message=f"{summary.files_failed} of {summary.files_seen} files failed", data=summary)
    return Completed(message=f"{summary.files_loaded} files loaded", data=summary)
