"""CPU seconds per file of text and HTML extraction, measured so that a shared machine does not distort it.

Two figures per corpus, both CPU time (user + system), never wall time:
- in process: `flows.pipeline.process_batch` (read, decode, parse, locate, facts, checks) over the corpus in
  batches cut like the flow's (500 files or 16 MB), in a new Python process per figure (the readers' caches start
  empty, as in a run);
- end to end: `nianbao ingest` of the corpus in a subprocess (persist and load included, every process it
  waits for) plus the CPU that nianbao's local Prefect server spent meanwhile, minus the same for the corpus's
  first 20 files, over the difference in files: what is left is the cost of one more file. The local server
  (flows/local_server.py) outlives the command, so its CPU is read from /proc for its PID (server.json), not from
  the command's children; it is started once, by a warm-up ingest, in a private PREFECT_HOME, so that its
  start-up is in neither figure, and stopped at the end. A tree from before the local server (its temporary
  server a child of the command) is measured the same way: that server's CPU, start-up included, is in the
  command's children.

`--tree DIR` measures another checkout of nianbao (for example `git worktree add /tmp/before <commit>`) with this
environment's packages: its modules come first on the path, here and in the subprocesses.

Run from the project root:
    .venv/bin/python benchmarks/cpu_per_file.py CORPUS [CORPUS ...] [--repeats 3] [--tree DIR] [--no-ingest]
where a CORPUS is a directory `nianbao synth --format text` or `--format html` wrote, of 500 files or more for
the end-to-end figure (the 20-file ingest it subtracts varies by about 0.2 CPU s on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".txt", ".htm", ".html", ".shtml", ".xhtml")
SMALL = 20
#: The 20-file ingest that end_to_end subtracts moves by a few tenths of a CPU second between runs on a busy
#: machine: spread over fewer files than this, that noise is larger than the figure.
MIN_END_TO_END_FILES = 500
NIANBAO = Path(sys.executable).with_name("nianbao")
#: The local server stops by itself after this long unused, should this script be killed before it stops it.
SERVER_IDLE_SECONDS = "600"


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


def in_process(corpus: Path, tree: Path) -> float:
    """CPU ms per file of process_batch over the corpus, in a new process each time: a run starts with the readers'
    caches (rows, labels, cells) empty, so a second pass in the same process would flatter them."""
    done = subprocess.run([sys.executable, __file__, str(corpus), "--tree", str(tree), "--in-process-only"],
                          cwd=tree, env=os.environ | {"PYTHONPATH": str(tree)}, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def process_batches(files: list[Path]) -> float:
    """CPU ms per file of process_batch, the first files extracted once before (imports, caches of the template)."""
    from flows.pipeline import process_batch

    process_batch([str(p) for p in files[:10]])
    started = time.process_time()
    for batch in batches(files):
        process_batch(batch)
    return (time.process_time() - started) / len(files) * 1e3


@dataclass(frozen=True)
class IngestCpu:
    """CPU seconds of one `nianbao ingest`: the command with the processes it waited for, and the local server."""

    command: float
    server: float
    #: Wall seconds of the command: the server spends about 1.5% of a core while it waits (its services'
    #: loops), so on a loaded machine, where the command takes longer, its share grows.
    wall: float = 0.0

    def __sub__(self, other: IngestCpu) -> IngestCpu:
        return IngestCpu(self.command - other.command, self.server - other.server, self.wall - other.wall)


def server_cpu(prefect_home: Path) -> tuple[int, float] | None:
    """(PID, CPU seconds so far) of the local server that server.json under `prefect_home` names, if it runs."""
    for state in prefect_home.glob("*/server.json"):
        pid = json.loads(state.read_text(encoding="utf-8"))["pid"]
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # utime, stime, cutime, cstime (fields 14-17 of proc(5), counted from 3 after the command name)
        return pid, sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return None


class Ingests:
    """`nianbao ingest` of one tree, every run against the same local server in a private PREFECT_HOME."""

    def __init__(self, tree: Path, work: Path) -> None:
        self.tree = tree
        self.home = work / "prefect-home"
        self.env = os.environ | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": str(self.home),
                                 "NIANBAO_SERVER_IDLE_SECONDS": SERVER_IDLE_SECONDS, "PYTHONPATH": str(tree)}
        self.env.pop("PREFECT_API_URL", None)

    def cpu(self, corpus: Path, *, warm_up: bool = False) -> IngestCpu:
        """CPU seconds of `nianbao ingest CORPUS` into a new warehouse and result store; only the warm-up may
        start the local server."""
        with tempfile.TemporaryDirectory(prefix="nianbao-cpu-") as work:
            env = self.env | {"PREFECT_LOCAL_STORAGE_PATH": f"{work}/storage"}
            server_before = server_cpu(self.home)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run([str(NIANBAO), "ingest", str(corpus), "--db", f"{work}/w.duckdb"], cwd=self.tree,
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall = time.perf_counter() - started
            server_after = server_cpu(self.home)
        if done.returncode != 0:
            raise SystemExit(f"nianbao ingest {corpus} exited {done.returncode}: {done.stderr[-2000:]}")
        server = 0.0
        if server_after and server_before and server_after[0] == server_before[0]:
            server = server_after[1] - server_before[1]
        elif server_after and not warm_up:
            raise SystemExit(f"nianbao ingest {corpus} started a local server of its own (the warm-up's stopped?)")
        return IngestCpu((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), server, wall)

    def stop_server(self) -> None:
        if server_cpu(self.home):
            subprocess.run([str(NIANBAO), "server", "stop"], cwd=self.tree, env=self.env, stdout=subprocess.DEVNULL,
                           check=True)


def first_files(files: list[Path], into: Path) -> Path:
    """A corpus of the first SMALL of `files`, in `into`."""
    into.mkdir()
    for index, path in enumerate(files[:SMALL]):
        shutil.copy(path, into / f"{index:02d}-{path.name}")
    return into


def end_to_end(ingests: Ingests, corpus: Path, small: Path, files: int) -> IngestCpu:
    """CPU ms of one more file through `nianbao ingest`: (CPU of all files - CPU of the first 20) / the difference."""
    extra = ingests.cpu(corpus) - ingests.cpu(small)
    per_file = 1e3 / (files - SMALL)
    return IngestCpu(extra.command * per_file, extra.server * per_file, extra.wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the nianbao checkout to measure (default: this one)")
    parser.add_argument("--no-ingest", action="store_true", help="only the in-process figure")
    parser.add_argument("--in-process-only", action="store_true", help=argparse.SUPPRESS)  # in_process's child
    args = parser.parse_args()
    tree = args.tree.resolve()
    sys.path.insert(0, str(tree))
    if args.in_process_only:
        print(process_batches(report_files(args.corpora[0])))
        return
    print(f"{tree}: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="nianbao-cpu-home-") as work:
        ingests = Ingests(tree, Path(work))
        smalls = {corpus: first_files(report_files(corpus), Path(work) / f"small-{index}")
                  for index, corpus in enumerate(args.corpora)}
        try:
            if not args.no_ingest:
                ingests.cpu(smalls[args.corpora[0]], warm_up=True)  # warm-up: starts the local server, compiles the bytecode
            for corpus in args.corpora:
                files = report_files(corpus)
                for repeat in range(args.repeats):
                    line = (f"{corpus.name}: {len(files)} files, run {repeat + 1}: "
                            f"in process {in_process(corpus, tree):.2f} CPU ms/file")
                    if not args.no_ingest and len(files) < MIN_END_TO_END_FILES:
                        line += f"; end to end not measured (fewer than {MIN_END_TO_END_FILES} files)"
                    elif not args.no_ingest:
                        cost = end_to_end(ingests, corpus, smalls[corpus], len(files))
                        total = cost.command + cost.server
                        line += (f"; end to end {total:.2f} CPU ms/file (command {cost.command:.2f}, server "
                                 f"{cost.server:.2f}) = {1e3 / total:.0f} files per CPU second; "
                                 f"{cost.wall:.0f} s more wall than the 20 files")
                    print(line + f" (load {os.getloadavg()[0]:.1f})", flush=True)
        finally:
            ingests.stop_server()


if __name__ == "__main__":
    main()
