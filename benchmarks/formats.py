"""How fast one PDF or DOCX report is read, per core (issue 17): CPU seconds, so that a shared machine
distorts the figures less than wall time would.

For each format, the files are extracted once to warm up (imports, caches), then `--repeats` times:
- read: the format's reader alone (parse_pdf's first document, or parse_docx), ms per file;
- end to end: flows.pipeline.process_batch over all the files (read, locate, facts, checks), reports/s per core.
Each figure is the minimum and the median of the repeats, CPU seconds (time.process_time) beside wall.

PDF: `--pdf-copies` copies of the real six-page Huai'an report (tests/fixtures/real). DOCX: `--docx-count`
synthetic DOCX reports (`nianbao synth --format docx`, seed 0).

Run from the project root:  nice .venv/bin/python benchmarks/formats.py --repeats 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.synth import generate  # noqa: E402
from extractors.docx import parse_docx  # noqa: E402
from extractors.pdf import parse_pdf  # noqa: E402
from flows.pipeline import process_batch  # noqa: E402

HUAIAN = ROOT / "tests" / "fixtures" / "real" / "huaian-city-government-2024.pdf"


def _timed(work: Callable[[], object], repeats: int) -> tuple[list[float], list[float]]:
    """CPU and wall seconds of each repeat of work()."""
    cpu, wall = [], []
    for _ in range(repeats):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        work()
        cpu.append(time.process_time() - cpu0)
        wall.append(time.perf_counter() - wall0)
    return cpu, wall


def _read_all(parse: Callable, files: list[Path]) -> None:
    """Each file's first document: the one extraction takes when it yields a report (a PDF's
    others, such as its text-position reading, are made only when asked for)."""
    for path in files:
        result = parse(str(path), path.read_bytes())
        if parse is parse_pdf:
            next(iter(result))


def measure(name: str, parse: Callable, files: list[Path], repeats: int) -> None:
    sources = [str(path) for path in files]
    batch = process_batch(sources)  # warm up
    loaded = batch.files["status"].to_list().count("loaded")
    read_cpu, read_wall = _timed(lambda: _read_all(parse, files), repeats)
    end_cpu, end_wall = _timed(lambda: process_batch(sources), repeats)
    n = len(files)
    print(f"{name}: {n} files, {loaded} loaded, {repeats} repeats (min / median)")
    print(f"  read        CPU ms/file {1000 * min(read_cpu) / n:7.1f} / {1000 * statistics.median(read_cpu) / n:7.1f}"
          f"   wall ms/file {1000 * min(read_wall) / n:7.1f} / {1000 * statistics.median(read_wall) / n:7.1f}")
    print(f"  end to end  reports/s per core {n / statistics.median(end_cpu):6.2f} (best {n / min(end_cpu):6.2f})"
          f"   CPU s/report {min(end_cpu) / n:.3f} / {statistics.median(end_cpu) / n:.3f}"
          f"   wall s/report {min(end_wall) / n:.3f} / {statistics.median(end_wall) / n:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pdf-copies", type=int, default=5)
    parser.add_argument("--docx-count", type=int, default=40)
    parser.add_argument("--formats", default="pdf,docx", help="comma-separated: pdf, docx")
    args = parser.parse_args()
    formats = set(args.formats.split(","))
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="nianbao-formats-") as tmp:
        if "pdf" in formats:
            copies = []
            for index in range(args.pdf_copies):
                copy = Path(tmp) / f"huaian-{index}.pdf"
                shutil.copyfile(HUAIAN, copy)
                copies.append(copy)
            measure("PDF (real Huai'an report, six pages)", parse_pdf, copies, args.repeats)
        if "docx" in formats:
            generate(Path(tmp) / "docx", args.docx_count, seed=0, formats=("docx",), workers=1)
            measure("DOCX (synthetic)", parse_docx, sorted((Path(tmp) / "docx").rglob("*.docx")), args.repeats)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
