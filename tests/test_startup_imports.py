"""What every `nianbao` command pays before it does anything: Dask is imported only by a run that uses it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_cli_and_the_flow_do_not_import_dask():
    script = ("import sys, flows.cli, flows.ingest, flows.tasks\n"
              "print(sorted({name.split('.')[0] for name in sys.modules} & {'dask', 'distributed', 'prefect_dask'}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_new_warehouse_is_checked_before_the_server_starts_without_importing_duckdb_or_polars(tmp_path):
    """A first run's server starts sooner when the check of a new --db imports nothing heavy (flows/cli.py)."""
    script = ("import sys; from pathlib import Path; from flows.cli import _check_warehouse\n"
              f"_check_warehouse(Path({str(tmp_path / 'new.duckdb')!r}))\n"
              f"Path({str(tmp_path / 'empty.duckdb')!r}).touch(); _check_warehouse(Path({str(tmp_path / 'empty.duckdb')!r}))\n"
              "print(sorted({name.split('.')[0] for name in sys.modules} & {'duckdb', 'polars', 'pyarrow', 'warehouse'}))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
