"""A run's only writes: its batches loaded into a private copy of the warehouse, the copy published.

The night is loaded into a copy (warehouse/staging.py), made at its first batch, and swapped in
for the published file with one rename at the end, so that readers never wait and never see
half a night. Without Prefect: the flow runs these as tasks (flows/tasks.py).
"""

from __future__ import annotations

import ctypes
import gc
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warehouse.analyst import refresh_analyst_tables
from warehouse.staging import Staging, loading, publish, publishing
from warehouse.store import LoadBatch, load_batch, record_fetches, record_run


@dataclass(frozen=True)
class RunInfo:
    """Who loads: the run's id (the runs row, the copy's name, the run lock), its name, and its attempt
    (a flow run retried from the UI is attempt 2)."""

    id: str
    name: str | None = None
    attempt: int = 1


def load_into(staging: Staging, batch: LoadBatch, run_id: str) -> None:
    """One batch into the copy, in one transaction, on the run's open connection to it (opened once per run)."""
    with loading(staging) as conn:
        load_batch(conn, batch, run_id)


def publish_run(staging: Staging, run: RunInfo, started_at: datetime, status: str, counts: dict[str, int],
                fetches: list[dict]) -> None:
    """Record the run and its crawl fetches in the copy, then swap the copy in for the published file."""
    return_freed_memory()
    with publishing(staging) as conn:
        refresh_analyst_tables(conn, run.id)
        record_fetches(conn, fetches)
        record_run(conn, run.id, run.attempt, run.name, started_at, status, counts)
    publish(staging)


def return_freed_memory() -> None:
    """Give what extraction freed back to the system before the publish takes DuckDB's memory: Python's cyclic
    garbage first (a finished task's futures hold its state in a cycle), then the free pages of C's heap.
    At 10,000 reports the publish started 26 MB lower."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim this way
        pass


def report_page_for(db: str | Path) -> Path:
    """nianbao.duckdb -> nianbao.report.html, beside it."""
    return Path(db).with_name(f"{Path(db).stem}.report.html")


def write_report_page(db: str) -> str:
    """The published warehouse's charts, written beside it; returns the page's path."""
    from warehouse.html_report.page import write_report

    return str(write_report(db, report_page_for(db)).path)
