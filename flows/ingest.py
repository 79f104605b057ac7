"""The ingest flow: `flows.api.ingest` run as a Prefect flow, each step a task (flows/tasks.py).

Prefect adds what it is for: the run's state and its artifact in the UI, retries while the
warehouse is busy, extracted batches cached so that Retry on a failed run extracts only what had
not completed (the runs row then says attempt 2), and Dask through the task runner. The flow
ends Failed when any file failed, after every good file has been published.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from flows import api
from flows.batching import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_FILES
from flows.dask_settings import choose_dask
from flows.publish import RunInfo
from flows.sources import load_dask_settings
from flows.tasks import TaskSteps
from warehouse.run_lock import DEFAULT_RUN_LOCK_WAIT_SECONDS


@flow(name="nianbao-ingest")
def ingest_flow(
    paths: list[str] | None = None,
    db: str = api.DEFAULT_DB,
    sources: str | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    batch_files: int = DEFAULT_BATCH_FILES,
    lock_retry_delays: list[float] = list(api.LOCK_RETRY_DELAYS),  # noqa: B006 (a parameter the UI shows; never mutated)
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
    run_id = flow_run.get_id()
    assert run_id is not None, "ingest_flow runs as a flow run"
    db = str(Path(db).resolve())
    dask = choose_dask(dask_address, dask_workers, load_dask_settings(sources) if sources else None)
    summary = api.ingest(
        paths, db, sources=sources, source_kinds=source_kinds, exclude=exclude or [], batch_bytes=batch_bytes,
        batch_files=batch_files, run_lock_wait_seconds=run_lock_wait_seconds, write_report_page=write_report_page,
        run=RunInfo(run_id, flow_run.get_name(), flow_run.run_count or 1),
        steps=TaskSteps(lock_retry_delays, dask),
    )
    create_markdown_artifact(
        key="nianbao-ingest-summary", markdown=summary.to_markdown(), description=f"{summary.title} into {db}"
    )
    create_table_artifact(
        key="nianbao-ingest-counts", table=[summary.counts()], description=f"What {summary.title} did to {db}"
    )
    if summary.failed:
        return Failed(message=summary.state_message(), data=summary)
    return Completed(message=summary.state_message(), data=summary)
