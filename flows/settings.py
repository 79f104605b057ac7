"""Settings nianbao reads from the environment, and the Prefect defaults it applies before Prefect is imported.

Offline machines log telemetry errors unless analytics are off, and the local server's first start
(database migrations) can exceed Prefect's 20 s default wait. A value the user already set is kept.
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


def apply_prefect_defaults() -> None:
    for name, value in PREFECT_DEFAULTS.items():
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
