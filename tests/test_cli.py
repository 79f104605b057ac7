"""`nianbao ingest` and `nianbao sql` as a user runs them, against one Prefect test server."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.ingest import ingest_flow
from tests.conftest import BAD_FIXTURES, HTML_FIXTURES

runner = CliRunner()


def ingest(*args: str):
    return runner.invoke(app, ["ingest", *args], catch_exceptions=False)


def query(db, sql: str):
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.usefixtures("prefect_server")
class TestIngest:
    def test_ingest_then_reingest_reports_unchanged(self, tmp_path, samples_copy):
        db = tmp_path / "w.duckdb"
        first = ingest(str(samples_copy), "--db", str(db))
        assert first.exit_code == 0, first.output
        assert "│          5 │      5 │         0 │      0 │          998 │             0 │" in first.output
        second = ingest(str(samples_copy), "--db", str(db))
        assert second.exit_code == 0, second.output
        assert "│          5 │      0 │         5 │      0 │            0 │             0 │" in second.output
        assert query(db, "select count(*), count(distinct run_id) from runs") == [(2, 2)]
        assert query(db, "select files_unchanged, files_loaded from runs order by started_at") == [(0, 5), (5, 0)]

    def test_a_failed_file_exits_1_and_the_others_still_load(self, tmp_path, samples_copy):
        shutil.copy(BAD_FIXTURES / "truncated_table_b.html", samples_copy / "truncated.html")
        shutil.copy(HTML_FIXTURES / "report_2019_gbk_wrong_meta.html", samples_copy / "gbk.html")
        db = tmp_path / "w.duckdb"
        result = ingest(str(samples_copy), "--db", str(db))
        assert result.exit_code == 1
        assert "truncated.html: table 收到和处理政府信息公开申请情况 is cut off" in result.output.replace("\n", "")
        assert query(db, "select count(*) from reports") == [(6,)]
        assert query(db, "select status, count(*) from ingest_files group by all order by all") == [
            ("failed", 1), ("loaded", 6)
        ]
        assert query(db, "select status, files_failed from runs") == [("failed", 1)]

    def test_the_flow_run_ends_failed_after_loading_the_good_files(self, tmp_path, samples_copy):
        shutil.copy(BAD_FIXTURES / "empty.html", samples_copy / "empty.html")
        state = ingest_flow(paths=[str(samples_copy)], db=str(tmp_path / "w.duckdb"), batch_files=2, return_state=True)
        assert state.is_failed()
        assert state.message == "1 of 6 files failed"
        summary = state.result(raise_on_failure=False)
        assert (summary.files_loaded, summary.files_failed, summary.facts_loaded) == (5, 1, 998)

    def test_no_arguments_ingests_the_bundled_samples(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        result = ingest()
        assert result.exit_code == 0, result.output
        assert query(tmp_path / "nianbao.duckdb", "select count(*) from reports") == [(5,)]

    def test_sql_prints_the_answer(self, tmp_path, samples_copy):
        db = tmp_path / "w.duckdb"
        assert ingest(str(samples_copy), "--db", str(db)).exit_code == 0
        result = runner.invoke(
            app, ["sql", "select agency, new_received__total from requests_wide where year = 2023 order by 2 desc limit 1", "--db", str(db)]
        )
        assert result.exit_code == 0
        assert "平顶山市教育体育局" in result.output
        assert "14" in result.output


def test_a_path_that_does_not_exist_is_bad_usage(tmp_path):
    result = ingest(str(tmp_path / "nowhere"), "--db", str(tmp_path / "w.duckdb"))
    assert result.exit_code == 2
    assert "nowhere" in result.output
    assert not (tmp_path / "w.duckdb").exists()


def test_sql_on_a_missing_warehouse_says_to_ingest_first(tmp_path):
    result = runner.invoke(app, ["sql", "select 1", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 1
    assert "run `nianbao ingest` first" in result.output


def test_bad_sql_is_a_usage_error(tmp_path):
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    result = runner.invoke(app, ["sql", "selec nothing", "--db", str(db)])
    assert result.exit_code == 2
    assert "SQL error" in result.output


@pytest.mark.usefixtures("prefect_server")
class TestSourcesFileAndArtifact:
    def test_a_sources_file_names_directories_relative_to_itself(self, tmp_path, samples_copy):
        (tmp_path / "sources.toml").write_text('[[sources]]\nname = "samples"\npath = "reports"\n', encoding="utf-8")
        db = tmp_path / "w.duckdb"
        result = ingest("--sources", str(tmp_path / "sources.toml"), "--db", str(db))
        assert result.exit_code == 0, result.output
        assert query(db, "select count(*) from reports") == [(5,)]

    def test_the_run_artifact_and_runs_table_count_a_failed_file(self, tmp_path, samples_copy):
        from prefect.artifacts import Artifact

        shutil.copy(BAD_FIXTURES / "not_a_report.html", samples_copy / "news.html")
        db = tmp_path / "w.duckdb"
        state = ingest_flow(paths=[str(samples_copy)], db=str(db), return_state=True)
        assert state.is_failed()
        run_id = str(state.state_details.flow_run_id)
        artifact = Artifact.get("nianbao-ingest-summary")
        assert str(artifact.flow_run_id) == run_id
        assert "| 6 | 6 | 0 | 0 | 5 | 1 | 0 | 0 | 0 | 998 | 0 |" in artifact.data
        assert "| not_a_report | 1 |" in artifact.data
        assert "news.html: no statistical table of an annual report found" in artifact.data
        assert query(db, f"select status, files_seen, files_loaded, files_failed, facts_loaded, checks_failed "
                         f"from runs where run_id = '{run_id}'") == [("failed", 6, 5, 1, 998, 0)]


def test_a_sources_file_with_a_bad_entry_is_bad_usage(tmp_path):
    sources = tmp_path / "sources.toml"
    sources.write_text('[[sources]]\npath = "reports"\n\n[[sources]]\nname = "no path"\n', encoding="utf-8")
    (tmp_path / "reports").mkdir()
    result = ingest("--sources", str(sources), "--db", str(tmp_path / "w.duckdb"))
    assert result.exit_code == 2
    assert f"{sources}: [[sources]] entry 2: `path` is missing" in result.output.replace("\n", "")


def test_a_sources_file_naming_a_missing_directory_says_so(tmp_path):
    from flows.sources import SourcesFileError, load_sources

    sources = tmp_path / "sources.toml"
    sources.write_text('[[sources]]\npath = "gone"\n', encoding="utf-8")
    with pytest.raises(SourcesFileError, match=r"entry 1: path 'gone' does not exist"):
        load_sources(sources)
