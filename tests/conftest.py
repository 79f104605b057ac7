"""Shared fixtures. One Prefect server per session (and per xdist worker): each start costs 10-25 s here.

Prefect's home is a directory of this session's own, set before Prefect is imported: the tests never
read or write the developer's ~/.prefect (its profiles, its database, its result storage), and two
xdist workers never share one.
"""

from __future__ import annotations

import atexit
import csv
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.settings import apply_defaults

# Typer's usage and error panels as wide as a wide terminal: at its default 80 columns, a path under an xdist
# worker's longer tmp_path (.../popen-gw1/...) is wrapped in the middle of its name.
os.environ.setdefault("TERMINAL_WIDTH", "200")
_PREFECT_HOME = tempfile.mkdtemp(prefix="nianbao-tests-prefect-")
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
os.environ["PREFECT_HOME"] = _PREFECT_HOME
apply_defaults()

from tests.processes import PrefectServer  # noqa: E402  (after PREFECT_HOME is set)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "flows" / "samples"
SEED_EXPECTED = ROOT / "tests" / "data" / "seeds"
HTML_FIXTURES = ROOT / "tests" / "fixtures" / "html"
BAD_FIXTURES = ROOT / "tests" / "fixtures" / "bad"


#: This process's Prefect server, started as soon as the tests collected show that one of them needs it.
_server: PrefectServer | None = None


@pytest.hookimpl(trylast=True)  # after -m and -k deselected what does not run
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules with the most slow tests first (a module's tests keep their order): with two processes
    (pyproject's addopts) the long ones start at once, one on each, and the quick ones fill in the end.

    The Prefect server starts now if a test will need it: its 10-20 s start overlaps the tests before.
    """
    global _server
    slow = Counter(item.path for item in items if item.get_closest_marker("slow"))
    items.sort(key=lambda item: -slow[item.path])
    if _server is None and any("prefect_server" in item.fixturenames for item in items):
        _server = PrefectServer(Path(_PREFECT_HOME) / "server")


def pytest_sessionfinish() -> None:
    if _server is not None:
        _server.stop()
    # A command a test ran without an API URL started nianbao's reused local server in this session's
    # PREFECT_HOME (flows/local_server.py); it would outlive the tests by its idle timeout.
    from flows.local_server import stop

    stop()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory) -> Iterator[PrefectServer]:
    """A real `prefect server start` (scheduler and all) for the session: flows the tests run report to it,
    and commands they start (`nianbao serve`, a killed crawl) are given its URL."""
    from prefect.context import _temporary_global_settings_context, get_settings_context
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = _server or PrefectServer(tmp_path_factory.mktemp("prefect-server"))
    server.wait_until_healthy()
    try:
        # As prefect_test_harness does: also for Prefect's own threads, whose context was copied earlier.
        with temporary_settings(updates={PREFECT_API_URL: server.url}), \
                _temporary_global_settings_context(get_settings_context()):
            yield server
            APILogWorker.drain_all(timeout=5)  # what the flows logged, sent while the server is there
            EventsWorker.drain_all(timeout=5)
    finally:
        server.stop()


def copy_samples_as(target: Path, agency: int) -> None:
    """The five samples as if another agency had published them: the same reports, other bytes.

    The same bytes at two paths are one report (a duplicate), so copies meant as separate reports
    end with a different number of blank lines.
    """
    target.mkdir(parents=True)
    for sample in sorted(SAMPLES.glob("*.txt")):
        (target / sample.name).write_bytes(sample.read_bytes() + b"\n" * (agency + 1))


@pytest.fixture
def samples_copy(tmp_path: Path) -> Path:
    """The five sample reports in a directory the test may change."""
    target = tmp_path / "reports"
    shutil.copytree(SAMPLES, target)
    return target
