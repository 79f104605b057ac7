"""One nianbao run at a time per warehouse.

Two runs on one warehouse would each plan against the same published state and the second
publish would be refused (or worse, undo the first). A run holds an exclusive lock on a small
file beside the warehouse for its whole life; a second run waits for it, then goes on. The
kernel releases the lock when its holder dies, however it dies, so a killed run never blocks
the next one; the file itself stays, holding who had it last.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

#: How long a run waits for another nianbao run on the same warehouse before failing.
DEFAULT_RUN_LOCK_WAIT_SECONDS = 6 * 3600.0


class RunLockTimeout(RuntimeError):
    """Another nianbao run held the warehouse for longer than this run was willing to wait."""

    def __init__(self, db: str, holder: str, waited: float) -> None:
        super().__init__(
            f"{db} is being loaded by another nianbao run ({holder}); waited {waited:.0f} s for it to finish. "
            "Let it finish (see it in the Prefect UI), or stop it, then run again or press Retry."
        )
        self.db, self.holder = db, holder


def run_lock_path(db: str | Path) -> Path:
    db = Path(db).resolve()
    return db.with_name(f".{db.name}.run.lock")


def describe_holder(lock_file: Path) -> str:
    """Who holds (or last held) the lock, as its holder wrote it: process, flow run, since when."""
    try:
        holder = json.loads(lock_file.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return "a process that did not say who it is"
    if not holder:
        return "a process that did not say who it is"
    return (f"process {holder.get('pid')} on {holder.get('host')}, flow run {holder.get('flow_run_name')} "
            f"({holder.get('run_id')}), since {holder.get('since')}")


@contextmanager
def run_lock(
    db: str | Path, run_id: str, flow_run_name: str | None, *,
    wait_seconds: float = DEFAULT_RUN_LOCK_WAIT_SECONDS, on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the warehouse's run lock; wait (telling `on_wait` who holds it, once a minute) while another run has it."""
    path = run_lock_path(db)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        started = time.monotonic()
        told_at = None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= wait_seconds:
                    raise RunLockTimeout(str(Path(db).resolve()), describe_holder(path), waited) from None
                if on_wait and (told_at is None or time.monotonic() - told_at >= 60):
                    on_wait(describe_holder(path))
                    told_at = time.monotonic()
                time.sleep(min(1.0, max(0.05, wait_seconds - waited)))
        holder = {"pid": os.getpid(), "host": os.uname().nodename, "run_id": run_id, "flow_run_name": flow_run_name,
                  "since": datetime.now().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
