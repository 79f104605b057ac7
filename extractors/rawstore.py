"""Downloaded bytes, stored once under their sha256, never half-written, readable as the umask allows.

The suffix a download is stored under is the registry's (extractors/formats.py: download_suffix), so that
the reader of its format reads it.

Files are created 0666 less the umask, like any other file the process writes (tempfile.mkstemp would
make them 0600): Dask workers running as another user read raw/ too.
A crawled page whose tables are pictures has them downloaded too; since the store renames every file
by its content, the page's `<img src>` values no longer lead to them: a sidecar beside the page,
raw/<sha256>.images.json, maps each src to the stored file's name. It travels with raw/ (a Dask worker
reads it where it reads the page), and holds names, not paths, so raw/ may be mounted anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import datetime
from pathlib import Path


class RawStore:
    """raw/<sha256><suffix>: a file's name is its content, so a second download of it costs nothing."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str, suffix: str) -> Path:
        return self.root / f"{sha256}{suffix}"

    def put(self, data: bytes, suffix: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path_for(hashlib.sha256(data).hexdigest(), suffix)
        if not target.exists():
            _write_whole(target, data)
        return target


def pictures_path(page: Path) -> Path:
    """raw/<sha256>.images.json beside the stored page raw/<sha256>.html."""
    return page.with_suffix(".images.json")


def write_pictures(page: Path, pictures: dict[str, str]) -> None:
    """Note which stored files (by name) a page's `<img src>` values were downloaded to.

    The note is rewritten only when it changes: its modification time says when the page's pictures
    last changed (pictures_noted_at), so that an unchanged page with new pictures is read again.
    """
    target, data = pictures_path(page), json.dumps(pictures, ensure_ascii=False, sort_keys=True).encode("utf-8")
    if not target.exists() or target.read_bytes() != data:
        _write_whole(target, data)


def pictures_noted_at(page: Path) -> datetime | None:
    """When the pictures noted for a stored page last changed (local time); None when it has no note."""
    try:
        return datetime.fromtimestamp(pictures_path(page).stat().st_mtime)
    except OSError:
        return None


def pictures_sha256(page: Path) -> str | None:
    """The hash of a stored page's note of its pictures, None when it has none: part of what a page's reading depends on."""
    try:
        return hashlib.sha256(pictures_path(page).read_bytes()).hexdigest()
    except OSError:
        return None


def read_pictures(page: Path) -> dict[str, Path]:
    """src -> stored picture, for a stored page whose pictures a crawl downloaded; empty for any other file."""
    try:
        names = json.loads(pictures_path(page).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {src: page.parent / Path(name).name for src, name in names.items()}


def _write_whole(target: Path, data: bytes) -> None:
    """Write to a temporary file, then rename: a reader never sees half a file."""
    temporary = target.parent / f".download-{uuid.uuid4().hex}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
