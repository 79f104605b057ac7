"""Shared fixtures. One Prefect test server per session: each start costs 15-25 s here."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from flows.settings import apply_prefect_defaults

apply_prefect_defaults()

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "flows" / "samples"
SEED_EXPECTED = ROOT / "tests" / "data" / "seeds"
HTML_FIXTURES = ROOT / "tests" / "fixtures" / "html"
BAD_FIXTURES = ROOT / "tests" / "fixtures" / "bad"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


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
