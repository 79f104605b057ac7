"""Seconds of one core per scanned report: OCR (rendering, deskew, detection, recognition) and the
rest of extraction, on the real six-page report made a scan, and on synthetic scans.

The real report (tests/fixtures/real/huaian-city-government-2024.pdf, six pages) is rendered to
pictures at 200 dpi and saved as an image-only PDF, so that it has no text layer; synthetic
scans come from `nianbao synth --format scan`. Each file goes through flows.pipeline.process_batch
as `nianbao ingest` runs it, REPEAT times. CPU seconds (time.process_time) are the figure: ONNX
Runtime runs one thread per process, so they are seconds of one core, unaffected by other work on
a shared machine; wall seconds are printed beside them. ONNX Runtime's execution provider is printed
too: on a machine with CUDA the figures are not CPU figures.

Run from the project root:  nice .venv/bin/python benchmarks/ocr.py --synthetic 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pypdfium2  # noqa: E402
from PIL import Image  # noqa: E402

from corpus.synth import generate  # noqa: E402
from extractors.ocr import execution_provider  # noqa: E402
from extractors.scan import pdf_page_images  # noqa: E402
from flows.pipeline import process_batch  # noqa: E402

HUAIAN = ROOT / "tests" / "fixtures" / "real" / "huaian-city-government-2024.pdf"


def scanned_copy(out: Path) -> Path:
    pages = [Image.fromarray(page) for page in pdf_page_images(str(HUAIAN), HUAIAN.read_bytes())]
    scan = out / "huaian-scanned.pdf"
    pages[0].save(scan, "PDF", resolution=200, save_all=True, append_images=pages[1:])
    return scan


def page_count(file: Path) -> int:
    if file.suffix == ".pdf":
        return len(pypdfium2.PdfDocument(str(file)))
    with Image.open(file) as image:
        return getattr(image, "n_frames", 1)


def measure(path: Path, repeat: int) -> tuple[float, float, str]:
    """(CPU seconds, wall seconds) per extraction of the file, and how it ended."""
    process_batch([str(path)])  # the models loaded once, as in a long-running worker
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(repeat):
        batch = process_batch([str(path)])
    status = batch.files["status"][0] + (f" ({batch.reports['reader'][0]})" if batch.reports.height else "")
    return (time.process_time() - cpu) / repeat, (time.perf_counter() - wall) / repeat, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=3, help="synthetic scanned reports to time as well")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"ONNX Runtime provider: {execution_provider()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        files = [(scanned_copy(out), 6)]
        if args.synthetic:
            generate(out / "synthetic", args.synthetic, seed=0, formats=("scan",), workers=1)
            files += [(file, page_count(file)) for file in sorted((out / "synthetic").rglob("0*.*"))]
        for file, pages in files:
            cpu, wall, status = measure(file, args.repeat)
            print(f"{file.name:<22} {pages} pages  {cpu:6.1f} CPU s  ({cpu / pages:4.1f} per page, "
                  f"{cpu * 6 / pages:5.1f} per six pages)  {wall:6.1f} wall s  {status}")


if __name__ == "__main__":
    main()
