"""Choosing where batches run: the sources file's [dask] table, the CLI's options, and the workers' own check.

None of these start Prefect or Dask: what cannot work is refused before a run starts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.cluster import DaskSettings, choose_dask, nianbao_version, parse_dask_address, worker_problems
from flows.sources import SourcesFileError, load_dask_settings
from tests.processes import free_port

runner = CliRunner()


def sources_file(tmp_path: Path, dask_table: str) -> Path:
    (tmp_path / "reports").mkdir(exist_ok=True)
    file = tmp_path / "sources.toml"
    file.write_text(f'{dask_table}\n[[sources]]\npath = "reports"\n', encoding="utf-8")
    return file


@pytest.mark.parametrize(("given", "address"), [
    ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    ("10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    (" tcp://dask.example.org:9000/ ", "tcp://dask.example.org:9000"),
])
def test_a_scheduler_address_is_tcp_host_and_port(given, address):
    assert parse_dask_address(given) == address


@pytest.mark.parametrize(("given", "says"), [
    ("tls://10.0.0.5:8786", "only tcp://"),
    ("http://10.0.0.5:8786", "only tcp://"),
    ("tcp://10.0.0.5", "is not tcp://HOST:PORT"),
    ("tcp://10.0.0.5:port", "is not tcp://HOST:PORT"),
    ("tcp://:8786", "is not tcp://HOST:PORT"),
])
def test_other_addresses_are_refused_saying_why(given, says):
    with pytest.raises(ValueError, match=says):
        parse_dask_address(given)


def test_the_sources_file_names_a_cluster_or_a_number_of_local_workers(tmp_path):
    assert load_dask_settings(sources_file(tmp_path, "")) is None
    assert load_dask_settings(sources_file(tmp_path, '[dask]\naddress = "10.0.0.5:8786"\n')) == DaskSettings(
        address="tcp://10.0.0.5:8786"
    )
    assert load_dask_settings(sources_file(tmp_path, "[dask]\nworkers = 8\n")) == DaskSettings(workers=8)


@pytest.mark.parametrize(("table", "says"), [
    ('[dask]\naddress = "tcp://a:1"\nworkers = 2\n', "`address` .* or `workers`, one of them"),
    ("[dask]\n", "`address` .* or `workers`, one of them"),
    ("[dask]\nworkers = 0\n", "`workers` must be a whole number of at least 1, not 0"),
    ('[dask]\nworkers = "4"\n', "`workers` must be a whole number"),
    ("[dask]\naddress = 8786\n", "`address` must be a string"),
    ('[dask]\naddress = "tls://a:1"\n', "only tcp://"),
    ('[dask]\nscheduler = "tcp://a:1"\n', "unknown key 'scheduler'"),
    ('dask = "tcp://a:1"\n', "must be a table"),
])
def test_a_wrong_dask_table_names_the_file_and_what_is_wrong(tmp_path, table, says):
    file = sources_file(tmp_path, table)
    with pytest.raises(SourcesFileError, match=f"{file}: \\[dask\\].*{says}"):
        load_dask_settings(file)


def test_what_the_run_is_asked_for_wins_over_the_sources_file():
    from_file = DaskSettings(address="tcp://10.0.0.5:8786")
    assert choose_dask(None, None, from_file) == from_file
    assert choose_dask("10.0.0.9:8786", None, from_file) == DaskSettings(address="tcp://10.0.0.9:8786")
    assert choose_dask(None, 3, from_file) == DaskSettings(workers=3)
    assert choose_dask(None, None, None) is None
    with pytest.raises(ValueError, match="not both"):
        choose_dask("10.0.0.9:8786", 3, None)


def test_an_address_and_a_number_of_workers_together_are_bad_usage(tmp_path):
    for command in (["ingest"], ["serve"]):
        result = runner.invoke(app, [*command, "--dask-address", "tcp://127.0.0.1:8786", "--workers", "2",
                                     "--db", str(tmp_path / "w.duckdb")])
        assert result.exit_code == 2
        assert "use --dask-address (an existing cluster) or --workers (a local one), not both" in result.output


def test_a_malformed_address_is_bad_usage(tmp_path):
    result = runner.invoke(app, ["ingest", "--dask-address", "tls://127.0.0.1:8786", "--db", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2
    assert "only tcp:// scheduler addresses are supported" in result.output


def test_a_scheduler_nobody_listens_at_is_named_with_what_to_do(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["ingest", "--dask-address", address, "--db", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"cannot reach the Dask scheduler at {address}" in said
    assert f"dask scheduler --port {address.rsplit(':', 1)[1]}" in said
    assert not (tmp_path / "w.duckdb").exists()


def test_the_sources_files_scheduler_must_be_listening_too(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    sources = sources_file(tmp_path, f'[dask]\naddress = "{address}"\n')
    result = runner.invoke(app, ["ingest", "--sources", str(sources), "--db", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2
    assert f"cannot reach the Dask scheduler at {address}" in " ".join(result.output.split())


def test_a_worker_says_what_keeps_it_from_extracting(tmp_path):
    report = tmp_path / "report.html"
    report.write_text("<html></html>", encoding="utf-8")
    results_dir = tmp_path / "not-a-directory"
    results_dir.write_text("", encoding="utf-8")
    api_url = f"http://127.0.0.1:{free_port()}/api"
    problems = worker_problems([str(report), str(tmp_path / "a.txt"), str(tmp_path / "b.txt")], api_url,
                               str(results_dir), "other-version")
    assert problems[0] == f"runs nianbao {nianbao_version()}, not other-version as the flow does: install the same version, then restart it"
    assert problems[1] == f"cannot read {tmp_path / 'a.txt'} (and 1 more of the 3 files it was asked about)"
    assert problems[2].startswith(f"cannot reach the Prefect API at {api_url} (ConnectError")
    assert problems[3].startswith(f"cannot write Prefect's result storage {results_dir}")
    assert len(problems) == 4


def test_a_worker_that_can_do_the_work_says_nothing(tmp_path, prefect_server):
    from prefect.settings import PREFECT_API_URL

    report = tmp_path / "report.html"
    report.write_text("<html></html>", encoding="utf-8")
    assert os.access(report, os.R_OK)
    assert worker_problems([str(report)], PREFECT_API_URL.value(), str(tmp_path / "results"), nianbao_version()) == []
