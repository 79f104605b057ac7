"""Write a synthetic corpus and its ground truth.

Reports are made in fixed chunks by worker processes that write their files and hand back
plain column lists; the parent appends each chunk's truth to the Parquet files in chunk
order. Chunking does not depend on the number of workers, so a seed gives the same bytes
whatever the machine.

Truth, beside the reports:
- truth.parquet: one row per report per template cell of its versions (file, format,
  layout, encoding, template_version, table_code, row_code, col_code, value_kind, value,
  printed). value is NULL where the cell was printed blank or as a dash.
- truth_reports.parquet: one row per report (agency, year, versions, encoding and charset
  declaration, signature date, and the check broken on purpose, if any).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.report import BREAK_RATE, DEFAULT_FORMATS, FORMATS, SynthReport, make_report

TRUTH_FILE = "truth.parquet"
TRUTH_REPORTS_FILE = "truth_reports.parquet"
CHUNK_REPORTS = 100

TRUTH_SCHEMA = pa.schema(
    [
        ("file", pa.string()), ("format", pa.string()), ("layout", pa.string()), ("encoding", pa.string()),
        ("template_version", pa.string()), ("table_code", pa.string()), ("row_code", pa.string()),
        ("col_code", pa.string()), ("value_kind", pa.string()), ("value", pa.float64()), ("printed", pa.string()),
    ]
)
REPORTS_SCHEMA = pa.schema(
    [
        ("file", pa.string()), ("format", pa.string()), ("layout", pa.string()), ("encoding", pa.string()),
        ("declared_charset", pa.string()), ("charset_declaration", pa.string()), ("size_bytes", pa.int64()),
        ("agency", pa.string()), ("year", pa.int32()), ("title_form", pa.string()), ("signature_date", pa.date32()),
        ("template_version", pa.string()), ("requests_template_version", pa.string()),
        ("break_kind", pa.string()), ("break_rule", pa.string()), ("break_scope", pa.string()),
    ]
)


@dataclass(frozen=True)
class SynthSummary:
    out_dir: Path
    reports: int
    bytes_written: int
    seconds: float
    truth_path: Path
    reports_path: Path

    @property
    def files_per_second(self) -> float:
        return self.reports / self.seconds if self.seconds else 0.0


def _report_row(report: SynthReport) -> tuple:
    r, broken = report.rendered, report.broken
    return (
        report.file, report.format, r.layout, r.encoding, r.declared_charset, r.charset_declaration, len(r.data),
        report.agency, report.year, report.title_form, report.signature_date, report.active_version,
        report.requests_version, *((broken.kind, broken.rule, broken.scope) if broken else (None, None, None)),
    )


def _make_chunk(out_dir: str, seed: int, start: int, stop: int, formats: tuple[str, ...],
                break_rate: float) -> tuple[dict[str, list], list[tuple]]:
    """Make reports start..stop-1, write their files, return (truth columns, report rows)."""
    truth: dict[str, list] = {name: [] for name in TRUTH_SCHEMA.names}
    reports = []
    for index in range(start, stop):
        report = make_report(seed, index, formats, break_rate)
        path = os.path.join(out_dir, report.file)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(report.rendered.data)
        keys, printed = report.keys, report.printed
        for name, constant in (("file", report.file), ("format", report.format), ("layout", report.rendered.layout),
                               ("encoding", report.rendered.encoding)):
            truth[name] += [constant] * len(printed)
        truth["template_version"] += keys.versions
        truth["table_code"] += keys.tables
        truth["row_code"] += keys.rows
        truth["col_code"] += keys.cols
        truth["value_kind"] += [p.kind for p in printed]
        truth["value"] += [p.value for p in printed]
        truth["printed"] += [p.text for p in printed]
        reports.append(_report_row(report))
    return truth, reports


def generate(
    out_dir: Path,
    count: int,
    seed: int = 0,
    formats: Sequence[str] = DEFAULT_FORMATS,
    *,
    workers: int | None = None,
    break_rate: float = BREAK_RATE,
) -> SynthSummary:
    """Write `count` reports and their truth under out_dir, which must be empty or new."""
    out_dir = Path(out_dir)
    unknown = set(formats) - FORMATS.keys()
    if unknown or not formats:
        raise ValueError(f"unknown formats {sorted(unknown)}; choose from {sorted(FORMATS)}")
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir}: not empty; synth writes a corpus into a new or empty directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    chunks = [(str(out_dir), seed, start, min(start + CHUNK_REPORTS, count), tuple(formats), break_rate)
              for start in range(0, count, CHUNK_REPORTS)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(chunks)))
    truth_path, reports_path = out_dir / TRUTH_FILE, out_dir / TRUTH_REPORTS_FILE

    started = time.perf_counter()
    report_rows: list[tuple] = []
    with ExitStack() as stack:
        writer = stack.enter_context(pq.ParquetWriter(truth_path, TRUTH_SCHEMA))
        results: Iterator[tuple[dict[str, list], list[tuple]]]
        if workers == 1:
            results = (_make_chunk(*chunk) for chunk in chunks)
        else:
            pool = stack.enter_context(ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")))
            results = pool.map(_make_chunk, *zip(*chunks))
        for truth, rows in results:
            writer.write_table(pa.table(truth, schema=TRUTH_SCHEMA))
            report_rows += rows
    columns = [list(column) for column in zip(*report_rows)] or [[] for _ in REPORTS_SCHEMA.names]
    pq.write_table(pa.table(dict(zip(REPORTS_SCHEMA.names, columns)), schema=REPORTS_SCHEMA), reports_path)
    size = sum(row[6] for row in report_rows)
    return SynthSummary(out_dir, count, size, time.perf_counter() - started, truth_path, reports_path)
