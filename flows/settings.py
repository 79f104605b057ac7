"""Settings nianbao reads from the environment, and the defaults it applies before Prefect and polars are imported.

Offline machines log telemetry errors unless analytics are off, and the local server's first start
(database migrations) can exceed Prefect's 20 s default wait. polars runs on one thread: a batch's frames
are small, the run's threads and Dask's processes already share the cores, and each polars thread kept
memory of its own. A value the user already set is kept.
"""

from __future__ import annotations

import os

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}
#: nianbao's local Prefect server stops after this many seconds without a request or a running command.
SERVER_IDLE_VARIABLE = "NIANBAO_SERVER_IDLE_SECONDS"
DEFAULT_SERVER_IDLE_SECONDS = 30 * 60


#: At 100,000 text reports the run peaked at 588 MB with one polars thread, 602 with one per core (two here),
#: for 311 against 316 CPU s.
LIBRARY_DEFAULTS = {"POLARS_MAX_THREADS": "1"}


def apply_defaults() -> None:
    for name, value in (PREFECT_DEFAULTS | LIBRARY_DEFAULTS).items():
        os.environ.setdefault(name, value)


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
