"""`nianbao synth`, `nianbao ingest` and `nianbao eval` as a user chains them, and eval catching a wrong number."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app

runner = CliRunner()


def nianbao(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def loaded_corpus(tmp_path_factory, prefect_server):
    """A small generated corpus, ingested through the CLI."""
    root = tmp_path_factory.mktemp("synth-cli")
    corpus, db = root / "corpus", root / "w.duckdb"
    made = nianbao("synth", "--out", str(corpus), "--count", "12", "--seed", "5", "--workers", "1")
    assert made.exit_code == 0, made.output
    assert "wrote 12 reports" in made.output
    loaded = nianbao("ingest", str(corpus), "--db", str(db))
    assert loaded.exit_code == 0, loaded.output
    return corpus, db


def test_eval_of_a_correct_load_prints_full_recall_and_exits_0(loaded_corpus):
    corpus, db = loaded_corpus
    result = nianbao("eval", "--truth", str(corpus / "truth.parquet"), "--db", str(db))
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(db), read_only=True) as conn:
        facts = conn.execute("select count(*) from facts").fetchone()[0]
    assert f"| all   | {facts:<11} | {facts:<15} | {facts:<13} | 0           | 0            | 1.0       | 1.0    |" in result.output
    assert result.output.rstrip().endswith("PERFECT: every cell, file, check and field right")


def test_eval_names_the_report_with_a_wrong_number_and_exits_1(loaded_corpus, tmp_path):
    corpus, db = loaded_corpus
    wrong = tmp_path / "wrong.duckdb"
    wrong.write_bytes(db.read_bytes())
    with duckdb.connect(str(wrong)) as conn:
        path, report_id = conn.execute(
            "select i.path, f.report_id from facts f join ingest_files i using (report_id) "
            "where f.table_code = 'requests' and f.row_code = 'granted' and f.col_code = 'total' "
            "order by i.path limit 1"
        ).fetchone()
        conn.execute("update facts set value = value + 1 where report_id = ? and table_code = 'requests' "
                     "and row_code = 'granted' and col_code = 'total'", [report_id])
    result = nianbao("eval", "--truth", str(corpus / "truth.parquet"), "--db", str(wrong))
    assert result.exit_code == 1
    assert "NOT PERFECT" in result.output
    worst = result.output.split("## Worst reports", 1)[1]
    assert path.removeprefix(str(corpus.resolve()) + "/") in worst


def test_synth_refuses_a_directory_that_is_not_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    result = nianbao("synth", "--out", str(tmp_path), "--count", "1")
    assert result.exit_code == 2
    assert f"{tmp_path}: not empty" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_eval_without_a_warehouse_says_to_ingest_first(tmp_path):
    truth = tmp_path / "truth.parquet"
    truth.write_bytes(b"PAR1")
    result = nianbao("eval", "--truth", str(truth), "--db", str(tmp_path / "none.duckdb"))
    assert result.exit_code == 2
    assert "no such warehouse; load the corpus first with `nianbao ingest DIR" in result.output
