"""Is every text rendering still a text-speed file? Extraction speed per text layout (issue 13).

Generates a corpus per format with corpus.synth (Word's text export as the baseline, then
glued, one cell per line, pipes, space-aligned and Traditional Chinese), and times the
pipeline's pure extraction, flows.pipeline.process_batch (read, decode, layout reader, locate,
facts, checks), on each, in this process on one core, best of three. It also times the glued
splitter on a pathological run (a row of 120 ones, billions of splits), which must give up
within its bound, and checks with `nianbao eval`'s scorer that every corpus reads PERFECT.

Run from the project root:  .venv/bin/python benchmarks/text_layouts.py --reports 500
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.evaluate import evaluate  # noqa: E402
from corpus.synth import generate  # noqa: E402
from extractors.glued_tables import request_cells  # noqa: E402
from flows.pipeline import process_batch  # noqa: E402
from warehouse.store import connect, load_batch  # noqa: E402

FORMATS = ("text", "glued", "lines", "pipes", "aligned", "traditional")
BATCH = 500


def measure(fmt: str, reports: int, work: Path) -> dict[str, object]:
    out = work / fmt
    generate(out, reports, seed=13, formats=(fmt,), break_rate=0.03, workers=1)
    files = sorted(str(p) for p in out.rglob("*.txt"))
    size = sum(Path(f).stat().st_size for f in files)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        batches = [process_batch(files[i : i + BATCH]) for i in range(0, len(files), BATCH)]
        best = min(best, time.perf_counter() - started)
    db = work / f"{fmt}.duckdb"
    with connect(db) as conn:
        for batch in batches:
            load_batch(conn, batch, run_id="bench")
    verdict = "PERFECT" if evaluate(out / "truth.parquet", db).perfect else "NOT PERFECT"
    return {"format": fmt, "files": len(files), "mean KB": round(size / len(files) / 1024, 1),
            "files/s": round(len(files) / best), "MB/s": round(size / best / 1e6, 2), "eval": verdict}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=500, help="reports per format")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(fmt, args.reports, Path(tmp)) for fmt in FORMATS]
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row.values()) + " |")
    run = "1" * 120
    started = time.perf_counter()
    request_cells({"new_received": run, "granted": run, "total_handled": run})
    print(f"pathological glued rows (3 x 120 ones): {time.perf_counter() - started:.2f} s, read as ambiguous")


if __name__ == "__main__":
    main()
