"""The sources file: what `nianbao ingest --sources FILE` and the nightly flow ingest.

TOML, read at run time so that an edit takes effect at the next run:

    [[sources]]
    name = "county reports"     # optional, for logs
    kind = "directory"          # the default
    path = "reports/2023"       # relative to this file
    region = "吉林省长春市"       # optional: where its agencies are, for names such as 朝阳区 (any kind)

    [[sources]]
    name = "huaian"             # names the crawl's journal: keep it stable
    kind = "crawl"
    start_urls = ["http://www.example.gov.cn/zfxxgk/ndbg/index.html"]
    allowed_domains = ["example.gov.cn"]   # default: the start URLs' hosts
    link_patterns = ["年度报告", "年报"]     # the default
    delay_seconds = 1.0         # per host; see CRAWL_OPTIONS for the rest

    exclude = ["*/drafts/*", "old-report.html"]   # optional: files recorded as ignored, not read

    [dask]                      # optional: where the extraction batches run
    address = "tcp://10.0.0.5:8786"   # an existing cluster's scheduler, or
    # workers = 8                     # a local cluster of this many processes

Every problem is reported with the file and the entry it is in.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from extractors.crawl import CrawlSettings
from extractors.fetch import FetchPolicy
from flows.dask_settings import DaskSettings, parse_dask_address
from transforms.regions import declared_region

SOURCE_KINDS = ("directory", "crawl")
#: Optional keys of a crawl source: FetchPolicy's and CrawlSettings' tunables, with their types.
#: Option name -> its annotation ("float", "int", "bool"), a string under `from __future__ import annotations`.
CRAWL_OPTIONS: dict[str, str] = {
    **{f.name: str(f.type) for f in fields(FetchPolicy) if f.name != "allowed_domains"},
    **{f.name: str(f.type) for f in fields(CrawlSettings) if f.name in ("max_listing_pages", "concurrency")},
}
_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {"float": (int, float), "int": int, "bool": bool}


class SourcesFileError(ValueError):
    """The sources file cannot be used as it is; the message says where and why."""


@dataclass(frozen=True)
class DirectorySource:
    name: str
    path: Path
    kind: str = "directory"
    #: Where the source's agencies are (names or a GB/T 2260 code): settles names such as 朝阳区.
    region: str | None = None


@dataclass(frozen=True)
class CrawlSource:
    name: str
    settings: CrawlSettings
    kind: str = "crawl"
    region: str | None = None


def _region(entry: dict, where: str) -> str | None:
    """The entry's `region`, checked against the region library now rather than at the first report."""
    region = entry.get("region")
    if region is None:
        return None
    if not isinstance(region, str) or not region.strip():
        raise SourcesFileError(f"{where}: `region` must be a region's name such as \"吉林省长春市\" or its six-digit code")
    try:
        declared_region(region.strip())
    except ValueError as exc:
        raise SourcesFileError(f"{where}: {exc}") from exc
    return region.strip()


def tag_sources(files: Sequence, listed: Sequence[DirectorySource | CrawlSource],
                crawled_by: Mapping[str, str]) -> list:
    """Each planned file with the name and `region` of the source it came through: a directory source
    holding its path (the innermost, when they nest), or the crawl source that downloaded it."""
    by_name = {source.name: source for source in listed}
    directories = sorted((s for s in listed if isinstance(s, DirectorySource)), key=lambda s: len(s.path.parts),
                         reverse=True)
    tagged = []
    for planned in files:
        source = by_name.get(crawled_by.get(planned.path, ""))
        if source is None:
            path = Path(planned.path)
            source = next((s for s in directories if path == s.path or s.path in path.parents), None)
        tagged.append(replace(planned, source=source.name, region=source.region) if source else planned)
    return tagged


def _crawl_source(entry: dict, where: str) -> CrawlSource:
    urls = entry.get("start_urls")
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
        raise SourcesFileError(f"{where}: `start_urls` must be a list of listing-page URLs")
    domains = entry.get("allowed_domains") or sorted({urlsplit(u).hostname or "" for u in urls})
    patterns = entry.get("link_patterns") or None
    options: dict[str, Any] = {}
    for key, value in entry.items():
        if key in ("kind", "name", "start_urls", "allowed_domains", "link_patterns", "exclude", "region"):
            continue
        if key not in CRAWL_OPTIONS:
            raise SourcesFileError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(CRAWL_OPTIONS))})")
        if not isinstance(value, _PYTHON_TYPES[CRAWL_OPTIONS[key]]) or (CRAWL_OPTIONS[key] != "bool" and isinstance(value, bool)):
            raise SourcesFileError(f"{where}: `{key}` must be a {CRAWL_OPTIONS[key]}, not {value!r}")
        options[key] = value
    name = str(entry.get("name") or domains[0])
    policy = FetchPolicy(
        allowed_domains=tuple(domains), **{k: v for k, v in options.items() if k in FetchPolicy.__dataclass_fields__}
    )
    crawl_options = {k: v for k, v in options.items() if k in CrawlSettings.__dataclass_fields__}
    if patterns:
        crawl_options["link_patterns"] = tuple(patterns)
    settings = CrawlSettings(name=name, start_urls=tuple(urls), policy=policy, **crawl_options)
    return CrawlSource(name=name, settings=settings, region=_region(entry, where))


def _read(file: Path) -> dict:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourcesFileError(f"{file}: no such sources file") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourcesFileError(f"{file}: not valid TOML ({exc})") from exc


def load_dask_settings(sources_file: str | Path) -> DaskSettings | None:
    """The file's [dask] table: the cluster the nightly run extracts on; None without the table."""
    file = Path(sources_file)
    table = _read(file).get("dask")
    if table is None:
        return None
    where = f"{file}: [dask]"
    if not isinstance(table, dict):
        raise SourcesFileError(f"{where} must be a table with `address` or `workers`")
    unknown = sorted(set(table) - {"address", "workers"})
    if unknown:
        raise SourcesFileError(f"{where}: unknown key {unknown[0]!r} (known: address, workers)")
    address, workers = table.get("address"), table.get("workers")
    if (address is None) == (workers is None):
        raise SourcesFileError(f"{where}: give `address` (an existing cluster's scheduler) or `workers`, one of them")
    if address is not None:
        if not isinstance(address, str):
            raise SourcesFileError(f"{where}: `address` must be a string such as \"tcp://10.0.0.5:8786\", not {address!r}")
        try:
            return DaskSettings(address=parse_dask_address(address))
        except ValueError as exc:
            raise SourcesFileError(f"{where}: {exc}") from exc
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise SourcesFileError(f"{where}: `workers` must be a whole number of at least 1, not {workers!r}")
    return DaskSettings(workers=workers)


def load_exclude(sources_file: str | Path) -> list[str]:
    """The file's `exclude` patterns (top level, and of each entry): files an operator accepts as not reports."""
    file = Path(sources_file)
    document = _read(file)
    places = [(f"{file}: `exclude`", document.get("exclude"))]
    places += [(f"{file}: [[sources]] entry {n}: `exclude`", entry.get("exclude"))
               for n, entry in enumerate(document.get("sources") or [], start=1) if isinstance(entry, dict)]
    patterns = []
    for where, value in places:
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
            raise SourcesFileError(f'{where} must be a list of patterns such as ["*/drafts/*", "bad.html"]')
        patterns += value
    return patterns


def load_sources(sources_file: str | Path) -> list[DirectorySource | CrawlSource]:
    file = Path(sources_file)
    document = _read(file)
    entries = document.get("sources")
    if not isinstance(entries, list) or not entries:
        raise SourcesFileError(f"{file}: no [[sources]] entries; add at least one with a `path`")
    sources: list[DirectorySource | CrawlSource] = []
    for number, entry in enumerate(entries, start=1):
        where = f"{file}: [[sources]] entry {number}"
        kind = entry.get("kind", "directory")
        if kind not in SOURCE_KINDS:
            raise SourcesFileError(f"{where}: unknown kind {kind!r} (known: {', '.join(SOURCE_KINDS)})")
        if kind == "crawl":
            sources.append(_crawl_source(entry, where))
            continue
        if not isinstance(entry.get("path"), str) or not entry["path"]:
            raise SourcesFileError(f"{where}: `path` is missing; it names a directory or file of reports")
        path = (file.parent / entry["path"]).expanduser().resolve()
        if not path.exists():
            raise SourcesFileError(f"{where}: path {entry['path']!r} does not exist (resolved to {path})")
        sources.append(DirectorySource(name=str(entry.get("name", entry["path"])), path=path, region=_region(entry, where)))
    return sources
