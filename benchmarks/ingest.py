"""How fast is nianbao, and how far from the floor? The benchmark of issue 7.

Generates corpora with known numbers (corpus.synth) and measures, on the same files:
- the floor: reading and decoding every file, nothing else;
- `nianbao ingest` end to end, in a subprocess against a Prefect server this script starts
  first (so that server start-up is excluded), its ratio to the floor, CPU, peak memory, and
  `nianbao eval` on what it loaded;
- a second ingest of the unchanged corpus;
- where the time goes: the library functions the pipeline calls, run here stage by stage;
- three analyst queries on the loaded warehouse;
- per format: text, real-sized HTML pages and copies of a real six-page PDF.

Throughput is given two ways: over the whole `nianbao ingest` process (Python start-up and
imports included) and over its flow run (the runs table's started_at..finished_at: Prefect's
task, result and API overhead included, process start-up not). "Per core" divides the flow's
throughput by the cores kept busy (CPU seconds of the ingest and of the Prefect server over the
ingest's wall seconds, at least 1), so that a run that waits is not flattered and one that uses
both cores is not penalised. Stage times are CPU seconds (all threads).

Run from the project root:  .venv/bin/python benchmarks/ingest.py --sizes 1000,10000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb
import polars as pl

from benchmarks.analyst import QUERIES as ANALYST_QUERIES
from corpus.evaluate import evaluate
from corpus.synth import DEFAULT_FORMATS, TRUTH_FILE, TRUTH_REPORTS_FILE, generate
from extractors.decode import decode_bytes
from extractors.files import SourceFile, discover, read_source
from extractors.formats import HTML, TEXT, format_of

# The pipeline's own API, so that the breakdown runs exactly what `nianbao ingest` runs.
from flows.api import plan
from flows.batching import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_FILES, batches
from flows.pipeline import batch_frames, extract_files
from warehouse.store import connect, load_batch

REAL_PDF = ROOT / "tests/fixtures/real/huaian-city-government-2024.pdf"
NIANBAO = Path(sys.executable).with_name("nianbao")
#: Targets from issue 7, per core on this 2-core machine, Prefect overhead included.
TARGETS = {"text": 200.0, "html": 50.0, "pdf": 1.5}
REINGEST_TARGET_S, MEMORY_TARGET_MB, QUERY_TARGET_MS = 10.0, 1024.0, 200.0
#: Three of the analyst benchmark's queries (benchmarks/analyst.py), under the names this report prints.
QUERIES = {
    "per-agency totals for 2023": ANALYST_QUERIES["requests_wide: per-agency totals, 2023"],
    "denial reasons by year": ANALYST_QUERIES["facts_labelled: denial reasons by year"],
    "reports failing a check": ANALYST_QUERIES["failed_checks: reports failing a check"],
}
QUERY_REPEATS = 5


# ---- a Prefect server of our own --------------------------------------------------------

class PrefectServer:
    """`prefect server start` on 127.0.0.1 with a throwaway home, so that its start-up is not timed."""

    def __init__(self, home: Path) -> None:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        self.home = home
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.env = os.environ | {"PREFECT_HOME": str(home), "PREFECT_API_URL": self.api_url,
                                 "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        prefect = Path(sys.executable).with_name("prefect")
        log = (self.home / "server.log").open("wb")
        self.process = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"the Prefect server did not start in 180 s; see {self.home / 'server.log'}")

    def __exit__(self, *exc: object) -> None:
        """Stop the server's process group (the server and the uvicorn it spawns), and only it."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def cpu_seconds(self) -> float:
        """CPU used so far by the server's processes: its share of Prefect's overhead."""
        assert self.process is not None
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields_ = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields_[2]) == self.process.pid:  # process group
                total += int(fields_[11]) + int(fields_[12])
        return total / os.sysconf("SC_CLK_TCK")


# ---- corpora -----------------------------------------------------------------------------

def corpus(path: Path, count: int, seed: int, formats: Sequence[str] | None = None) -> Path:
    """A generated corpus, reused when a previous run left the same one (same count; generation is not timed)."""
    reports = path / TRUTH_REPORTS_FILE
    if reports.exists() and pl.read_parquet(reports).height == count:
        return path
    shutil.rmtree(path, ignore_errors=True)
    started = time.perf_counter()
    generate(path, count, seed, tuple(formats) if formats else DEFAULT_FORMATS)
    print(f"  generated {count} reports in {path} ({time.perf_counter() - started:.0f} s)", flush=True)
    return path


def pdf_copies(path: Path, copies: int) -> Path:
    """The real six-page PDF, each copy with its own trailing comment so that each has its own sha256."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    data = REAL_PDF.read_bytes()
    for index in range(copies):
        (path / f"huaian-{index:04d}.pdf").write_bytes(data + f"\n% benchmark copy {index}\n".encode())
    return path


def size_summary(files: list[Path]) -> str:
    sizes = sorted(f.stat().st_size for f in files)
    return f"{sizes[0] / 1e3:.0f}-{sizes[-1] / 1e3:.0f} KB, median {statistics.median(sizes) / 1e3:.0f} KB"


# ---- the floor and the stages, in this process --------------------------------------------

def decoded_as_text(source: SourceFile) -> bool:
    """A text or HTML file, which the floor decodes; a PDF, DOCX or picture is only read (its reader skips decoding)."""
    return format_of(source) in (TEXT, HTML)


def floor(files: list[Path]) -> float:
    """Files per second for reading and decoding each file."""
    started = time.perf_counter()
    for path in files:
        source = read_source(path)
        if decoded_as_text(source):
            decode_bytes(source.path, source.data, is_html=source.data[:512].lstrip()[:1] == b"<")
    return len(files) / (time.perf_counter() - started)


STAGES = ("extract", "transform", "persist", "load")
STAGE_NOTES = {
    "extract": "read, decode, parse, locate the tables, read the cells (flows.pipeline.extract_files, per file)",
    "transform": "facts and checks as polars frames (flows.pipeline.batch_frames)",
    "persist": "Prefect's result store: the batch pickled and lzma-compressed",
    "load": "one DuckDB transaction per batch (warehouse/store.py)",
}


@dataclass
class Breakdown:
    files: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    #: (format, stage) -> seconds; the batch stages (transform, persist, load) under format 'all'.
    seconds: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def clock(self, kind: str, stage: str) -> Iterator[None]:
        """CPU seconds, all threads (polars and DuckDB use several): what a stage costs a core, and
        less disturbed than wall time by whatever else the machine runs."""
        started = time.process_time()
        yield
        self.seconds[(kind, stage)] += time.process_time() - started

    def per_file_ms(self, kind: str, stage: str) -> float:
        count = sum(self.files.values()) if kind == "all" else self.files[kind]
        return 1000 * self.seconds[(kind, stage)] / count if count else 0.0


def breakdown(files: list[Path], db: Path, batch_files: int, batch_bytes: int) -> Breakdown:
    """Each stage of the pipeline on its own, on the flow's batches of `files`, into a fresh warehouse.

    A file's format is its reader's ('html', 'text', 'docx', 'pdf', ...), or 'failed'.
    """
    from prefect.serializers import CompressedSerializer, PickleSerializer

    serializer = CompressedSerializer(serializer=PickleSerializer())  # what result_serializer="compressed/pickle" is
    result = Breakdown()
    db.unlink(missing_ok=True)
    with connect(db):  # the schema, made once per warehouse, is not part of loading a batch
        pass
    for batch in batches(plan(files, db).to_process, batch_bytes, batch_files):
        refs = [planned.source_ref for planned in batch]
        reports, records = [], []
        for ref in refs:
            started = time.process_time()
            extracted, record = extract_files([ref])
            kind = extracted[0].reader.split("/")[0] if extracted else "failed"
            result.seconds[(kind, "extract")] += time.process_time() - started
            result.files[kind] += 1
            reports += extracted
            records += record
        with result.clock("all", "transform"):
            load = batch_frames(refs, reports, records)
        with result.clock("all", "persist"):
            serializer.dumps(load)
        with result.clock("all", "load"), connect(db) as conn:
            load_batch(conn, load, "benchmark")
    return result


# ---- nianbao ingest, end to end ----------------------------------------------------------

@dataclass
class IngestRun:
    files: int
    exit_code: int
    wall_s: float
    flow_s: float
    cpu_s: float
    server_cpu_s: float
    peak_rss_mb: float
    files_loaded: int
    files_failed: int
    load_before: float
    load_after: float

    @property
    def files_per_s(self) -> float:
        return self.files / self.wall_s

    @property
    def flow_files_per_s(self) -> float:
        return self.files / self.flow_s if self.flow_s else 0.0

    @property
    def cores_busy(self) -> float:
        """CPU of the ingest process and of the Prefect server over the ingest's wall time."""
        return (self.cpu_s + self.server_cpu_s) / self.wall_s

    @property
    def per_core(self) -> float:
        """Flow throughput over the cores the process kept busy (at least one)."""
        return self.flow_files_per_s / max(1.0, self.cores_busy)


def ingest(server: PrefectServer, corpus_dir: Path, db: Path, files: int, log: Path, options: Sequence[str] = (),
           fresh: bool = True) -> IngestRun:
    """`nianbao ingest` in a subprocess; a fresh result store, so that no batch is served from Prefect's cache."""
    if fresh:
        for stale in (db, db.with_name(db.name + ".wal")):
            stale.unlink(missing_ok=True)
    storage = db.with_name(db.name + ".prefect-storage")
    if fresh:
        shutil.rmtree(storage, ignore_errors=True)
    env = server.env | {"PREFECT_LOCAL_STORAGE_PATH": str(storage)}
    server_cpu, load_before = server.cpu_seconds(), os.getloadavg()[0]
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen([str(NIANBAO), "ingest", str(corpus_dir), "--db", str(db), *options], env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
        peak_kb, status, usage = _wait_watching_memory(process.pid)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    flow_s, loaded, failed = float("nan"), 0, files  # a run that published nothing
    if db.exists():
        with duckdb.connect(str(db), read_only=True) as conn:
            flow_s, loaded, failed = conn.execute(
                """select epoch(finished_at - started_at), files_loaded, files_failed
                   from runs order by started_at desc limit 1""").fetchall()[0]
    return IngestRun(files, process.returncode, wall, flow_s, usage.ru_utime + usage.ru_stime,
                     server.cpu_seconds() - server_cpu, peak_kb / 1024, loaded, failed, load_before,
                     os.getloadavg()[0])


def _wait_watching_memory(pid: int) -> tuple[int, int, resource.struct_rusage]:
    """Wait for the child; its peak resident memory is its VmHWM, read until it exits.

    Not ru_maxrss: on Linux a child's ru_maxrss starts from the RSS of the parent it was forked
    from, here this script with a corpus' worth of measurements in memory.
    """
    peak_kb = 0
    while True:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kb = max(peak_kb, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return peak_kb, status, usage
        time.sleep(0.1)


def queries(db: Path) -> dict[str, tuple[float, float, int]]:
    """name -> (first run ms, median of the next runs ms, rows), each in a fresh read-only connection."""
    timings = {}
    with duckdb.connect(str(db), read_only=True) as conn:
        for name, sql in QUERIES.items():
            runs = []
            for _ in range(1 + QUERY_REPEATS):
                started = time.perf_counter()
                rows = conn.execute(sql).fetchall()
                runs.append(1000 * (time.perf_counter() - started))
            timings[name] = (runs[0], statistics.median(runs[1:]), len(rows))
    return timings


def eval_verdict(corpus_dir: Path, db: Path) -> str:
    evaluation = evaluate(corpus_dir / TRUTH_FILE, db)
    return "PERFECT" if evaluation.perfect else "NOT PERFECT"


# ---- printing -------------------------------------------------------------------------------

def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

    return "\n".join([f"\n{title}", line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]])


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# ---- the run --------------------------------------------------------------------------------

def sample(files: list[Path], limit: int) -> list[Path]:
    """At most `limit` files spread evenly over the corpus."""
    if len(files) <= limit:
        return files
    step = len(files) / limit
    return [files[int(i * step)] for i in range(limit)]


def run_corpus(name: str, corpus_dir: Path, server: PrefectServer, work: Path, args: argparse.Namespace,
               *, truth: bool = True, reingest: bool = True, analyst: bool = True) -> dict:
    files = list(discover([corpus_dir]))
    print(f"\n== {name}: {len(files)} files, {size_summary(files)}", flush=True)
    result: dict = {"name": name, "files": len(files), "sizes": size_summary(files)}
    result["floor_files_per_s"] = floor(files)
    db = work / f"{name}.duckdb"
    options = shlex.split(args.ingest_args)
    run = ingest(server, corpus_dir, db, len(files), work / f"{name}.ingest.log", options)
    result["ingest"] = asdict(run) | {"files_per_s": run.files_per_s, "flow_files_per_s": run.flow_files_per_s,
                                      "cores_busy": run.cores_busy, "per_core": run.per_core}
    print(f"  ingest: {run.wall_s:.1f} s wall, flow {run.flow_s:.1f} s, exit {run.exit_code}, "
          f"{run.files_loaded} loaded, {run.files_failed} failed", flush=True)
    if not db.exists():
        raise SystemExit(f"nianbao ingest published nothing; see {work / f'{name}.ingest.log'}")
    if truth:
        result["eval"] = eval_verdict(corpus_dir, db)
        print(f"  eval: {result['eval']}", flush=True)
    if reingest:
        again = ingest(server, corpus_dir, db, len(files), work / f"{name}.reingest.log", options, fresh=False)
        result["reingest"] = asdict(again)
        print(f"  unchanged re-ingest: {again.wall_s:.1f} s wall, flow {again.flow_s:.1f} s", flush=True)
    if analyst:
        result["queries"] = queries(db)
    measured = sample(files, args.breakdown_files)
    stages = breakdown(measured, work / f"{name}.breakdown.duckdb", DEFAULT_BATCH_FILES, DEFAULT_BATCH_BYTES)
    result["breakdown_files"] = len(measured)
    result["breakdown_ms"] = {f"{kind}/{stage}": stages.per_file_ms(kind, stage)
                              for kind in [*sorted(stages.files), "all"] for stage in STAGES
                              if stages.seconds.get((kind, stage))}
    result["breakdown_counts"] = dict(stages.files)
    return result


def report(results: list[dict], per_format: list[dict]) -> str:
    out = []
    mixed = results
    if mixed:
        out.append(table(
            "End to end: nianbao ingest (server start-up excluded; flow = the runs table's start..end)",
            ["corpus", "files", "floor f/s", "ingest f/s", "flow f/s", "ingest/floor", "cores busy", "peak RSS MB",
             "re-ingest s (flow)", "eval"],
            [[r["name"], r["files"], f"{r['floor_files_per_s']:.0f}", f"{r['ingest']['files_per_s']:.1f}",
              f"{r['ingest']['flow_files_per_s']:.1f}", f"{r['ingest']['files_per_s'] / r['floor_files_per_s']:.3f}",
              f"{r['ingest']['cores_busy']:.2f}", f"{r['ingest']['peak_rss_mb']:.0f}",
              f"{r['reingest']['wall_s']:.1f} ({r['reingest']['flow_s']:.1f})", r.get("eval", "-")] for r in mixed],
        ))
        out.append(table(
            f"Analyst queries, ms (first run / median of the next {QUERY_REPEATS}; target < {QUERY_TARGET_MS:.0f} ms "
            "at 100,000)",
            ["corpus", *QUERIES], [[r["name"], *(f"{q[0]:.0f} / {q[1]:.0f}" for q in r["queries"].values())]
                                   for r in mixed],
        ))
    for r in [*mixed, *per_format]:
        kinds = [k for k in ("text", "html", "docx", "doc", "pdf", "failed") if r["breakdown_counts"].get(k)]
        rows = [[stage, *(f"{r['breakdown_ms'].get(f'{k}/{stage}', 0):.2f}" for k in kinds),
                 f"{r['breakdown_ms'].get(f'all/{stage}', 0):.2f}" if stage in ("transform", "persist", "load") else ""]
                for stage in STAGES]
        counts = ", ".join(f"{r['breakdown_counts'][k]} {k}" for k in kinds)
        out.append(table(
            f"Where the time goes, {r['name']}: CPU ms per file, in this process, on {r['breakdown_files']} of its files "
            f"({counts})",
            ["stage", *kinds, "all (per file of the batch)"], rows,
        ))
    out.append("\nStages: " + "; ".join(f"{stage}: {note}" for stage, note in STAGE_NOTES.items()))
    if per_format:
        out.append(table(
            "Per format (per core = flow f/s / cores busy, at least 1; cores busy = CPU of ingest + Prefect server / wall)",
            ["format", "files", "sizes", "floor f/s", "ingest f/s", "flow f/s", "cores busy", "per core", "target",
             "", "eval"],
            [[r["name"], r["files"], r["sizes"], f"{r['floor_files_per_s']:.0f}", f"{r['ingest']['files_per_s']:.2f}",
              f"{r['ingest']['flow_files_per_s']:.2f}", f"{r['ingest']['cores_busy']:.2f}",
              f"{r['ingest']['per_core']:.2f}", f">= {TARGETS[r['format']]}",
              verdict(r["ingest"]["per_core"] >= TARGETS[r["format"]]), r.get("eval", "-")] for r in per_format],
        ))
    for r in mixed:
        checks = [("unchanged re-ingest < 10 s", r["reingest"]["wall_s"] < REINGEST_TARGET_S, r["files"] == 10_000,
                   f"{r['reingest']['wall_s']:.1f} s"),
                  ("peak memory < 1 GiB", r["ingest"]["peak_rss_mb"] < MEMORY_TARGET_MB, r["files"] >= 100_000,
                   f"{r['ingest']['peak_rss_mb']:.0f} MB"),
                  *((f"query '{name}' < 200 ms", q[1] < QUERY_TARGET_MS, r["files"] >= 100_000, f"{q[1]:.0f} ms")
                    for name, q in r["queries"].items())]
        out.append(table(f"Targets, {r['name']}", ["target", "measured", "verdict"],
                         [[name, value, verdict(ok) + ("" if applies else " (the target is set at another size)")]
                          for name, ok, applies, value in checks]))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--sizes", default="1000,10000", help="corpus sizes, comma-separated (default 1000,10000; add 100000 when wanted)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formats", default="", help="formats of the mixed corpora, comma-separated "
                        "(default: every format corpus.synth writes)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/nianbao-bench"),
                        help="corpora (kept and reused between runs), warehouses and logs (default /tmp/nianbao-bench)")
    parser.add_argument("--text-files", type=int, default=5000, help="files of the text-only corpus (0: skip)")
    parser.add_argument("--html-files", type=int, default=2000, help="pages of the HTML-only corpus (0: skip)")
    parser.add_argument("--pdf-copies", type=int, default=30, help="copies of the real six-page PDF (0: skip)")
    parser.add_argument("--breakdown-files", type=int, default=10_000,
                        help="at most this many files (spread over the corpus) for the in-process breakdown")
    parser.add_argument("--ingest-args", default="", metavar="ARGS",
                        help="more options for every `nianbao ingest`, e.g. '--workers 2'")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; work in {work}; "
          f"nianbao ingest DIR --db FILE {args.ingest_args}", flush=True)

    results, per_format = [], []
    with PrefectServer(work / "prefect-home") as server:
        print(f"Prefect server at {server.api_url}", flush=True)
        for size in sizes:
            formats = [f for f in args.formats.split(",") if f]
            label = "-".join(formats) if formats else "all"
            directory = corpus(work / f"corpus-{size}-{label}-seed{args.seed}", size, args.seed, formats or None)
            results.append(run_corpus(f"mixed-{size}", directory, server, work, args))
        for fmt, count in (("text", args.text_files), ("html", args.html_files)):
            if count:
                directory = corpus(work / f"corpus-{fmt}-{count}-seed{args.seed}", count, args.seed, [fmt])
                result = run_corpus(f"{fmt}-{count}", directory, server, work, args, reingest=False, analyst=False)
                per_format.append(result | {"format": fmt})
        if args.pdf_copies:
            directory = pdf_copies(work / f"corpus-pdf-{args.pdf_copies}", args.pdf_copies)
            result = run_corpus(f"pdf-{args.pdf_copies}", directory, server, work, args, truth=False, reingest=False,
                                analyst=False)
            per_format.append(result | {"format": "pdf"})
    text = report(results, per_format)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "per_format": per_format}, indent=2, default=str))


if __name__ == "__main__":
    main()
