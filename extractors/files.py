"""Finding report files on disk and reading them once, with their content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def suffix(self) -> str:
        return Path(self.path).suffix.lower()


def discover(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Yield report files under the given files and directories, sorted, each once.

    A directory is searched recursively for the suffixes the formats read (extractors/formats.py:
    DISCOVERED_SUFFIXES); a file named directly is taken whatever its suffix, because the user asked for it.
    """
    seen: set[Path] = set()
    for given in paths:
        path = Path(given).expanduser().resolve()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DISCOVERED_SUFFIXES)
        elif path.is_file():
            found = [path]
        else:
            raise FileNotFoundError(f"{given}: no such file or directory")
        for file in found:
            if file not in seen:
                seen.add(file)
                yield file


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
    return SourceFile(path=ref.path, data=Path(ref.path).read_bytes(), url=ref.url, http_charset=ref.http_charset)
