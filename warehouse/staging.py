"""Loading a night into a private copy of the warehouse and publishing it with one rename.

DuckDB lets one process write a file, and while it writes, readers in other processes are
refused. So a run never writes the published file: it copies it (under a read lock, so no
writer is mid-change), loads every batch into the copy, and publishes the copy with an
atomic rename. Analysts' read-only sessions keep working throughout; a session opened
before the rename sees the state before the night, one opened after sees the night.

The process that loads keeps one connection to the copy from the stage to the publish (`loading`):
closing a DuckDB file checkpoints it, and a connection per batch cost more than the batch's load.
The connection is held here, by the copy's path, because a run passes its `Staging` between Prefect
tasks, whose parameters must stay plain data.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.store import (
    BLOCK_SIZE,
    block_size,
    connect,
    copy_with_block_size,
    is_empty_file,
    load_memory_limit,
    memory_limit,
    open_database,
)

#: DuckDB threads of the connection to a run's copy. A batch's statements are small: a second thread
#: cost more CPU than it saved (loads of 982 generated reports, with their checkpoint: 0.53-0.61 CPU ms
#: per file on one thread, 0.83-1.22 on two, wall time lower too), and the flow's other cores extract.
#: The publish's refresh of the analyst tables runs on this thread too.
COPY_THREADS = 1
#: The copy's rows are checkpointed (compressed into the file) when this much log has gathered, and at
#: the publish. Loads of 982 generated reports with their checkpoints: 0.66-0.70 CPU ms per file at
#: DuckDB's default of 16 MB (one checkpoint in the middle), 0.60-0.63 at 64 MB. The log's rows wait in
#: DuckDB's memory, within its memory limit.
COPY_CHECKPOINT_THRESHOLD = "64MB"
#: Compression methods DuckDB does not try when it writes the copy's rows (its checkpoints). Choosing a
#: string column's compression, DuckDB trains an FSST symbol table on each segment even where dictionary
#: compression wins, as it does for most of nianbao's columns (codes, labels, ids): at 2,000 text reports
#: without FSST the loads' checkpoint took 0.14-0.15 CPU ms per report instead of 0.19-0.20, `changes`
#: 0.34 instead of 0.37, closing the copy 0.08 instead of 0.11 (the whole publish 0.88-0.90 instead of
#: 1.0). The rows are the same; the file is a little larger: 62.7 MB instead of 60.8 for the 10,000 mixed
#: reports' warehouse, 435 instead of 409 MB for 100,000 text reports (BENCHMARKS.md). "" tries them all.
COPY_DISABLED_COMPRESSION = "fsst"
#: The connection of each run's copy open in this process, by the copy's real path.
_OPEN_COPIES: dict[str, duckdb.DuckDBPyConnection] = {}
_OPEN_COPIES_LOCK = threading.Lock()


class WarehouseChanged(RuntimeError):
    """The published warehouse was written by someone else while this run was loading."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} was changed by another process while this run was loading into its copy; "
            "publishing would discard those changes. Find what wrote to it (nianbao writes only through "
            "a copy, so it was a session opened for writing), then run again or press Retry."
        )
        self.path = path


@dataclass(frozen=True)
class FileStamp:
    """Enough of a file's identity to notice that someone wrote to it."""

    inode: int
    size: int
    mtime_ns: int
    wal_size: int | None


def _stamp(path: Path) -> FileStamp | None:
    if not path.exists():
        return None
    stat = path.stat()
    wal = _wal(path)
    return FileStamp(stat.st_ino, stat.st_size, stat.st_mtime_ns, wal.stat().st_size if wal.exists() else None)


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


@dataclass(frozen=True)
class Staging:
    """A run's private copy of the warehouse, and the published file it will replace."""

    published: str
    path: str
    #: The published file as it was when copied; None when there was none yet.
    base: FileStamp | None


def staging_path(published: str | Path, run_id: str) -> Path:
    """Next to the published file, so that the rename stays on one file system."""
    published = Path(published).resolve()
    return published.with_name(f".{published.name}.{run_id}.loading")


def stage(published: str | Path, run_id: str) -> Staging:
    """Copy the published warehouse to this run's private file, replacing any earlier attempt's copy.

    The published file is only ever opened read-only, so analysts' read-only sessions are never
    refused. A log (.wal) left by a writer that stopped without checkpointing is copied with the
    file, and folded in when the copy is opened for writing. A warehouse made with another block size than
    store.BLOCK_SIZE is copied table by table into one with it instead. Raises WarehouseLocked when another
    process holds the published file for writing.
    """
    source = Path(published).resolve()
    target = staging_path(source, run_id)
    discard_path(target)
    base = None
    if is_empty_file(source):
        base = _stamp(source)  # nothing to copy: the copy starts as a new warehouse
    elif source.exists():
        with connect(source, read_only=True) as conn:  # holds off writers while the bytes are copied
            base = _stamp(source)
            if block_size(conn) != BLOCK_SIZE:
                copy_with_block_size(conn, target)  # its log is folded in: the read-only connection replayed it
            else:
                shutil.copyfile(source, target)
                if base is not None and base.wal_size is not None:
                    shutil.copyfile(_wal(source), _wal(target))
    staging = Staging(published=str(source), path=str(target), base=base)
    with loading(staging):  # folds a copied log in, creates or migrates the schema in the copy, and stays open
        pass
    return staging


@contextmanager
def loading(staging: Staging) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the run's one connection to its copy, opened at its first use in this process, under DuckDB's
    load limit (store.load_memory_limit: a larger limit only fills with blocks of the copy).

    The connection stays open until `publish` or `discard_path` closes it. Each use gets a cursor of
    its own (a connection to the same open database), so that Prefect may run each task on another
    thread; closing a cursor neither closes the file nor checkpoints it.
    """
    key = os.path.realpath(staging.path)
    with _OPEN_COPIES_LOCK:
        conn = _OPEN_COPIES.get(key)
        if conn is None:
            conn = open_database(staging.path)  # a migration of the copy runs here, under the writers' limit
            conn.execute(f"set threads = {COPY_THREADS}; set checkpoint_threshold = '{COPY_CHECKPOINT_THRESHOLD}'; "
                         f"set memory_limit = '{load_memory_limit()}'; "
                         f"set disabled_compression_methods = '{COPY_DISABLED_COMPRESSION}'")
            _OPEN_COPIES[key] = conn
        cursor = conn.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


@contextmanager
def publishing(staging: Staging) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the run's connection for the publish, the loads' rows checkpointed first: until then they
    live in DuckDB's memory, which cannot evict them, and the closing checkpoint would write them anyway. The
    publish runs under the writers' limit, not the loads'."""
    with loading(staging) as conn:
        conn.execute(f"set memory_limit = '{memory_limit()}'")
        conn.execute("checkpoint")
        yield conn


def close_copy(path: str | Path) -> None:
    """Close this process's connection to the copy at `path`, if it has one: its last rows are checkpointed."""
    with _OPEN_COPIES_LOCK:
        conn = _OPEN_COPIES.pop(os.path.realpath(path), None)
    if conn is not None:
        conn.close()


def discard_leftovers(published: str | Path, keep_run_id: str) -> list[Path]:
    """Delete the copies that runs killed before publishing left beside the warehouse.

    Call it only while holding the warehouse's run lock: then no other nianbao run is alive
    to own them.
    """
    published = Path(published).resolve()
    keep = staging_path(published, keep_run_id)
    left = [p for p in published.parent.glob(f".{published.name}.*.loading") if p != keep]
    for path in left:
        discard_path(path)
    return left


def publish(staging: Staging) -> None:
    """Replace the published warehouse with the loaded copy, unless someone else wrote to it meanwhile.

    The run's connection to the copy is closed first: the copy is checkpointed whole, with no log left.
    Raises WarehouseLocked while another process holds the published file for writing and
    WarehouseChanged when the file changed since it was copied.
    """
    source, target = Path(staging.published), Path(staging.path)
    close_copy(target)
    _fsync(target)
    if not source.exists() or is_empty_file(source):
        if _stamp(source) != staging.base:
            raise WarehouseChanged(str(source))
        os.replace(target, source)
    else:
        with connect(source, read_only=True):  # no writer can start until the rename is done
            if _stamp(source) != staging.base:
                raise WarehouseChanged(str(source))
            # The old file's log is already in the copy; left beside the new file, DuckDB would replay
            # it onto it. Removed first, a reader in between sees the old file without its last writes.
            _wal(source).unlink(missing_ok=True)
            os.replace(target, source)
    _fsync(source.parent)


def discard_path(path: str | Path) -> None:
    """Delete a copy and its log, closing this process's connection to it first (a failed run's, rolled back)."""
    close_copy(path)
    path = Path(path)
    path.unlink(missing_ok=True)
    _wal(path).unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Make the new file's bytes, then the rename, durable before anyone relies on them."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
