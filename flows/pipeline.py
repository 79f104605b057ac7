"""The work of one batch, without Prefect: file paths in, frames ready for the warehouse out.

Kept free of orchestration so that any runner (the flow's threads, a Dask worker) can call
it: bytes in, plain frames out, no database touched.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import polars as pl

from extractors.errors import ExtractionError
from extractors.files import SourceRef, read_source
from extractors.report import PARSER_VERSION, ExtractedReport, cell_columns, extract_report
from transforms.agencies import place_reports
from transforms.checks import run_checks
from transforms.facts import build_facts, cells_frame, reports_frame
from transforms.narrative import narrative_checks
from warehouse.store import FILE_SCHEMA, LoadBatch

logger = logging.getLogger(__name__)
_PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: The code whose every change can change a batch's frames.
_EXTRACTION_CODE = ("template", "extractors", "transforms", "warehouse")


def file_record(path: str, sha256: str, size: int, *, report_id: str | None = None, reason: str | None = None,
                error: str | None = None, url: str | None = None, status: str | None = None) -> dict[str, object]:
    """A file's row of ingest_files: loaded, or failed with its reason (or `status` duplicate / ignored)."""
    return {
        "path": path, "sha256": sha256, "size_bytes": size, "status": status or ("failed" if error else "loaded"),
        "reason": reason, "error": error, "report_id": report_id, "parser_version": PARSER_VERSION, "url": url,
    }


def extract_files(sources: Sequence[str | SourceRef]) -> tuple[list[ExtractedReport], list[dict[str, object]]]:
    """Extract each file; a file that fails is recorded with its reason and the batch goes on."""
    reports: list[ExtractedReport] = []
    files: list[dict[str, object]] = []
    for ref in sources:
        ref = ref if isinstance(ref, SourceRef) else SourceRef(ref)
        path = ref.path
        origin = f" (downloaded from {ref.url})" if ref.url else ""
        try:
            source = read_source(ref)
        except OSError as exc:
            files.append(file_record(path, "", 0, reason="unreadable", url=ref.url,
                                     error=f"{path}: cannot read ({exc.strerror or exc}){origin}"))
            continue
        try:
            report = extract_report(source)
        except ExtractionError as exc:
            files.append(file_record(path, source.sha256, len(source.data), reason=exc.reason, error=f"{exc}{origin}",
                                     url=ref.url))
        except Exception as exc:  # a bug must not take the other files of the batch down with it
            logger.exception("unexpected error extracting %s", path)
            files.append(
                file_record(path, source.sha256, len(source.data), reason="internal_error", url=ref.url,
                             error=f"{path}: unexpected {type(exc).__name__}: {exc} (a bug in nianbao; please report it)")
            )
        else:
            reports.append(report)
            files.append(file_record(path, report.sha256, report.size_bytes, report_id=report.report_id, url=ref.url))
    return reports, files


def process_batch(sources: Sequence[str | SourceRef]) -> LoadBatch:
    """A batch's files extracted, then turned into the frames the warehouse loads."""
    refs = [ref if isinstance(ref, SourceRef) else SourceRef(ref) for ref in sources]
    reports, files = extract_files(refs)
    return batch_frames(refs, reports, files)


def batch_frames(refs: Sequence[SourceRef], reports: Sequence[ExtractedReport],
                 files: Sequence[dict[str, object]]) -> LoadBatch:
    """The transforms of a batch: its reports placed, their facts and checks, and every file's record."""
    declared = pl.DataFrame([(r.path, r.source, r.region) for r in refs], orient="row",
                            schema={"source_path": pl.String, "source": pl.String, "region": pl.String}).unique("source_path")
    narratives = pl.DataFrame([(r.report_id, r.narrative) for r in reports], orient="row",
                              schema={"report_id": pl.String, "text": pl.String})
    reports_df = place_reports(reports_frame(report.report_record() for report in reports), narratives, declared)
    cells_df = cells_frame(cell_columns(reports))
    facts, outside = build_facts(reports_df, cells_df)
    checks = pl.concat([run_checks(facts, outside), narrative_checks(narratives, facts)]).sort("report_id", "rule", "scope")
    return LoadBatch(reports=reports_df, facts=facts, checks=checks, files=pl.DataFrame(files, schema=FILE_SCHEMA))


def failed_batch(files: Sequence[tuple[str, int]], cause: str) -> LoadBatch:
    """What a batch whose extraction never completed loads: each of its (path, size) as a failure.

    No sha256 is recorded, because the bytes were never judged: the next run tries the files again.
    """
    return records_batch([
        file_record(path, "", size, reason="batch_failed",
                    error=f"{path}: its extraction batch failed ({cause}); it is tried again at the next run")
        for path, size in files
    ])


def records_batch(records: Sequence[dict[str, object]]) -> LoadBatch:
    """A batch of file records only (failures, duplicates, ignored files): no reports, facts or checks."""
    nothing = process_batch([])
    return LoadBatch(reports=nothing.reports, facts=nothing.facts, checks=nothing.checks,
                     files=pl.DataFrame(records, schema=FILE_SCHEMA))


@cache
def extraction_code_version() -> str:
    """A hash of the code that turns files into frames, so that no edit is ever served a stale cached batch."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for package in _EXTRACTION_CODE:
        for source in sorted(path for path in (_PROJECT_ROOT / package).iterdir() if path.suffix in {".py", ".csv"}):
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


# Hashed now, as the code is loaded: a long-running Dask worker whose files are upgraded under it
# keeps running the old code, and must keep saying so.
extraction_code_version()
