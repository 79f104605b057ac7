"""CPU seconds per file of text and HTML extraction, measured so that a shared machine does not distort it.

Two figures per corpus, both CPU time (user + system), never wall time:
- in process: `flows.pipeline.process_batch` (read, decode, parse, locate, facts, checks) over the corpus in
  batches cut like the flow's (500 files or 16 MB), in this process;
- end to end: `nianbao ingest` of the corpus in a subprocess (its temporary Prefect server, persist and load
  included: every process it starts and waits for), minus the same for the corpus's first 20 files, over the
  difference in files, so that start-up (imports, the server) cancels and what is left is the cost of one
  more file.

`--tree DIR` measures another checkout of nianbao (for example `git worktree add /tmp/before <commit>`) with this
environment's packages: its modules come first on the path, here and in the subprocesses.

Run from the project root:
    .venv/bin/python benchmarks/cpu_per_file.py CORPUS [CORPUS ...] [--repeats 3] [--tree DIR] [--no-ingest]
where a CORPUS is a directory `nianbao synth --format text` or `--format html` wrote, of 500 files or more for
the end-to-end figure (the start-up it subtracts varies by about a second on a busy machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUFFIXES = (".txt", ".htm", ".html", ".shtml", ".xhtml")
SMALL = 20
#: The start-up that end_to_end subtracts moves by about a second between runs on a busy machine: spread over
#: fewer files than this, that noise is larger than the figure.
MIN_END_TO_END_FILES = 500
NIANBAO = Path(sys.executable).with_name("nianbao")


def report_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix in SUFFIXES)


def batches(files: list[Path], max_files: int = 500, max_bytes: int = 16 * 2**20) -> list[list[str]]:
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    for path in files:
        bytes_ = path.stat().st_size
        if current and (len(current) >= max_files or size + bytes_ > max_bytes):
            out.append(current)
            current, size = [], 0
        current.append(str(path))
        size += bytes_
    return out + [current] if current else out


def in_process(files: list[Path]) -> float:
    """CPU ms per file of process_batch, the first files extracted once before (imports, caches of the template)."""
    from flows.pipeline import process_batch

    process_batch([str(p) for p in files[:10]])
    started = time.process_time()
    for batch in batches(files):
        process_batch(batch)
    return (time.process_time() - started) / len(files) * 1e3


def _ingest_cpu(corpus: Path, tree: Path) -> float:
    """CPU seconds of `nianbao ingest CORPUS` and of every process it waited for (its Prefect server)."""
    with tempfile.TemporaryDirectory(prefix="nianbao-cpu-") as work:
        env = os.environ | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": f"{work}/home",
                            "PREFECT_LOCAL_STORAGE_PATH": f"{work}/storage", "PYTHONPATH": str(tree)}
        env.pop("PREFECT_API_URL", None)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run([str(NIANBAO), "ingest", str(corpus), "--db", f"{work}/w.duckdb"], cwd=tree, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"nianbao ingest {corpus} exited {done.returncode}: {done.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def end_to_end(corpus: Path, files: list[Path], tree: Path) -> float:
    """CPU ms of one more file through `nianbao ingest`: (CPU of all files - CPU of the first 20) / the difference."""
    with tempfile.TemporaryDirectory(prefix="nianbao-small-") as small:
        for index, path in enumerate(files[:SMALL]):
            shutil.copy(path, Path(small) / f"{index:02d}-{path.name}")
        whole = _ingest_cpu(corpus, tree)
        start = _ingest_cpu(Path(small), tree)
    return (whole - start) / (len(files) - SMALL) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the nianbao checkout to measure (default: this one)")
    parser.add_argument("--no-ingest", action="store_true", help="only the in-process figure")
    args = parser.parse_args()
    tree = args.tree.resolve()
    sys.path.insert(0, str(tree))
    print(f"{tree}: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    for corpus in args.corpora:
        files = report_files(corpus)
        for repeat in range(args.repeats):
            line = f"{corpus.name}: {len(files)} files, run {repeat + 1}: in process {in_process(files):.2f} CPU ms/file"
            if not args.no_ingest and len(files) < MIN_END_TO_END_FILES:
                line += f"; end to end not measured (fewer than {MIN_END_TO_END_FILES} files)"
            elif not args.no_ingest:
                per_file = end_to_end(corpus, files, tree)
                line += f"; end to end {per_file:.2f} CPU ms/file = {1e3 / per_file:.0f} files per CPU second"
            print(line + f" (load {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
