"""How much memory does a whole run take, and in which phase? Issue 17's memory benchmark.

Runs the ingest flow as the nightly deployment does (`write_report_page=True`) on a corpus, in a child process
that starts as every `nianbao` command does (flows/cli.py's settings), against a Prefect server of its own
(benchmarks/ingest.py's), samples the child's resident memory (VmRSS), its high-water mark (VmHWM) and threads
four times a second, and splits the run into its phases by the flow's log: start-up, plan, extract and load,
publish (the analyst tables' refresh, the wide rows, the rename), the report page. Prints each phase's peak
and median, the medians of the extract-and-load phase's four quarters (memory that grows across batches shows
there), the wall time, the CPU seconds of the ingest and of the server, and the load average, since the
machine may be shared.

Run from the project root, after `nianbao synth --out /tmp/c100k --count 100000 --format text`:
    nice .venv/bin/python benchmarks/memory.py /tmp/c100k --db /tmp/m100k/nianbao.duckdb
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import PrefectServer  # noqa: E402

#: Log lines that end a phase (the flow's and its tasks'), in order.
PHASE_ENDS = (
    ("start-up (imports, server connection)", re.compile(r"Beginning flow run")),
    ("plan", re.compile(r"Task run 'plan-files-.*Finished")),
    ("extract and load", re.compile(r"of [\d,]+ files? extracted and loaded")),
    ("publish (refresh, wide rows, rename)", re.compile(r"Task run 'publish-warehouse-.*Finished")),
    ("report page", re.compile(r"Task run 'write-report-.*Finished")),
)
_LOG_TIME = re.compile(r"^(\d\d:\d\d:\d\d\.\d+) \| ")


def sample(pid: int, samples: list[tuple[float, int, int, int]], every: float = 0.25) -> None:
    """(time, VmRSS in MB, threads, VmHWM in MB) of `pid` every `every` seconds until it ends. VmHWM is the
    kernel's high-water mark of VmRSS, so it catches a peak between two samples."""
    while True:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        fields = dict(line.split(":", 1) for line in status.splitlines())
        if "VmRSS" not in fields:  # a zombie: the process has ended
            return
        samples.append((time.time(), int(fields["VmRSS"].split()[0]) // 1024, int(fields["Threads"]),
                        int(fields["VmHWM"].split()[0]) // 1024))
        time.sleep(every)


def phase_ends(log: Path, day: str) -> list[tuple[str, float]]:
    """Each phase and the time its last log line was written (the extract-and-load line repeats)."""
    ends: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        stamp = _LOG_TIME.match(line)
        if not stamp:
            continue
        for name, pattern in PHASE_ENDS:
            if pattern.search(line):
                # Prefect logs local time
                ends[name] = datetime.strptime(f"{day} {stamp.group(1)}", "%Y-%m-%d %H:%M:%S.%f").timestamp()
    return [(name, ends[name]) for name, _ in PHASE_ENDS if name in ends]


def report(samples: list[tuple[float, int, int, int]], ends: list[tuple[str, float]]) -> None:
    """Each phase's peak: the highest high-water mark seen by its end (a peak between two samples counts)."""
    print("| phase | seconds | peak RSS (MB) | median RSS (MB) | threads (most) |\n|---|---:|---:|---:|---:|")
    start = samples[0][0]
    for name, end in ends + [("end of the process", samples[-1][0] + 1)]:
        rss = [r for t, r, _, _ in samples if start <= t < end]
        threads = [n for t, _, n, _ in samples if start <= t < end]
        marks = [hwm for t, _, _, hwm in samples if start <= t < end]
        if rss:
            risen = max(marks) if max(marks) > min(marks) else max(rss)  # the mark rose in this phase: its peak
            print(f"| {name} | {end - start:.0f} | {risen} | {statistics.median(rss):.0f} | {max(threads)} |")
        if name == "extract and load" and len(rss) >= 8:
            quarter = len(rss) // 4
            medians = [statistics.median(rss[i * quarter:(i + 1) * quarter]) for i in range(4)]
            print(f"|   its four quarters, median RSS | | | {' / '.join(f'{m:.0f}' for m in medians)} | |")
        start = end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--db", type=Path, required=True, help="a new warehouse file (its directory is created)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/nianbao-bench-memory"),
                        help="the Prefect server's home and the run's log")
    parser.add_argument("--batch-mb", type=int, help="the flow's batch_bytes in MiB (default: the flow's)")
    parser.add_argument("--batch-files", type=int, help="the flow's batch_files (default: the flow's)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the ingest process (to try a setting); repeatable")
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    # flows.cli first: what every nianbao command sets when it starts (flows/settings.py's defaults)
    code = ("import flows.cli; from flows.ingest import ingest_flow; "
            f"print(ingest_flow(paths=[{str(args.corpus)!r}], db={str(args.db)!r}, write_report_page=True, "
            + (f"batch_bytes={args.batch_mb * 1024 * 1024}, " if args.batch_mb else "")
            + (f"batch_files={args.batch_files}, " if args.batch_files else "")
            + "return_state=True))")
    log = args.work / "ingest.log"
    with PrefectServer(args.work / "prefect") as server, log.open("w") as out:
        load_before, server_cpu = os.getloadavg()[0], server.cpu_seconds()
        started = time.time()
        child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                 env=server.env | {"PYTHONUNBUFFERED": "1"} | dict(pair.split("=", 1) for pair in args.env))
        samples: list[tuple[float, int, int, int]] = []
        sampler = threading.Thread(target=sample, args=(child.pid, samples), daemon=True)
        sampler.start()
        loads = []
        while child.poll() is None:
            loads.append(os.getloadavg()[0])
            time.sleep(5)
        sampler.join()
        wall, server_cpu = time.time() - started, server.cpu_seconds() - server_cpu
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{args.corpus}: exit code {child.returncode}, wall {wall:.0f} s, CPU {usage.ru_utime + usage.ru_stime:.0f} s "
          f"in the ingest and {server_cpu:.0f} s in the Prefect server, peak RSS {usage.ru_maxrss / 1024:.0f} MB; "
          f"load average {load_before:.1f} at the start, {statistics.median(loads or [0]):.1f} median during the run; "
          f"log: {log}")
    report(samples, phase_ends(log, time.strftime("%Y-%m-%d", time.localtime(samples[0][0]))))


if __name__ == "__main__":
    main()
