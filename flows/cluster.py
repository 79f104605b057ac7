"""Where the extraction batches run: the flow's own threads, a local Dask cluster, or an existing one.

Dask is reached through Prefect's own integration (prefect-dask's DaskTaskRunner), so a
batch on a Dask worker is still a Prefect task run: cached, shown in the UI, its result
sent back to the flow, which alone writes DuckDB. The runner is chosen when a run starts,
not when the flow is defined, because the nightly deployment reads its Dask address from
the sources file at each run. Before the first batch, the scheduler and every worker are
asked whether they can do the work (run the same nianbao code, see the raw files, reach the
Prefect API, write cached results), so that a misconfigured cluster fails the run at once
with what to fix instead of failing every file. Dask itself (distributed, prefect-dask: 0.3-0.5
CPU s) is imported only by a run that uses it, not by every command.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from prefect.context import FlowRunContext
from prefect.filesystems import LocalFileSystem
from prefect.results import get_result_store
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from extractors.report import PARSER_VERSION
from flows.dask_settings import DaskSettings, choose_dask, parse_dask_address  # noqa: F401 (the CLI's and tests' names)
from flows.pipeline import extraction_code_version

if TYPE_CHECKING:
    from distributed import Client, KilledWorker
    from prefect_dask import DaskTaskRunner

SCHEDULER_CONNECT_SECONDS = 20
#: How long a run waits for a scheduler that has no worker yet before it fails.
WORKER_WAIT_SECONDS = 60
API_CHECK_SECONDS = 10
#: Threads that extract batches in the flow's process (unless PREFECT_TASKS_RUNNER_THREAD_POOL_MAX_WORKERS says).
#: Extraction is mostly Python, under the GIL, and the load takes the flow's thread meanwhile, so a second
#: thread gained little wall time and held a second batch's frames: at 20,000 text reports the phase peaked
#: at 584 MB with two threads (median 543), 532 with one (median 466), for the same CPU. Scale out on Dask.
#: (Prefect's own pool has no bound: one thread per batch in flight.)
LOCAL_EXTRACTION_THREADS = 1
#: Batches extracted ahead of the load: one per extraction thread and one done, waiting for the load (on Dask, at least this).
LOCAL_BATCHES_IN_FLIGHT = LOCAL_EXTRACTION_THREADS + 1
#: Batches queued per Dask worker thread, so that no worker waits while the flow loads.
BATCHES_PER_WORKER_THREAD = 2
#: Files a worker is asked to find before the run: one per directory, at most this many.
FILES_CHECKED_PER_WORKER = 1000


class ClusterUnavailable(RuntimeError):
    """The Dask cluster cannot take the batches; the message says which address and what to do."""


def check_scheduler_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast, naming the address, when nothing listens there (a typo, a scheduler not started)."""
    parts = urlsplit(address)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            pass
    except OSError as exc:
        raise ClusterUnavailable(_unreachable(address, exc)) from exc


def _unreachable(address: str, exc: BaseException) -> str:
    return (
        f"cannot reach the Dask scheduler at {address} ({exc or type(exc).__name__}). Start it on that machine "
        f"with `dask scheduler --port {urlsplit(address).port}`, or fix the address (--dask-address, or address "
        "in the [dask] table of the sources file); see README, Dask."
    )


def nianbao_version() -> str:
    """The parser and extraction code this process has loaded: every machine of a run must have the same."""
    return f"{PARSER_VERSION}+{extraction_code_version()}"


def worker_problems(paths: list[str], api_url: str, results_dir: str | None, version: str) -> list[str]:
    """Run on each Dask worker before the batches: what would keep it from extracting them as this machine would."""
    problems = []
    if nianbao_version() != version:
        problems.append(
            f"runs nianbao {nianbao_version()}, not {version} as the flow does: install the same version, then restart it"
        )
    unreadable = [path for path in paths if not os.access(path, os.R_OK)]
    if unreadable:
        more = len(unreadable) - 1
        problems.append(f"cannot read {unreadable[0]}"
                        + (f" (and {more} more of the {len(paths)} files it was asked about)" if more else ""))
    try:
        httpx.get(f"{api_url.rstrip('/')}/health", timeout=API_CHECK_SECONDS)
    except httpx.TransportError as exc:
        problems.append(f"cannot reach the Prefect API at {api_url} ({type(exc).__name__}: {exc})")
    if results_dir:
        try:
            Path(results_dir).mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=results_dir):
                pass
        except OSError as exc:
            problems.append(f"cannot write Prefect's result storage {results_dir} ({exc.strerror or exc})")
    return problems


@dataclass(frozen=True)
class Extraction:
    """The task runner the batches go to, and how many of them to keep in flight."""

    runner: TaskRunner
    in_flight: int
    #: Whether a batch's files are handed to the runner under Prefect's `quote`. The flow's own thread pool
    #: would otherwise walk every file twice looking for futures (2% of a text report's CPU); on Dask,
    #: prefect-dask walks the parameters itself and Dask sends a quote to its worker as a plain tuple.
    quote_files: bool


@contextmanager
def extraction_runner(settings: DaskSettings | None, files: list[str]) -> Iterator[Extraction]:
    """The flow's own task runner by default; else a DaskTaskRunner on the cluster `settings` names.

    `files` are the paths the batches will read: each worker must see them at the same paths.
    """
    flow_run = FlowRunContext.get()
    if flow_run is None:
        raise RuntimeError("extraction_runner is called inside the ingest flow run")
    if settings is None:
        threads = get_current_settings().tasks.runner.thread_pool_max_workers or LOCAL_EXTRACTION_THREADS
        local: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=threads)
        with local as runner:
            yield Extraction(runner, threads + 1, quote_files=True)
        return
    api_url = PREFECT_API_URL.value() or str(flow_run.client.api_url)
    # Task runs on the workers report to the API named in the settings sent with each batch; with
    # Prefect's temporary server that is unset, and each worker would start a server of its own.
    with temporary_settings(updates={PREFECT_API_URL: api_url}), _dask_runner(settings) as runner:
        client = _connected_client(runner, settings)
        _check_cluster(client, settings, _one_file_per_directory(files), api_url)
        threads = sum(client.nthreads().values())
        yield Extraction(runner, max(LOCAL_BATCHES_IN_FLIGHT, BATCHES_PER_WORKER_THREAD * threads), quote_files=False)


def dask_worker_deaths() -> tuple[type[KilledWorker], ...]:
    """Dask's KilledWorker (every worker that ran a batch died) once a run has imported Dask; none before."""
    distributed = sys.modules.get("distributed")
    return (distributed.KilledWorker,) if distributed else ()


def _dask_runner(settings: DaskSettings) -> DaskTaskRunner:
    from prefect_dask import DaskTaskRunner

    if settings.address:
        return DaskTaskRunner(address=settings.address, client_kwargs={"timeout": SCHEDULER_CONNECT_SECONDS})
    # One thread per process: extraction is pure Python, so threads would only share one core. The
    # scheduler's HTTP port is any free one: Dask's 8787 would clash with another cluster on the machine.
    return DaskTaskRunner(cluster_kwargs={
        "n_workers": settings.workers, "threads_per_worker": 1, "processes": True, "dashboard_address": ":0",
    })


def _connected_client(runner: DaskTaskRunner, settings: DaskSettings) -> Client:
    try:
        client = runner.client
    except (OSError, TimeoutError) as exc:
        if not settings.address:
            raise
        raise ClusterUnavailable(_unreachable(settings.address, exc)) from exc
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except TimeoutError as exc:
        raise ClusterUnavailable(
            f"{settings.describe()} has no worker after {WORKER_WAIT_SECONDS} s: start some with "
            f"`dask worker {settings.address}` on machines that have nianbao installed and see the report files"
        ) from exc
    return client


def _check_cluster(client: Client, settings: DaskSettings, paths: list[str], api_url: str) -> None:
    """The scheduler unpickles the batches and the workers run them: both must have this nianbao."""
    version = nianbao_version()
    problems = []
    try:
        scheduler_version = client.run_on_scheduler(nianbao_version)
    except Exception as exc:
        problems.append(f"the scheduler cannot load nianbao ({type(exc).__name__}: {exc}): install it there too")
    else:
        if scheduler_version != version:
            problems.append(
                f"the scheduler runs nianbao {scheduler_version}, not {version}: install the same version, then restart it"
            )
    answers = client.run(worker_problems, paths, api_url, _local_results_dir(), version, on_error="return")
    for worker, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            problems.append(
                f"worker {worker} cannot load nianbao ({type(answer).__name__}: {answer}): install it with its "
                "dependencies, the same version as here"
            )
        else:
            problems += [f"worker {worker} {problem}" for problem in answer]
    if problems:
        raise ClusterUnavailable(
            f"{settings.describe()} cannot take the batches: " + "; ".join(problems)
            + ". Workers must see the report files at the same paths as this machine (a shared directory), "
            "reach PREFECT_API_URL and write the result storage (PREFECT_LOCAL_STORAGE_PATH); see README, Dask."
        )


def _local_results_dir() -> str | None:
    """Where workers persist extracted batches when results are kept on a local disk (Prefect's default)."""
    storage = get_result_store().result_storage
    return str(storage.basepath) if isinstance(storage, LocalFileSystem) and storage.basepath else None


def _one_file_per_directory(files: list[str]) -> list[str]:
    """Enough to tell a missing mount without asking every worker about every file."""
    per_directory = {str(Path(path).parent): path for path in files}
    return list(per_directory.values())[:FILES_CHECKED_PER_WORKER]
