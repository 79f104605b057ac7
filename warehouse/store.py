"""Opening the DuckDB file and loading batches into it, each in one short transaction.

A batch's load deletes the previous facts and checks of its reports and inserts the new
ones inside one transaction, so a crash leaves the previous state and a re-run of the same
files changes nothing.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from warehouse.cell_codes import in_cell_order
from warehouse.schema import SCHEMA_VERSION, ensure_schema
from warehouse.sql import registered, scalar, transaction
from warehouse.tables import FETCHES, FrameMismatch, check_frame, frame_schema, loaded_schema
from warehouse.wide import delete_wide_rows

FETCH_COLUMNS = tuple(FETCHES)
#: The files frame of a batch: a file's row of ingest_files, without what the load adds (run_id, updated_at).
FILE_SCHEMA = loaded_schema("ingest_files")
#: DuckDB's memory for a writer (loads, publish, migrations) unless NIANBAO_DUCKDB_MEMORY_LIMIT says otherwise:
#: beyond it DuckDB spills to a temporary directory beside the warehouse. DuckDB's own default is 80% of RAM,
#: which lets a load's buffer pool grow with the warehouse.
DEFAULT_MEMORY_LIMIT = "256MB"
MEMORY_LIMIT_VARIABLE = "NIANBAO_DUCKDB_MEMORY_LIMIT"
#: DuckDB's memory for a run's copy while batches load into it (NIANBAO_DUCKDB_LOAD_MEMORY_LIMIT). A batch's
#: statements need little; what fills the limit is the rows loaded since the last checkpoint (up to 64 MB of
#: log, warehouse/staging.py) and blocks of the copy. At 10,000 mixed reports: the phase's median 463 MB under
#: 128MB (DuckDB's own use went 40 -> 105 MB and back at each checkpoint), 431 MB under 64MB, flat across the
#: run, for the same CPU. The publish goes back to the writers' limit (warehouse/staging.py's `publishing`).
DEFAULT_LOAD_MEMORY_LIMIT = "64MB"
LOAD_MEMORY_LIMIT_VARIABLE = "NIANBAO_DUCKDB_LOAD_MEMORY_LIMIT"
#: The block size of the warehouse files nianbao makes. Writing a table holds a block per column, and the
#: wide tables have some 530: with DuckDB's default of 256 KiB, writing the wide rows of 10,000 reports took
#: the process 290 MB above where it started (under the writers' 256 MB) and their checkpoint failed below
#: 183 MiB. With 64 KiB blocks: 170 MB above, under 256 or 96 MB alike, for the same CPU, and an 11% smaller
#: file. 32 and 16 KiB saved no more memory and cost 7-13% more CPU.
BLOCK_SIZE = 65536
#: DuckDB's memory while a warehouse is converted to BLOCK_SIZE (once). At 100,000 reports: a new process went
#: 118 -> 535 MB under the writers' 256 MB, 118 -> 312 under 128 MB (60 CPU s instead of 39); 64 MB ran out.
#: What it needs follows the tables' widths, not their lengths.
CONVERSION_MEMORY_LIMIT = "128MB"
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")
#: Warehouse files (path, inode) whose schema and views this process has already made: a writer that opens
#: the same file again skips re-creating the views, which costs ~0.2 s each time.
_ENSURED: set[tuple[str, int]] = set()


class WarehouseLocked(RuntimeError):
    """Another process holds the DuckDB file for writing."""

    def __init__(self, path: str, holder: str | None, pid: str | None) -> None:
        who = f"process {pid} ({holder})" if pid else "another process"
        super().__init__(
            f"{path} is locked by {who}. DuckDB allows one writer at a time: wait for that process "
            "to finish, or close the session holding the file (a `duckdb` shell or a notebook opened for "
            "writing; `nianbao sql` and read-only sessions never block), then run again or press Retry on the "
            "failed flow run in the Prefect UI."
        )
        self.path, self.holder, self.pid = path, holder, pid


class NotAWarehouse(RuntimeError):
    """The file at the warehouse path is not a nianbao warehouse; nianbao refuses to touch it."""

    def __init__(self, path: str, what: str) -> None:
        super().__init__(
            f"{path} {what}, not a nianbao warehouse; nianbao leaves it untouched. Give --db a new file name "
            "(it is created) or an existing nianbao warehouse."
        )
        self.path = path


def _foreign_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """User tables and views of a file that has no nianbao schema; [] for an empty DuckDB file."""
    names = [row[0] for row in conn.execute(
        "select table_name from information_schema.tables where table_catalog = current_database() "
        "and table_schema = 'main' order by 1"
    ).fetchall()]
    return [] if "schema_info" in names else names


def refuse_foreign(conn: duckdb.DuckDBPyConnection, path: str) -> None:
    """Raise NotAWarehouse when the file holds tables of something else than nianbao."""
    foreign = _foreign_tables(conn)
    if foreign:
        raise NotAWarehouse(path, f"is a DuckDB file holding other tables ({', '.join(foreign[:5])})")


def is_empty_file(path: str | Path) -> bool:
    """A zero-byte file where the warehouse should be (a `touch`, or an interrupted copy): taken as a new one."""
    try:
        return os.stat(path).st_size == 0
    except OSError:
        return False


@contextmanager
def connect(db_path: str | Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that says who holds the file when it is locked; the schema is ensured for writers."""
    conn = open_database(db_path, read_only=read_only)
    try:
        yield conn
    finally:
        conn.close()


def open_database(db_path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """What `connect` yields, for a caller that keeps the connection open (a run's copy: warehouse/staging.py)."""
    path = str(db_path)
    if read_only and not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such warehouse; run `nianbao ingest` first")
    if not read_only and is_empty_file(path):
        os.unlink(path)  # DuckDB refuses a zero-byte file; it held nothing
    if not read_only and not Path(path).exists():
        _create(path)
    try:
        conn = duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        match = _LOCK_HOLDER.search(str(exc))
        if match or "lock" in str(exc).lower():
            raise WarehouseLocked(path, *(match.groups() if match else (None, None))) from exc
        if "not a valid DuckDB database file" in str(exc):
            raise NotAWarehouse(path, "is not a DuckDB database file") from exc
        raise
    try:
        if not read_only:
            conn.execute(f"set memory_limit = '{memory_limit()}'")
            _ensure_once(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _create(path: str) -> None:
    """A new, empty DuckDB file with nianbao's BLOCK_SIZE (a file's block size is chosen when it is made)."""
    with duckdb.connect() as conn:
        conn.execute(f"attach {_quoted(path)} as new_warehouse (block_size {BLOCK_SIZE})")


def _quoted(path: str | Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def block_size(conn: duckdb.DuckDBPyConnection) -> int:
    """The block size of the file `conn` opened."""
    return scalar(conn, "select block_size from pragma_database_size() where database_name = current_database()")


def copy_with_block_size(conn: duckdb.DuckDBPyConnection, target: str | Path) -> None:
    """Write the database `conn` opened (read-only will do) to the new file `target`, with nianbao's BLOCK_SIZE:
    every table's rows in their order, views, constraints. For warehouses made before nianbao chose its
    block size, once: the run's copy is made this way instead of copied byte for byte."""
    source = scalar(conn, "select current_database()")
    conn.execute(f"set memory_limit = '{CONVERSION_MEMORY_LIMIT}'; set enable_progress_bar = false")
    conn.execute(f"attach {_quoted(target)} as converted_warehouse (block_size {BLOCK_SIZE}, read_only false)")
    try:
        conn.execute(f'copy from database "{source}" to converted_warehouse')
    finally:
        conn.execute("detach converted_warehouse")


def memory_limit() -> str:
    """DuckDB's memory limit for writers: NIANBAO_DUCKDB_MEMORY_LIMIT (e.g. 1GB), else DEFAULT_MEMORY_LIMIT."""
    return os.environ.get(MEMORY_LIMIT_VARIABLE) or DEFAULT_MEMORY_LIMIT


def load_memory_limit() -> str:
    """DuckDB's memory limit while a run loads its batches: NIANBAO_DUCKDB_LOAD_MEMORY_LIMIT, else DEFAULT_LOAD_MEMORY_LIMIT."""
    return os.environ.get(LOAD_MEMORY_LIMIT_VARIABLE) or DEFAULT_LOAD_MEMORY_LIMIT


def _ensure_once(conn: duckdb.DuckDBPyConnection, path: str) -> None:
    """ensure_schema, skipped when this process already ran it on this very file and it is still current.

    A file of other tables is refused before the schema would be added to it.
    """
    try:
        key = (os.path.realpath(path), os.stat(path).st_ino)
    except OSError:  # not a file (":memory:")
        refuse_foreign(conn, path)
        ensure_schema(conn)
        return
    if key in _ENSURED:
        try:
            if conn.execute("select max(schema_version) from schema_info").fetchall() == [(SCHEMA_VERSION,)]:
                return
        except duckdb.CatalogException:
            pass
    refuse_foreign(conn, path)
    ensure_schema(conn)
    _ENSURED.add(key)


@dataclass(frozen=True)
class KnownFile:
    """A file's row in ingest_files: what the last run that read it made of it."""

    sha256: str
    status: str
    parser_version: str | None
    reason: str | None
    error: str | None
    report_id: str | None
    updated_at: datetime


KNOWN_FILE_COLUMNS = ("path", *(f.name for f in fields(KnownFile)))


def known_files(conn: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, KnownFile]:
    """What the warehouse already holds for these paths, to skip unchanged files."""
    refuse_foreign(conn, conn_path(conn))
    if not paths:
        return {}
    if not scalar(conn, "select count(*) from information_schema.tables where table_name = 'ingest_files'"):
        return {}  # an empty DuckDB file: a new warehouse
    with registered(conn, "_wanted", pl.DataFrame({"path": paths}).to_arrow()):
        rows = conn.execute(
            f"select {', '.join(KNOWN_FILE_COLUMNS)} from ingest_files join _wanted using (path)"
        ).fetchall()
    return {row[0]: KnownFile(*row[1:]) for row in rows}


def loaded_files_with_hashes(conn: duckdb.DuckDBPyConnection, hashes: list[str]) -> dict[str, tuple[str, str]]:
    """sha256 -> (path, report_id) of a file loaded as a report: the bytes a new path duplicates."""
    if not hashes or not scalar(conn, "select count(*) from information_schema.tables where table_name = 'ingest_files'"):
        return {}
    with registered(conn, "_hashes", pl.DataFrame({"sha256": hashes}).to_arrow()):
        rows = conn.execute(
            "select sha256, min(path), arg_min(report_id, path) from ingest_files join _hashes using (sha256) "
            "where status = 'loaded' group by sha256"
        ).fetchall()
    return {sha: (path, report_id) for sha, path, report_id in rows}


def conn_path(conn: duckdb.DuckDBPyConnection) -> str:
    return scalar(conn, "select path from duckdb_databases() where database_name = current_database()")


@dataclass
class LoadBatch:
    """One batch as plain frames: what the transforms made, ready to be written."""

    reports: pl.DataFrame
    facts: pl.DataFrame
    checks: pl.DataFrame
    #: One row per file (FILE_SCHEMA): path, sha256, size_bytes, status, reason, error, report_id, ...
    files: pl.DataFrame

    def __reduce__(self) -> tuple:
        """Pickled as zstd-compressed Arrow IPC, ~40x smaller than polars' own pickle.

        A batch is pickled whenever it leaves its process: Prefect persists each extracted batch
        with lzma, whose time grows with the bytes it is given (0.9 s for the 4 MB pickle of
        125 reports, as long as extracting 60 of them), and a distributed runner ships it.
        """
        return _batch_from_ipc, tuple(_frame_to_ipc(getattr(self, f.name)) for f in fields(self))


def _frame_to_ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="zstd")
    return buffer.getvalue()


def _batch_from_ipc(*frames: bytes) -> LoadBatch:
    return LoadBatch(*(pl.read_ipc(io.BytesIO(data)) for data in frames))


def load_batch(conn: duckdb.DuckDBPyConnection, batch: LoadBatch, run_id: str | None) -> None:
    """Replace the batch's reports, facts and checks and record every file's status, atomically.

    A replaced report's wide rows are deleted; the publish writes the run's reports' wide rows (sync_wide_rows
    in refresh_analyst_tables), once for the run rather than per batch: a batch's few rows in some 260 columns
    cost more to commit and checkpoint than its facts.

    Raises FrameMismatch (warehouse/tables.py) when a frame lacks a column of its table or has one it does not.
    """
    for table, frame in (("reports", batch.reports), ("facts", batch.facts), ("checks", batch.checks),
                         ("ingest_files", batch.files)):
        check_frame(table, frame)
    now = datetime.now()
    reports = batch.reports.with_columns(run_id=pl.lit(run_id, pl.String), loaded_at=pl.lit(now))
    files = batch.files.with_columns(run_id=pl.lit(run_id, pl.String), updated_at=pl.lit(now))
    # In cell order, with each fact's cell_id: a question on one cell tests runs of the batch's length (cell_codes.py).
    facts = in_cell_order(conn, batch.facts)
    frames = {"_reports": reports, "_facts": facts, "_checks": batch.checks, "_files": files}
    with ExitStack() as frames_registered:
        for name, frame in frames.items():
            # Arrow's string views, as polars holds its strings: no copy into Arrow's older string layout.
            frames_registered.enter_context(registered(conn, name, frame.to_arrow(compat_level=pl.CompatLevel.newest())))
        with transaction(conn):
            # New reports replace nothing: the deletes scan every fact, so they are run only when needed.
            replaced = conn.execute("select count(*) from reports where report_id in (select report_id from _reports)")
            if replaced.fetchall()[0][0]:
                for table in ("facts", "checks", "reports"):
                    conn.execute(f"delete from {table} where report_id in (select report_id from _reports)")
                delete_wide_rows(conn, "_reports")
            conn.execute("insert into reports by name select * from _reports")
            conn.execute("insert into facts by name select * from _facts")
            conn.execute("insert into checks by name select * from _checks")
            # A file that loaded before and now fails keeps its last good report, marked as failing; a failed or
            # ignored file's row keeps pointing at the report it had. Both read ingest_files, which grows with
            # the warehouse: a batch whose files all loaded skips them.
            if batch.files.filter(pl.col("status").is_in(["failed", "ignored"])).height:
                conn.execute(
                    """update reports set source_status = 'failing', source_error = f.error
                       from _files f join ingest_files i using (path)
                       where f.status = 'failed' and f.reason <> 'batch_failed' and i.report_id = reports.report_id"""
                )
                conn.execute(
                    """insert or replace into ingest_files by name
                       select f.* replace (coalesce(f.report_id, i.report_id) as report_id)
                       from _files f left join ingest_files i on i.path = f.path and f.status in ('failed', 'ignored')"""
                )
            else:
                conn.execute("insert or replace into ingest_files by name select * from _files")


RUN_COUNTS = (
    "files_seen", "files_loaded", "files_unchanged", "files_failed", "files_ignored", "files_duplicate",
    "facts_loaded", "checks_failed", "sources_failed",
)


def record_run(
    conn: duckdb.DuckDBPyConnection, run_id: str, attempt: int, flow_run_name: str | None, started_at: datetime,
    status: str, counts: dict[str, int],
) -> None:
    """One row per attempt of a flow run (a Retry is the next attempt), published with the night's load."""
    conn.execute(
        f"""insert or replace into runs (run_id, attempt, flow_run_name, started_at, finished_at, status,
            {', '.join(RUN_COUNTS)}) values (?, ?, ?, ?, ?, ?, {', '.join('?' * len(RUN_COUNTS))})""",
        [run_id, attempt, flow_run_name, started_at, datetime.now(), status, *(counts[name] for name in RUN_COUNTS)],
    )


def record_fetches(conn: duckdb.DuckDBPyConnection, records: list[dict]) -> None:
    """A crawl's fetches, one row per URL it met; a resumed crawl's earlier fetches are kept, not doubled.

    Each record holds every column of fetches (fetched_at as ISO text); one that lacks some raises FrameMismatch.
    """
    if not records:
        return
    for record in records:
        missing = [name for name in FETCH_COLUMNS if name not in record]
        if missing:
            raise FrameMismatch(f"a fetch record of {record.get('url')} lacks {', '.join(missing)}: the crawler and "
                                "warehouse/tables.py disagree (a bug in nianbao)")
    schema = frame_schema("fetches") | {"fetched_at": pl.String}
    frame = pl.DataFrame([{name: record[name] for name in FETCH_COLUMNS} for record in records], schema=schema)
    frame = frame.with_columns(pl.col("fetched_at").str.to_datetime(time_unit="us"))
    with registered(conn, "_fetches", frame.to_arrow()):
        conn.execute("insert or replace into fetches by name select * from _fetches")
