"""The synthetic corpus: deterministic, real-sized, its truth true to the template and to the bytes."""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path

import docx
import lxml.html
import polars as pl
import pytest

from corpus.docx import DOCX_LAYOUTS
from corpus.html import MAX_PAGE_BYTES, MIN_PAGE_BYTES
from corpus.synth import CHUNK_REPORTS, TRUTH_FILE, TRUTH_REPORTS_FILE, generate
from extractors.document import Paragraph
from extractors.docx import parse_docx
from template import DASHES, TEMPLATE_CELLS_CSV
from transforms.checks import run_checks

COUNT = 300
_CHARSET = re.compile(rb'charset="?([\w-]+)', re.IGNORECASE)
_REPORT_TABLE = re.compile(rb'<table class="MsoNormalTable".*?</table>', re.DOTALL)
_FAMILY = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "gbk": "gb", "gb2312": "gb", "gb18030": "gb"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate(out, COUNT, seed=5, workers=2)
    return out


@pytest.fixture(scope="module")
def reports(corpus) -> pl.DataFrame:
    return pl.read_parquet(corpus / TRUTH_REPORTS_FILE)


@pytest.fixture(scope="module")
def truth(corpus) -> pl.DataFrame:
    return pl.read_parquet(corpus / TRUTH_FILE)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_same_seed_writes_the_same_bytes_whatever_the_number_of_workers(tmp_path):
    count = CHUNK_REPORTS + 20  # two chunks, so that two workers share the work
    one = generate(tmp_path / "one", count, seed=9, workers=1)
    two = generate(tmp_path / "two", count, seed=9, workers=2)
    assert (one.reports, one.bytes_written) == (two.reports, two.bytes_written)
    first, second = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert len(first) == count + 2  # the reports, truth.parquet and truth_reports.parquet
    assert {name.rsplit(".", 1)[-1] for name in first} >= {"txt", "html", "docx"}  # the default mix
    assert first == second
    other = _files(generate(tmp_path / "other", 20, seed=10, workers=1).out_dir)
    reports = [name for name in other if name.endswith((".txt", ".html", ".docx")) and name in first]
    assert all(other[name] != first[name] for name in reports)


def test_docx_reports_are_the_same_bytes_run_after_run(tmp_path):
    """Zip members carry times and a creating system: both come from the report, never the clock or the machine."""
    first = generate(tmp_path / "first", 40, seed=3, formats=("docx",), workers=1)
    second = generate(tmp_path / "second", 40, seed=3, formats=("docx",), workers=2)
    assert _files(first.out_dir) == _files(second.out_dir)


def test_html_pages_weigh_what_gov_pages_weigh_and_most_of_it_is_markup(corpus, reports):
    pages = reports.filter(pl.col("format") == "html")
    assert pages.height > COUNT // 3
    for file, size in pages.select("file", "size_bytes").iter_rows():
        data = (corpus / file).read_bytes()
        assert len(data) == size
        assert MIN_PAGE_BYTES <= size <= MAX_PAGE_BYTES, (file, size)
        page = lxml.html.document_fromstring(data)
        visible = "".join(page.xpath("//text()[not(ancestor::script or ancestor::style or ancestor::title)]"))
        assert len(visible.encode("utf-8")) < 0.2 * size, file
        report_tables = b"".join(_REPORT_TABLE.findall(data))
        assert report_tables.count(b"<td") == len(re.findall(rb"<td[^>]*style=", report_tables)) >= 200, file


def test_text_reports_come_in_both_layouts_of_the_seeds(corpus, reports):
    texts = reports.filter(pl.col("format") == "text")
    assert set(texts["layout"]) == {"text/cell-per-line", "text/row-per-line"}
    for file, layout, encoding in texts.select("file", "layout", "encoding").iter_rows():
        lines = (corpus / file).read_bytes().decode(encoding).splitlines()
        tabbed = [line for line in lines if "\t" in line]
        one_cell_lines = sum(1 for line in tabbed if line.startswith("\t") and line.count("\t") == 1)
        if layout == "text/cell-per-line":
            assert one_cell_lines == len(tabbed), file
        else:
            assert one_cell_lines < len(tabbed) / 2, file


def test_docx_reports_are_word_documents_with_the_merges_of_their_layout(corpus, reports):
    documents = reports.filter(pl.col("format") == "docx")
    assert set(documents["layout"]) == set(DOCX_LAYOUTS)
    assert (documents["encoding"].is_null() & documents["declared_charset"].is_null()).all()
    for file, layout, signature in documents.select("file", "layout", "signature_date").iter_rows():
        with zipfile.ZipFile(corpus / file) as archive:
            assert archive.testzip() is None
            times = {member.date_time for member in archive.infolist()}
            xml = archive.read("word/document.xml")
        assert len(times) == 1
        assert (times == {(1980, 1, 1, 0, 0, 0)}) == layout.startswith("docx/word-"), file
        assert (b"<w:vMerge/>" in xml) == layout.endswith("-merged"), file
        assert b"<w:gridSpan " in xml
        assert len(docx.Document(str(corpus / file)).tables) == 3
        last = [b.text for b in parse_docx(file, (corpus / file).read_bytes()).blocks if isinstance(b, Paragraph)][-1]
        if signature is not None:
            assert last.startswith((f"{signature.year}年", "二〇")), (file, last)


def test_the_truth_lists_exactly_the_template_cells_of_each_reports_versions(reports, truth):
    template = pl.read_csv(TEMPLATE_CELLS_CSV, infer_schema=False).select("template", "table_code", "row_code", "col_code")
    versions = reports.select(
        "file",
        pl.col("template_version").alias("active_disclosure"),
        pl.col("requests_template_version").alias("requests"),
        pl.col("template_version").alias("review_litigation"),
    ).unpivot(index="file", variable_name="table_code", value_name="template")
    expected = versions.join(template, on=["table_code", "template"]).rename({"template": "template_version"})
    key = ["file", "template_version", "table_code", "row_code", "col_code"]
    assert truth.height == expected.height
    assert truth.select(key).join(expected, on=key, how="anti").is_empty()
    assert expected.join(truth.select(key), on=key, how="anti").is_empty()
    assert truth.select(key).is_duplicated().sum() == 0


def test_each_truth_value_is_what_its_printed_text_says(truth):
    printed = pl.col("printed").str.strip_chars()
    assert truth.filter(
        ((pl.col("value_kind") == "blank") != (printed == ""))
        | ((pl.col("value_kind") == "dash") != printed.is_in(list(DASHES)))
        | ((pl.col("value_kind") == "number") != pl.col("value").is_not_null())
    ).is_empty()
    money = truth.filter(pl.col("printed").str.ends_with("元") & ~pl.col("printed").str.ends_with("万元"))
    assert not money.is_empty()
    yuan = money["printed"].str.normalize("NFKC").str.strip_chars().str.strip_suffix("元").str.replace_all(",", "")
    yuan = yuan.cast(pl.Float64)
    assert ((yuan / 10_000 - money["value"]).abs() < 1e-9).all()


def test_totals_add_up_unless_a_check_was_broken_on_purpose(reports, truth):
    facts = truth.rename({"file": "report_id", "printed": "raw_text"}).with_columns(confidence=pl.lit(None, pl.Float64))
    outside = pl.DataFrame(schema=dict.fromkeys(("report_id", "table_code", "row_code", "col_code"), pl.String))
    failed = run_checks(facts, outside).filter(~pl.col("passed")).select("report_id", "rule", "scope")
    # glued text leaves some cells ambiguous on purpose (truth kind 'ambiguous'): cell_ambiguous says so
    ambiguous = truth.filter(pl.col("value_kind") == "ambiguous").select(report_id="file", scope="table_code").unique()
    flagged = failed.filter(pl.col("rule") == "cell_ambiguous")
    assert flagged.join(ambiguous, on=["report_id", "scope"], how="anti").is_empty()
    broken = reports.filter(pl.col("break_kind").is_not_null())
    assert 0 < broken.height < COUNT // 10
    intended = broken.select(report_id="file", rule="break_rule", scope="break_scope")
    assert intended.join(failed, on=["report_id", "rule", "scope"], how="anti").is_empty()
    arithmetic = failed.filter(pl.col("rule") != "cell_ambiguous")
    assert arithmetic.join(intended.select("report_id"), on="report_id", how="anti").is_empty()


def test_encodings_and_charset_declarations_are_what_the_truth_says(corpus, reports):
    assert {"utf-8", "utf-8-sig", "gbk", "gb18030"} <= set(reports["encoding"])
    for row in reports.filter(pl.col("format") != "docx").iter_rows(named=True):
        data = (corpus / row["file"]).read_bytes()
        text = data.decode(row["encoding"])
        if row["encoding"] in ("gbk", "gb18030"):
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        if row["encoding"] == "gb18030":
            with pytest.raises(UnicodeEncodeError):
                text.encode("gbk")  # the page needs more than GBK: it really is GB18030
        assert data.startswith(codecs.BOM_UTF8) == (row["encoding"] == "utf-8-sig")
        found = _CHARSET.search(data[:2048])
        declared = found.group(1).decode() if found else None
        assert declared == row["declared_charset"], row["file"]
        if row["charset_declaration"] == "correct":
            assert _FAMILY[declared.lower()] == _FAMILY[row["encoding"]]
        elif row["charset_declaration"] == "wrong":
            assert _FAMILY[declared.lower()] != _FAMILY[row["encoding"]]


def test_numbers_are_mostly_small_often_zero_and_sometimes_large(truth):
    requests = truth.filter(pl.col("table_code") == "requests")
    assert (requests["value"].fill_null(0) == 0).mean() > 0.6
    received = truth.filter((pl.col("row_code") == "new_received") & (pl.col("col_code") == "total"))["value"].fill_null(0)
    assert received.median() <= 20
    assert received.max() >= 200
    assert (truth.filter(pl.col("col_code") == "change")["value"] < 0).any()
    assert truth.filter(pl.col("col_code") == "decisions")["value"].max() >= 1000


def test_only_the_formats_asked_for_are_written(tmp_path):
    generate(tmp_path / "t", 30, seed=2, formats=("text",), workers=1)
    assert set(pl.read_parquet(tmp_path / "t" / TRUTH_REPORTS_FILE)["format"]) == {"text"}
    assert not list((tmp_path / "t").rglob("*.htm*"))


def test_a_corpus_is_never_written_over_another_directory(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        generate(tmp_path, 1)
    with pytest.raises(ValueError, match="unknown formats"):
        generate(tmp_path / "new", 1, formats=("pdf",))
