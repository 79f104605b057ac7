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
