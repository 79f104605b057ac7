"""Text renderings by other tools (glued, one cell per line, pipes, space-aligned, Traditional):
every determinable cell right, every ambiguous glued cell reported ambiguous, every break flagged."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from corpus.evaluate import evaluate, render
from corpus.report import OTHER_TEXT_FORMATS
from corpus.synth import generate
from flows.api import ingest

# 60 reports of this seed cover every variant below; if a generator change loses one, pick another seed.
SEED = 1
COUNT = 60
BREAK_RATE = 0.3
BATCH = 50

REPORT_VARIANTS = {
    **{f"layout {layout}": pl.col("layout") == f"text/{layout}" for layout in ("glued", "lines", "pipes", "aligned")},
    "Traditional": pl.col("layout").str.starts_with("text/traditional-"),
    "2025 report": pl.col("year") == 2025,
    "2019 template": pl.col("template_version") == "2019",
    "break on a glued report": (pl.col("layout") == "text/glued") & pl.col("break_rule").is_not_null(),
    "glued break read as ambiguous cells": pl.col("break_rule") == "cell_ambiguous",
}
TEXT_VARIANTS = {
    "glued on one line": lambda text: "本年新收政府信息公开申请数量" in text and text.count("\n") <= 2,
    "glued sub-row number on the values": lambda text: "00002.其他法律" in text or "00002．其他法律" in text,
    "markdown rule row": lambda text: "|---|" in text,
    "bare | line": lambda text: "\n|\n" in text,
    "cells ending in ' |'": lambda text: " |\n" in text and "| " not in text,
    "vertical headers": lambda text: "\n" + " " * 40 in text and "结" in text,
    "page number": lambda text: "\n- 2 -\n" in text,
    "page chrome": lambda text: "全真版 文字版" in text or "微信 微博" in text,
    "repeated 三、本年度办理结果": lambda text: text.count("三、本年度办理结果") >= 2,
    "typo 行政法复议 in a heading": lambda text: "四、政府信息公开行政法复议" in text,
    "ASCII colon": lambda text: "(本列数据的勾稽关系为:" in text or "（本列数据的勾稽关系为:" in text,
    "Traditional 規範性檔案": lambda text: "規範性檔案" in text,
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("text-layouts")
    generate(out, COUNT, seed=SEED, formats=OTHER_TEXT_FORMATS, break_rate=BREAK_RATE, workers=1)
    return out


@pytest.fixture(scope="module")
def warehouse(corpus, tmp_path_factory) -> Path:
    """The corpus ingested as `nianbao ingest` does, through the pipeline's API (no Prefect)."""
    db = tmp_path_factory.mktemp("warehouse") / "w.duckdb"
    assert ingest([corpus], db, batch_files=BATCH).files_loaded == COUNT
    return db


@pytest.fixture(scope="module")
def evaluation(corpus, warehouse):
    return evaluate(corpus / "truth.parquet", warehouse)


def test_the_corpus_covers_every_layout_and_quirk(corpus):
    reports = pl.read_parquet(corpus / "truth_reports.parquet")
    texts = [(corpus / f).read_bytes().decode(e) for f, e in reports.select("file", "encoding").iter_rows()]
    missing = [name for name, condition in REPORT_VARIANTS.items() if reports.filter(condition).is_empty()]
    missing += [name for name, found in TEXT_VARIANTS.items() if not any(found(text) for text in texts)]
    truth = pl.read_parquet(corpus / "truth.parquet")
    lost = truth.filter((pl.col("layout") == "text/lines") & (pl.col("value_kind") == "blank"))
    missing += [] if lost.height else ["a table whose numbers were lost"]
    assert missing == []


def test_every_determinable_cell_is_right_and_every_ambiguous_cell_is_reported_ambiguous(corpus, evaluation):
    overall = evaluation.overall.row(0, named=True)
    assert overall["truth_cells"] == overall["extracted_cells"] == pl.read_parquet(corpus / "truth.parquet").height
    assert (overall["wrong_cells"], overall["missed_cells"]) == (0, 0), render(evaluation)
    assert overall["ambiguous_cells"] >= 10
    assert overall["reported_ambiguous"] == overall["ambiguous_cells"]
    for breakdown in (evaluation.by_layout, evaluation.by_table):
        assert breakdown["precision"].to_list() == [1.0] * breakdown.height
        assert breakdown["recall"].to_list() == [1.0] * breakdown.height
    assert evaluation.perfect, render(evaluation)
    # Ambiguity is the exception where the arithmetic reaches: a solver that gave up too easily
    # would mark (and the truth, computed by it, would expect) far more of table B ambiguous.
    requests = evaluation.by_table.filter(pl.col("table_code") == "requests").row(0, named=True)
    assert requests["ambiguous_cells"] < 0.01 * requests["truth_cells"]


def test_every_report_loads_with_its_metadata(evaluation):
    assert evaluation.files.select("status").unique().to_series().to_list() == ["loaded"]
    assert evaluation.metadata.filter(pl.col("matching") != pl.col("reports")).to_dicts() == []


def test_every_break_is_flagged_and_ambiguity_raises_no_false_alarm(evaluation):
    assert evaluation.breaks.height >= 10
    assert evaluation.breaks.filter(~pl.col("surfaced")).to_dicts() == []
    assert evaluation.false_alarms.to_dicts() == []


def test_a_number_loaded_into_an_ambiguous_cell_counts_as_wrong(corpus, warehouse, tmp_path):
    db = tmp_path / "guessed.duckdb"
    shutil.copy(warehouse, db)
    truth = pl.read_parquet(corpus / "truth.parquet")
    cell = truth.filter(pl.col("value_kind") == "ambiguous").row(0, named=True)
    with duckdb.connect(str(db)) as conn:
        report_id = conn.execute("select report_id from ingest_files where path = ?",
                                 [str(corpus / cell["file"])]).fetchone()[0]
        conn.execute("update facts set value_kind = 'number', value = 1 where report_id = ? and table_code = ? "
                     "and row_code = ? and col_code = ?",
                     [report_id, cell["table_code"], cell["row_code"], cell["col_code"]])
    guessed = evaluate(corpus / "truth.parquet", db).overall.row(0, named=True)
    assert (guessed["wrong_cells"], guessed["reported_ambiguous"]) == (1, guessed["ambiguous_cells"] - 1)
