"""Finding report files on disk and reading them once, with their content hash."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from extractors.formats import DISCOVERED_SUFFIXES


@dataclass(frozen=True)
class SourceFile:
    """A report file as bytes: the unit every later stage works on."""

    path: str
    data: bytes
    #: For a crawled file: the URL it came from and the charset its HTTP header declared.
    url: str | None = None
    http_charset: str | None = None

    @cached_property
    def sha256(self) -> str:
        """Hashed once: extraction asks for it several times per file."""
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def suffix(self) -> str:
        """The name's suffix, lower case, as Path.suffix gives it; asked once per format tried."""
        return Path(self.path).suffix.lower()


def discover(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Yield report files under the given files and directories, sorted, each once.

    A directory is searched recursively for the suffixes the formats read (extractors/formats.py:
    DISCOVERED_SUFFIXES); a file named directly is taken whatever its suffix, because the user asked for it.
    """
    seen: set[str] = set()
    for given in paths:
        path = Path(given).expanduser().resolve()
        if path.is_dir():
            found = sorted(_report_files_under(str(path)), key=lambda file: file.split(os.sep))  # as Paths sort
        elif path.is_file():
            found = [str(path)]
        else:
            raise FileNotFoundError(f"{given}: no such file or directory")
        for file in found:
            if file not in seen:
                seen.add(file)
                yield Path(file)


def _report_files_under(directory: str) -> Iterator[str]:
    """The files Path.rglob would find, with os.scandir: no stat of a plain file, no Path object per file.

    Like rglob, it does not enter a symbolic link to a directory, and skips a directory it may not read.
    """
    try:
        entries = list(os.scandir(directory))
    except PermissionError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _report_files_under(entry.path)
        elif os.path.splitext(entry.name)[1].lower() in DISCOVERED_SUFFIXES and entry.is_file():
            yield entry.path


@dataclass(frozen=True)
class SourceRef:
    """Where a file to extract is, and for a crawled one, where it came from."""

    path: str
    url: str | None = None
    http_charset: str | None = None
    #: The sources-file entry it was found through (its name) and that entry's declared `region`.
    source: str | None = None
    region: str | None = None


def read_source(source: str | Path | SourceRef) -> SourceFile:
    ref = source if isinstance(source, SourceRef) else SourceRef(str(source))
    with open(ref.path, "rb") as handle:  # Path.read_bytes without a Path made per file
        data = handle.read()
    return SourceFile(path=ref.path, data=data, url=ref.url, http_charset=ref.http_charset)
