"""Settings nianbao reads from the environment, and the defaults it applies when a command starts.

Offline machines log telemetry errors unless analytics are off, and the local server's first start
(database migrations) can exceed Prefect's 20 s default wait. glibc's malloc arenas are bounded before any
thread starts (`apply_memory_defaults`). A value the user already set is kept.
"""

from __future__ import annotations

import ctypes
import os
import sys

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}
#: nianbao's local Prefect server stops after this many seconds without a request or a running command.
SERVER_IDLE_VARIABLE = "NIANBAO_SERVER_IDLE_SECONDS"
DEFAULT_SERVER_IDLE_SECONDS = 30 * 60


#: glibc's malloc arenas: by default up to 8 per core, each thread that allocates taking one and keeping its free
#: pages (the extraction threads' Python, lxml and zstd buffers). Two arenas cost no measurable CPU at 10,000
#: reports (BENCHMARKS.md, issue 17). glibc reads MALLOC_ARENA_MAX once, at the process's start.
MALLOC_ARENAS = ("MALLOC_ARENA_MAX", "2")
_M_ARENA_MAX = -8  # mallopt's parameter for MALLOC_ARENA_MAX (malloc.h)
#: DuckDB's memory for the run's copy while batches load into it (NIANBAO_DUCKDB_LOAD_MEMORY_LIMIT). A batch's
#: statements need little; what fills the limit is the rows loaded since the last checkpoint (up to 64 MB of
#: log, warehouse/staging.py) and blocks of the copy. At 10,000 mixed reports: the phase's median 463 MB under
#: 128MB (DuckDB's own use went 40 -> 105 MB and back at each checkpoint), 429 MB under 64MB, flat across the
#: run, for the same CPU. The publish runs under the writers' limit (NIANBAO_DUCKDB_MEMORY_LIMIT, 256MB).
LOAD_MEMORY_LIMIT_VARIABLE = "NIANBAO_DUCKDB_LOAD_MEMORY_LIMIT"
DEFAULT_LOAD_MEMORY_LIMIT = "64MB"


def apply_prefect_defaults() -> None:
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)


def apply_memory_defaults() -> None:
    """Bound the free memory glibc's malloc keeps per thread, so that a long run's memory stays flat.

    Call it when the process starts, before any thread does. The environment variable reaches the processes
    this one starts too (a local Dask cluster's workers). polars' jemalloc needs nothing: it already gives
    freed pages back within about a second (a shorter decay through _RJEM_MALLOC_CONF changed nothing).
    """
    name, arenas = MALLOC_ARENAS
    if name not in os.environ:  # else glibc already applied the user's own at the start
        os.environ[name] = arenas
        if sys.platform.startswith("linux"):
            mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
            if mallopt is not None:  # glibc and musl; a libc without it keeps its own arenas
                mallopt(_M_ARENA_MAX, int(arenas))


def load_memory_limit() -> str:
    """DuckDB's memory limit while a run loads its batches: NIANBAO_DUCKDB_LOAD_MEMORY_LIMIT, else 64MB."""
    return os.environ.get(LOAD_MEMORY_LIMIT_VARIABLE) or DEFAULT_LOAD_MEMORY_LIMIT


def server_idle_seconds() -> float:
    """How long the local Prefect server waits unused before it stops (NIANBAO_SERVER_IDLE_SECONDS)."""
    raw = os.environ.get(SERVER_IDLE_VARIABLE)
    if raw is None:
        return float(DEFAULT_SERVER_IDLE_SECONDS)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ValueError(f"{SERVER_IDLE_VARIABLE}={raw!r} is not a number of seconds above 0; unset it for the "
                         f"default ({DEFAULT_SERVER_IDLE_SECONDS} s)")
    return seconds


def server_startup_seconds() -> float:
    """How long a command waits for the local Prefect server to answer (Prefect's own setting for its temporary server)."""
    return float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
                 or PREFECT_DEFAULTS["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
