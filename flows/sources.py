"""The sources file: what `nianbao ingest --sources FILE` and the nightly flow ingest.

TOML, read at run time so that an edit takes effect at the next run:

    [[sources]]
    name = "county reports"     # optional, for logs
    kind = "directory"          # the default; crawl sources come later
    path = "reports/2023"       # relative to this file

Every problem is reported with the file and the entry it is in.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

SOURCE_KINDS = ("directory",)


class SourcesFileError(ValueError):
    """The sources file cannot be used as it is; the message says where and why."""


@dataclass(frozen=True)
class DirectorySource:
    name: str
    path: Path


def load_sources(sources_file: str | Path) -> list[DirectorySource]:
    file = Path(sources_file)
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourcesFileError(f"{file}: no such sources file") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourcesFileError(f"{file}: not valid TOML ({exc})") from exc
    entries = document.get("sources")
    if not isinstance(entries, list) or not entries:
        raise SourcesFileError(f"{file}: no [[sources]] entries; add at least one with a `path`")
    sources = []
    for number, entry in enumerate(entries, start=1):
        where = f"{file}: [[sources]] entry {number}"
        kind = entry.get("kind", "directory")
        if kind not in SOURCE_KINDS:
            raise SourcesFileError(f"{where}: unknown kind {kind!r} (known: {', '.join(SOURCE_KINDS)})")
        if not isinstance(entry.get("path"), str) or not entry["path"]:
            raise SourcesFileError(f"{where}: `path` is missing; it names a directory or file of reports")
        path = (file.parent / entry["path"]).expanduser().resolve()
        if not path.exists():
            raise SourcesFileError(f"{where}: path {entry['path']!r} does not exist (resolved to {path})")
        sources.append(DirectorySource(name=str(entry.get("name", entry["path"])), path=path))
    return sources
