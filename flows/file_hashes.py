"""The hashes of files already read, trusted while their stat is unchanged: git's index, for the plan.

Hashing every file at every run reads the whole collection (1.08 GB for 10,000 reports) to find that
nothing changed. So the plan keeps, beside the warehouse, each file's sha256 with the stat it had when
it was hashed (size, mtime, ctime, inode), and takes that hash while the file's stat is the same. Any
write to a file changes its ctime, which no program can set back, so a same-size edit whose mtime was
restored is still seen. A file modified less than RACY_SECONDS before it was hashed is not kept (an
edit within the same timestamp tick could go unseen: git's "racily clean" files); the next run hashes
it again. Setting NIANBAO_REHASH=1 (or deleting the file) hashes every file again.

The index is a cache, not a record: any file of it that is missing, unreadable or of another layout is
taken as empty, and one that cannot be written is left as it was.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

REHASH_VARIABLE = "NIANBAO_REHASH"
#: A file modified this recently when it was hashed is hashed again at the next run.
RACY_SECONDS = 2.0
SCHEMA = {"path": pl.String, "size": pl.Int64, "mtime_ns": pl.Int64, "ctime_ns": pl.Int64, "inode": pl.Int64,
          "sha256": pl.String}

Stamp = tuple[int, int, int, int]


def index_path(db: str | Path) -> Path:
    """Beside the warehouse, hidden as its run lock is: .nianbao.duckdb.hashes for nianbao.duckdb."""
    db = Path(db)
    return db.with_name(f".{db.name}.hashes")


def rehash_requested() -> bool:
    """NIANBAO_REHASH set (to anything but 0, false or no): trust no recorded stat, read every file."""
    return os.environ.get(REHASH_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def stamp_of(stat: os.stat_result) -> Stamp:
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


@dataclass
class FileHashes:
    """path -> (stamp, sha256), read from `path` and written back there by `save` when it changed."""

    path: Path
    entries: dict[str, tuple[Stamp, str]] = field(default_factory=dict)
    changed: bool = False
    #: How many files were read and hashed, and how many hashes were taken from the index.
    hashed: int = 0
    trusted: int = 0

    @classmethod
    def load(cls, path: Path, *, trust: bool = True) -> FileHashes:
        """The index at `path`; an empty one when told not to trust it or when it cannot be read."""
        if not trust:
            return cls(path, changed=True)
        try:
            frame = pl.read_parquet(path)
        except (OSError, pl.exceptions.PolarsError):
            return cls(path)
        if frame.schema != pl.Schema(SCHEMA):
            return cls(path)
        return cls(path, {p: ((size, mtime, ctime, inode), sha) for p, size, mtime, ctime, inode, sha in frame.iter_rows()})

    def hash(self, path: str) -> tuple[str, int]:
        """The file's sha256 and size: from the index while its stat is unchanged, else read and hashed."""
        stamp = stamp_of(os.stat(path))
        known = self.entries.get(path)
        if known is not None and known[0] == stamp:
            self.trusted += 1
            return known[1], stamp[0]
        hashed_at = time.time_ns()
        data = Path(path).read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        self.hashed += 1
        self.changed = True
        if hashed_at - max(stamp[1], stamp[2]) >= RACY_SECONDS * 1e9:
            self.entries[path] = (stamp, sha256)
        else:
            self.entries.pop(path, None)
        return sha256, len(data)

    def save(self) -> None:
        """Write the index if it changed, atomically (a reader sees the old one or the new one)."""
        if not self.changed:
            return
        frame = pl.DataFrame([(p, *stamp, sha) for p, (stamp, sha) in self.entries.items()], schema=SCHEMA,
                             orient="row")
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.partial")
        try:
            frame.write_parquet(partial)
            os.replace(partial, self.path)
        except OSError:  # a read-only directory: the next run hashes again, nothing else is lost
            partial.unlink(missing_ok=True)
            return
        self.changed = False
