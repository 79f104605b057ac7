"""Which Dask cluster a run extracts on, as settings: read from the command line and the sources file.

Kept apart from flows/cluster.py, which reaches the cluster through Prefect, so that reading a
sources file needs neither Prefect nor Dask.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_SCHEDULER_PORT = 8786


@dataclass(frozen=True)
class DaskSettings:
    """An existing cluster's scheduler address, or a number of local worker processes to start."""

    address: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if (self.address is None) == (self.workers is None):
            raise ValueError("Dask settings need exactly one of a scheduler address and a number of workers")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"the number of Dask workers must be at least 1, not {self.workers}")

    def describe(self) -> str:
        if self.address:
            return f"the Dask cluster at {self.address}"
        return f"a local Dask cluster of {self.workers} processes"


def parse_dask_address(text: str) -> str:
    """`tcp://HOST:PORT` (or `HOST:PORT`, the same); anything else is refused, saying why."""
    address = text.strip()
    if "://" not in address:
        address = f"tcp://{address}"
    parts = urlsplit(address)
    if parts.scheme != "tcp":
        raise ValueError(f"Dask address {text!r}: only tcp:// scheduler addresses are supported (tcp://HOST:8786)")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ValueError(f"Dask address {text!r} is not tcp://HOST:PORT, e.g. tcp://10.0.0.5:{DEFAULT_SCHEDULER_PORT}")
    return f"tcp://{parts.netloc}"


def choose_dask(address: str | None, workers: int | None, from_sources: DaskSettings | None) -> DaskSettings | None:
    """What the run was asked for wins over the sources file; neither means the flow's own threads."""
    if address and workers:
        raise ValueError("give a Dask scheduler address or a number of local Dask workers, not both")
    if address:
        return DaskSettings(address=parse_dask_address(address))
    if workers:
        return DaskSettings(workers=workers)
    return from_sources
