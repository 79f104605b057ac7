"""The pipeline against a generated corpus that covers every variant: every cell right, every break flagged."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest

from corpus.evaluate import Evaluation, evaluate, render
from corpus.synth import generate
from flows.api import ingest

# 60 reports of this seed cover every variant below; if a generator change loses one, pick another seed.
SEED = 28
COUNT = 60
BREAK_RATE = 0.3
BATCH = 50
#: The formats this corpus mixes; the other text renderings have their own corpus (test_text_layouts_accuracy.py).
WORD_AND_PAGE_FORMATS = ("html", "text", "docx")

#: What the corpus must contain for 100% to mean something: (description, frame, condition).
REPORT_VARIANTS = {
    "text cell-per-line": pl.col("layout") == "text/cell-per-line",
    "text row-per-line": pl.col("layout") == "text/row-per-line",
    **{f"docx {producer}-{merging}": pl.col("layout") == f"docx/{producer}-{merging}"
       for producer in ("word", "wps") for merging in ("merged", "flat")},
    **{f"html {skin}{flat}": pl.col("layout") == f"html/{skin}{flat}"
       for skin in ("word", "wps", "cms") for flat in ("", "-flat")},
    **{f"encoding {e}": pl.col("encoding") == e for e in ("utf-8", "utf-8-sig", "gbk", "gb18030")},
    **{f"charset {d}": pl.col("charset_declaration") == d for d in ("correct", "none", "wrong")},
    "2019 template": (pl.col("template_version") == "2019") & (pl.col("requests_template_version") == "2019"),
    "2021 template": (pl.col("template_version") == "2021") & (pl.col("requests_template_version") == "2021"),
    "2021 table A with the 2019 （六） row":
        (pl.col("template_version") == "2021") & (pl.col("requests_template_version") == "2019"),
    "template not the year's": (pl.col("year") >= 2021) != (pl.col("template_version") == "2021"),
    **{f"title {form}": pl.col("title_form") == form for form in ("two_lines", "guanyu", "one_line", "wrapped")},
    "no signature": pl.col("signature_date").is_null(),
    **{f"break {kind}": pl.col("break_kind") == kind
       for kind in ("row_total", "zero_total", "blank_total", "balance", "handled_total", "review_total")},
}
PRINTED_VARIANTS = {
    "full-width digits": r"[０-９]",
    "blank": r"^$",
    "em dash": r"^—+$",
    "slash or 无": r"^(/|无)$",
    "元 glued to digits": r"\d元$",
    "万元 glued to digits": r"\d万元$",
    "long decimals": r"\.\d{4,}",
    "thousands separator": r"\d,\d{3}",
    "negative": r"^[-－]\d",
    "stray space": r"^ |[^ ] $",
    "件 glued": r"件$",
}
TEXT_VARIANTS = {
    "half-width brackets": "(一)",
    "typo 行政止公开": "行政止公开",
    "typo 行政法复议": "行政法复议",
    "heading 三是": "三是收到和处理",
    "longer heading 五": "存在的主要问题及改进措施",
    "Word bookmark": "[bookmark: _GoBack]",
    "label wrapped with <br>": "<br>",
    "rowspan": "rowspan=",
    "Chinese-numeral signature date": "〇",
    "DOCX vertical merge": "<w:vMerge/>",
    "DOCX label wrapped with a line break": "</w:r><w:r><w:br/></w:r>",
    "DOCX number split into runs": "</w:t></w:r><w:r w:rsidRPr",
    "DOCX header rows repeated": "<w:tblHeader/>",
    "DOCX tracked changes left in": "<w:ins ",
}


def _decoded(corpus: Path, reports: pl.DataFrame) -> list[str]:
    """Each report's text: a page or text file decoded, a DOCX's document.xml."""
    texts = []
    for file, encoding in reports.select("file", "encoding").iter_rows():
        if file.endswith(".docx"):
            with zipfile.ZipFile(corpus / file) as archive:
                texts.append(archive.read("word/document.xml").decode("utf-8"))
        else:
            texts.append((corpus / file).read_bytes().decode(encoding))
    return texts


def missing_variants(corpus: Path) -> list[str]:
    reports = pl.read_parquet(corpus / "truth_reports.parquet")
    printed = pl.read_parquet(corpus / "truth.parquet")["printed"]
    texts = _decoded(corpus, reports)
    missing = [name for name, condition in REPORT_VARIANTS.items() if reports.filter(condition).is_empty()]
    missing += [name for name, pattern in PRINTED_VARIANTS.items() if not printed.str.contains(pattern).any()]
    missing += [name for name, needle in TEXT_VARIANTS.items() if not any(needle in text for text in texts)]
    return missing


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    generate(out, COUNT, seed=SEED, formats=WORD_AND_PAGE_FORMATS, break_rate=BREAK_RATE, workers=1)
    return out


@pytest.fixture(scope="module")
def warehouse(corpus, tmp_path_factory) -> Path:
    """The corpus ingested as `nianbao ingest` does, through the pipeline's API (no Prefect)."""
    db = tmp_path_factory.mktemp("warehouse") / "w.duckdb"
    assert ingest([corpus], db, batch_files=BATCH).files_loaded == COUNT
    return db


@pytest.fixture(scope="module")
def evaluation(corpus, warehouse) -> Evaluation:
    return evaluate(corpus / "truth.parquet", warehouse)


def test_the_corpus_covers_every_variant_real_reports_have(corpus):
    assert missing_variants(corpus) == []


def test_every_report_loads(evaluation):
    assert evaluation.files.select("status", "files").to_dicts() == [
        {"status": "loaded", "files": n} for n in evaluation.files["files"]
    ]
    assert evaluation.files["files"].sum() == COUNT


def test_every_cell_is_read_right(corpus, evaluation):
    overall = evaluation.overall.row(0, named=True)
    assert overall["truth_cells"] == overall["extracted_cells"] == pl.read_parquet(corpus / "truth.parquet").height
    assert (overall["precision"], overall["recall"]) == (1.0, 1.0), render(evaluation)
    assert evaluation.worst_reports.is_empty()
    for breakdown in (evaluation.by_format, evaluation.by_layout, evaluation.by_template, evaluation.by_table):
        assert breakdown["precision"].to_list() == [1.0] * breakdown.height
        assert breakdown["recall"].to_list() == [1.0] * breakdown.height


def test_every_check_broken_on_purpose_is_flagged_and_nothing_else(evaluation):
    assert evaluation.breaks.height >= 6
    assert evaluation.breaks.filter(~pl.col("surfaced")).to_dicts() == []
    assert evaluation.false_alarms.to_dicts() == []


def test_agency_year_versions_signature_and_encoding_are_right(evaluation):
    assert evaluation.metadata.filter(pl.col("matching") != pl.col("reports")).to_dicts() == []
    assert set(evaluation.metadata["field"]) == {
        "agency", "year", "template_version", "requests_template_version", "signature_date", "encoding",
    }


def test_the_rendered_evaluation_says_perfect(evaluation):
    assert evaluation.perfect
    text = render(evaluation)
    assert text.rstrip().endswith("PERFECT: every cell, file, check and field right")
    assert re.search(r"\| all +\| (\d+) +\| \1 +\| \1 +\| 0 +\| 0 +\| 1\.0 +\| 1\.0 +\|", text)


def test_the_evaluation_counts_a_wrong_number_a_lost_report_a_hidden_break_and_a_false_alarm(corpus, warehouse, tmp_path):
    db = tmp_path / "spoiled.duckdb"
    shutil.copy(warehouse, db)
    reports = pl.read_parquet(corpus / "truth_reports.parquet")
    broken = reports.filter(pl.col("break_kind").is_not_null()).row(0, named=True)
    truth = pl.read_parquet(corpus / "truth.parquet")
    numbered = truth.filter(
        (pl.col("row_code") == "new_received") & (pl.col("col_code") == "natural_person")
        & (pl.col("value_kind") == "number")
    )["file"].implode()
    # The first sound report prints a number where a value is spoiled; the next is lost, the third falsely flagged.
    sound = (
        reports.filter(pl.col("break_kind").is_null())
        .sort(pl.col("file").is_in(numbered), descending=True, maintain_order=True)["file"].to_list()
    )
    path = {file: str(corpus / file) for file in (broken["file"], *sound[:3])}
    with duckdb.connect(str(db)) as conn:
        report_id = {file: conn.execute("select report_id from ingest_files where path = ?", [p]).fetchone()[0]
                     for file, p in path.items()}
        conn.execute("update facts set value = value + 1 where report_id = ? and row_code = 'new_received' "
                     "and col_code = 'natural_person'", [report_id[sound[0]]])
        conn.execute("update ingest_files set status = 'failed', reason = 'table_not_found', error = 'lost' "
                     "where path = ?", [path[sound[1]]])
        conn.execute("delete from facts where report_id = ?", [report_id[sound[1]]])
        conn.execute("update checks set passed = true where report_id = ?", [report_id[broken["file"]]])
        conn.execute("update checks set passed = false where report_id = ? and rule = 'requests_balance' "
                     "and scope = 'total'", [report_id[sound[2]]])
    spoiled = evaluate(corpus / "truth.parquet", db)
    cells_per_report = truth.filter(pl.col("file") == sound[1]).height
    overall = spoiled.overall.row(0, named=True)
    assert (overall["wrong_cells"], overall["missed_cells"]) == (1, 1 + cells_per_report)
    assert overall["precision"] < 1.0 and overall["recall"] < 1.0
    worst = {row["file"]: row for row in spoiled.worst_reports.iter_rows(named=True)}
    assert worst.keys() == {sound[0], sound[1]}
    assert (worst[sound[1]]["status"], worst[sound[1]]["wrong_cells"], worst[sound[1]]["first_problem"]) == (
        "failed", cells_per_report, "lost")
    assert worst[sound[0]]["wrong_cells"] == 1
    assert worst[sound[0]]["first_problem"].startswith("requests/new_received/natural_person: printed")
    assert spoiled.breaks.filter(~pl.col("surfaced"))["file"].to_list() == [broken["file"]]
    assert spoiled.false_alarms.select("file", "rule", "scope").rows() == [(sound[2], "requests_balance", "total")]
    assert not spoiled.perfect
    assert render(spoiled).rstrip().endswith("NOT PERFECT")
