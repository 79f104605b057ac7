"""Planning a run, without Prefect: which files to extract, and what the others are.

Every file found is hashed (or its hash taken from the index of files hashed before, while its stat
is unchanged: flows/file_hashes.py) and is one of: to extract (new or changed), unchanged (loaded
before, same bytes and parser), still failing (failed before, same bytes and parser: counted as
failed again, not re-read), a duplicate (the same bytes as another file, which is the one report),
or ignored (an operator's exclude pattern matched it).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from extractors.crawl import CrawledDocument
from extractors.files import SourceRef, discover
from extractors.rawstore import pictures_noted_at, pictures_sha256
from extractors.report import PARSER_VERSION, report_id_for
from flows.file_hashes import FileHashes, index_path, rehash_requested
from flows.pipeline import file_record
from warehouse.store import KnownFile, connect, is_empty_file, known_files, loaded_files_with_hashes


@dataclass(frozen=True, slots=True)  # slots: a run holds one per file to extract (100,000: 36 -> 22 MB)
class PlannedFile:
    path: str
    sha256: str
    size_bytes: int
    #: For a crawled file: where it came from (its report id) and the charset the server declared.
    url: str | None = None
    http_charset: str | None = None
    #: The sources-file entry it came through and that entry's `region` (see flows/sources.py).
    source: str | None = None
    region: str | None = None

    @property
    def report_id(self) -> str:
        return report_id_for(self.url or self.path)

    @property
    def source_ref(self) -> SourceRef:
        """What extraction reads: the file, where it came from and the source it came through."""
        return SourceRef(self.path, self.url, self.http_charset, self.source, self.region)

    @property
    def pictures_sha256(self) -> str | None:
        """For a crawled page whose pictures the crawl downloaded: the hash of its note of them (extractors/rawstore.py)."""
        return pictures_sha256(Path(self.path)) if self.url else None

    def pictures_changed_since(self, when: datetime) -> bool:
        """Whether the crawl downloaded other pictures for this page since `when`: the same page then reads otherwise."""
        noted = pictures_noted_at(Path(self.path)) if self.url else None
        return noted is not None and noted > when


@dataclass(frozen=True)
class StillFailing:
    """A file that failed before and has not changed since: still a failed file."""

    path: str
    reason: str
    error: str
    since: datetime

    @property
    def message(self) -> str:
        return f"{self.error} (still failing, unchanged since {self.since:%Y-%m-%d %H:%M})"


@dataclass
class Plan:
    to_process: list[PlannedFile] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    still_failing: list[StillFailing] = field(default_factory=list)
    #: ingest_files rows to write for duplicates and ignored files whose row says otherwise today.
    records: list[dict[str, object]] = field(default_factory=list)
    duplicates: int = 0
    ignored: int = 0
    #: path -> 'new' or 'changed', for the summary.
    novelty: dict[str, str] = field(default_factory=dict)

    @property
    def files_seen(self) -> int:
        return len(self.to_process) + len(self.unchanged) + len(self.still_failing) + self.duplicates + self.ignored

    def let_go(self) -> None:
        """Empty the lists of files once counted and taken: Prefect keeps a task's result to the end of the
        flow run, and at 100,000 files these hold some 40 MB."""
        for files in (self.to_process, self.unchanged, self.still_failing, self.records, self.novelty):
            files.clear()


def taken(files: list[PlannedFile]) -> Iterator[PlannedFile]:
    """`files` in order, each dropped from the list as it is taken, so that a long run holds only the files of
    the batches in flight, not all of them to its end."""
    files.reverse()
    while files:
        yield files.pop()


def excluded_by(path: str, url: str | None, patterns: list[str], roots: list[str]) -> str | None:
    """The first pattern matching the file's name, its path under a root it was found in, its path or URL."""
    if not patterns:
        return None
    names = [Path(path).name, path] + ([url] if url else [])
    names += [str(Path(path).relative_to(root)) for root in roots if Path(path).is_relative_to(root)]
    return next((p for p in patterns if any(fnmatch.fnmatchcase(name, p) for name in names)), None)


def plan_files(paths: list[str], crawled: list[CrawledDocument], db: str, exclude: list[str] | None = None) -> Plan:
    """Hash every file found (or take its unchanged hash from the index) and compare it with the warehouse at `db`."""
    exclude = list(exclude or [])
    hashes = FileHashes.load(index_path(db), trust=not rehash_requested())
    roots = [str(Path(p).resolve()) for p in paths if Path(p).is_dir()]
    plan = Plan()
    candidates: list[PlannedFile] = []
    found: list[tuple[str, str | None, str | None]] = [(str(path), None, None) for path in discover(paths)]
    found += [(d.path, d.url, d.http_charset) for d in {d.path: d for d in crawled}.values()]
    for path, url, charset in found:
        pattern = excluded_by(path, url, exclude, roots)
        if pattern:
            plan.ignored += 1
            plan.records.append(file_record(
                path, "", Path(path).stat().st_size, status="ignored", reason="excluded", url=url,
                error=f"{path}: ignored, excluded by the pattern {pattern!r}",
            ))
            continue
        sha256, size = hashes.hash(path)
        candidates.append(PlannedFile(path, sha256, size, url, charset))
    hashes.save()
    known: dict[str, KnownFile] = {}
    loaded_elsewhere: dict[str, tuple[str, str]] = {}
    if Path(db).exists() and not is_empty_file(db):
        with connect(db, read_only=True) as conn:
            known = known_files(conn, [f.path for f in candidates] + [str(r["path"]) for r in plan.records])
            loaded_elsewhere = loaded_files_with_hashes(conn, sorted({f.sha256 for f in candidates}))
    plan.records = [r for r in plan.records if _differs(r, known.get(str(r["path"])))]
    for planned in _without_duplicates(candidates, known, loaded_elsewhere, plan):
        before = known.get(planned.path)
        same = before is not None and (before.sha256 == planned.sha256 and before.parser_version == PARSER_VERSION
                                       and not planned.pictures_changed_since(before.updated_at))
        if before is not None and same and before.status == "loaded":
            plan.unchanged.append(planned.path)
        elif before is not None and same and before.status == "failed":
            # The same bytes through the same parser give the same failure: not re-read, still counted.
            plan.still_failing.append(StillFailing(planned.path, before.reason or "", before.error or "",
                                                   before.updated_at))
        else:
            plan.to_process.append(planned)
            plan.novelty[planned.path] = "changed" if before else "new"
    return plan


def _without_duplicates(candidates: list[PlannedFile], known: dict[str, KnownFile],
                        loaded_elsewhere: dict[str, tuple[str, str]], plan: Plan) -> list[PlannedFile]:
    """One file per content: the rest are recorded as duplicates of the report those bytes make.

    The report is the one already loaded from those bytes if there is one, else the first file by
    URL or path, so that the choice does not change from night to night.
    """
    by_hash: dict[str, list[PlannedFile]] = {}
    for planned in candidates:
        by_hash.setdefault(planned.sha256, []).append(planned)
    kept = []
    for sha, group in by_hash.items():
        group.sort(key=lambda f: (known.get(f.path) is None or known[f.path].status != "loaded"
                                  or known[f.path].sha256 != sha, f.url or f.path))
        first = group[0]
        elsewhere = loaded_elsewhere.get(sha)
        if elsewhere and elsewhere[0] not in {f.path for f in group}:
            primary_path, primary_report = elsewhere
            copies = group
        else:
            primary_path, primary_report = first.url or first.path, first.report_id
            copies = group[1:]
            kept.append(first)
        for copy in copies:
            plan.duplicates += 1
            record = file_record(
                copy.path, sha, copy.size_bytes, status="duplicate", reason="duplicate", report_id=primary_report,
                url=copy.url, error=f"{copy.url or copy.path}: the same bytes as {primary_path}, loaded once as that report",
            )
            if _differs(record, known.get(copy.path)):
                plan.records.append(record)
    return kept


def _differs(record: dict[str, object], before) -> bool:
    """Whether a duplicate's or ignored file's row must be written: it is new or says something else."""
    return before is None or (before.status, before.reason, before.error, before.sha256) != (
        record["status"], record["reason"], record["error"], record["sha256"])
