"""Prefect defaults for this project, applied before Prefect is imported.

Offline machines log telemetry errors unless analytics are off, and the temporary local
server's first start (database migrations) can exceed Prefect's 20 s default wait.
A value the user already set is kept.
"""

from __future__ import annotations

import os

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}


def apply_prefect_defaults() -> None:
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
