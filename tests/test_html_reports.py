"""HTML pages as published: both template versions, UTF-8 and GBK, rowspan/colspan, broken arithmetic."""

from __future__ import annotations

import pytest

from flows.pipeline import process_batch
from tests.conftest import HTML_FIXTURES, read_csv
from tests.expected import fact_differences

PAGES = {row["file"]: row for row in read_csv(HTML_FIXTURES / "metadata.csv")}


@pytest.fixture(scope="module")
def html_batch():
    return process_batch([str(HTML_FIXTURES / name) for name in sorted(PAGES)])


def _report(batch, name):
    return batch.reports.filter(batch.reports["source_path"].str.ends_with(name)).row(0, named=True)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_cell_of_the_page_matches(html_batch, name):
    report_id = _report(html_batch, name)["report_id"]
    facts = html_batch.facts.filter(html_batch.facts["report_id"] == report_id)
    assert fact_differences(facts, HTML_FIXTURES / name.replace(".html", ".facts.csv")) == []


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_metadata_and_encoding(html_batch, name):
    expected, report = PAGES[name], _report(html_batch, name)
    assert report["agency"] == expected["agency"]
    assert report["year"] == int(expected["year"])
    assert report["template_version"] == expected["template_version"]
    assert report["requests_template_version"] == expected["requests_template_version"]
    assert report["signature_date"].isoformat() == expected["signature_date"]
    assert report["encoding"] == expected["encoding"]
    assert report["reader"] == "html/lxml"


def test_a_wrong_meta_charset_is_ignored_and_recorded(html_batch):
    report = _report(html_batch, "report_2019_gbk_wrong_meta.html")
    assert report["declared_encoding"] == "utf-8"
    assert report["encoding"] == "gb18030"
    assert report["encoding_source"] in ("detected", "fallback")


def test_a_page_without_charset_is_detected(html_batch):
    report = _report(html_batch, "report_2021_gb2312_no_meta.html")
    assert report["declared_encoding"] is None
    assert report["encoding"] == "gb18030"


def test_broken_arithmetic_is_loaded_and_flagged(html_batch):
    report_id = _report(html_batch, "report_2021_breaks_checks.html")["report_id"]
    checks = html_batch.checks.filter(html_batch.checks["report_id"] == report_id)
    failed = {(r["rule"], r["scope"]) for r in checks.filter(~checks["passed"]).iter_rows(named=True)}
    must_fail = {(row["rule"], row["scope"]) for row in read_csv(HTML_FIXTURES / "broken_checks.csv")}
    assert must_fail <= failed
    # The blank 总计 of 6.属于四类过程性信息 also makes the 总计 column's handled sum disagree.
    assert failed - must_fail <= {("requests_handled_total", "total")}
    blank_total = html_batch.facts.filter(
        (html_batch.facts["report_id"] == report_id)
        & (html_batch.facts["row_code"] == "denied.process_information")
        & (html_batch.facts["col_code"] == "total")
    ).row(0, named=True)
    assert (blank_total["value_kind"], blank_total["value"]) == ("blank", None)


@pytest.mark.parametrize("name", [n for n in sorted(PAGES) if n != "report_2021_breaks_checks.html"])
def test_consistent_pages_pass_every_check(html_batch, name):
    report_id = _report(html_batch, name)["report_id"]
    checks = html_batch.checks.filter(html_batch.checks["report_id"] == report_id)
    assert checks.filter(~checks["passed"]).to_dicts() == []
