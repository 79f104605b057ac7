"""`nianbao crawl` against a fake government site on 127.0.0.1: what it fetches, refuses, retries and loads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner, Result

from extractors.docx import READER as DOCX_READER
from extractors.fetch import Fetcher, FetchPolicy
from flows.cli import app
from tests.conftest import HTML_FIXTURES, ROOT
from tests.expected import fact_differences
from tests.fake_site import FakeGovSite, write_sources
from tests.office import AGENCY, YEAR, expected_facts_csv

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("prefect_server")

#: Report pages that hold their report, and the fixture each one serves.
REPORT_PAGES = {
    "/ndbg/2019.html": "report_2019_gbk_wrong_meta",
    "/ndbg/2021-utf8.html": "report_2021_utf8",
    "/ndbg/gb2312.html": "report_2021_gb2312_no_meta",
    "/ndbg/flaky.html": "report_2021_breaks_checks",
}
#: The report the attachment page links as a .docx: the filled official template.
DOCX_ATTACHMENT = "/files/2022-report.docx"


def crawl(sources: Path, db: Path):
    return runner.invoke(app, ["crawl", "--sources", str(sources), "--db", str(db)], catch_exceptions=False)


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def paths(site: FakeGovSite, urls) -> set[str]:
    return {url.replace(site.root, "") for url in urls}


@dataclass(frozen=True)
class Crawled:
    """One crawl of the fake site, read by the tests that only look at what it fetched and loaded."""

    site: FakeGovSite
    db: Path
    requested: list[str]
    result: Result


@pytest.fixture(scope="module")
def crawled(prefect_server, tmp_path_factory) -> Crawled:
    where = tmp_path_factory.mktemp("crawled")
    with FakeGovSite() as site:
        result = crawl(write_sources(where, site), where / "w.duckdb")
        return Crawled(site, where / "w.duckdb", site.paths_requested(), result)


@pytest.mark.slow  # a whole crawl through the CLI and the flow: 6-10 s
def test_a_crawl_fetches_what_it_may_refuses_what_it_must_and_loads_the_reports(crawled, tmp_path):
    site, db, requested, result = crawled.site, crawled.db, crawled.requested, crawled.result
    assert requested[:2] == ["/robots.txt", "/ndbg/index.html"]
    assert sorted(requested) == sorted([
        "/robots.txt", "/ndbg/index.html", "/ndbg/index_1.html",
        "/ndbg/2019.html", "/ndbg/2021-utf8.html", "/ndbg/gb2312.html", "/ndbg/attachment.html",
        "/files/2022-report.docx",                                       # the attachment, read instead of its page
        "/ndbg/flaky.html", "/ndbg/flaky.html", "/ndbg/flaky.html",      # 500, 500, then 200
        "/ndbg/slow.html", "/ndbg/slow.html", "/ndbg/slow.html",         # timed out three times
        "/loop/a.html", "/loop/b.html",                                  # then a.html again: a loop
    ])
    outcomes = {
        url.replace(site.root, ""): (outcome, reason)
        for url, outcome, reason in query(db, "select url, outcome, reason from fetches")
    }
    assert outcomes["/private/2017.html"] == ("refused", "disallowed by robots.txt")
    assert outcomes["http://other.example.org/2016年报.html"] == (
        "refused", "domain other.example.org is not in allowed_domains (127.0.0.1)"
    )
    assert outcomes["file:///etc/passwd"] == ("refused", "scheme file:// is not fetched (only http and https)")
    assert outcomes["/loop/a.html"][0] == "failed" and outcomes["/loop/a.html"][1].startswith("redirect loop: ")
    assert outcomes["/ndbg/slow.html"] == ("failed", "timed out (ReadTimeout) after 3 attempts")
    assert outcomes["/files/2022-report.docx"] == ("downloaded", None)
    assert outcomes["/ndbg/flaky.html"] == ("downloaded", None)
    assert "/" not in outcomes and "/sitemap.html" not in outcomes  # 首页 and site navigation are not followed

    loaded = dict(query(db, "select source_url, report_id from reports"))
    assert paths(site, loaded) == set(REPORT_PAGES) | {DOCX_ATTACHMENT}
    expected = {page: HTML_FIXTURES / f"{fixture}.facts.csv" for page, fixture in REPORT_PAGES.items()}
    expected[DOCX_ATTACHMENT] = expected_facts_csv(tmp_path / "docx.facts.csv")
    for page, facts_csv in expected.items():
        with duckdb.connect(str(db), read_only=True) as conn:
            facts = conn.sql(f"select * from facts where report_id = '{loaded[site.root + page]}'").pl()
        assert fact_differences(facts, facts_csv) == [], page
    assert query(db, f"select agency, year, reader from reports where source_url like '%{DOCX_ATTACHMENT}'") == [
        (AGENCY, YEAR, DOCX_READER)
    ]
    # the attachment page itself is not ingested: its report is the attachment
    assert query(db, "select status, count(*) from ingest_files group by all") == [("loaded", 5)]
    assert result.exit_code == 0, result.output


@pytest.mark.slow  # it needs the module's crawl: 6-10 s
def test_the_header_charset_meta_tag_and_bytes_disagreeing_are_decided_by_the_bytes_and_recorded(crawled):
    db = crawled.db
    rows = query(db, """select f.http_charset, r.declared_encoding, r.encoding, r.encoding_source
                        from reports r join fetches f on f.url = r.source_url
                        where r.source_url like '%/ndbg/2021-utf8.html'""")
    assert rows == [("gbk", "utf-8", "utf-8", "utf-8")]  # header said GBK, meta and bytes UTF-8
    rows = query(db, """select f.http_charset, r.declared_encoding, r.encoding, r.encoding_source
                        from reports r join fetches f on f.url = r.source_url
                        where r.source_url like '%/ndbg/flaky.html'""")
    assert rows == [("utf-8", "utf-8", "utf-8", "http-header")]


@pytest.mark.slow  # a whole crawl through the CLI and the flow: 6-10 s
def test_a_second_crawl_of_an_unchanged_site_sends_conditional_requests_and_loads_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeGovSite() as site:
        sources = write_sources(tmp_path, site)
        crawl(sources, db)
        raw_files = sorted(p.name for p in (tmp_path / "raw").iterdir())
        site.requests.clear()
        crawl(sources, db)
        unconditional = site.paths_requested(conditional=False)
        conditional = site.paths_requested(conditional=True)
    assert sorted(set(conditional)) == sorted([
        "/ndbg/index.html", "/ndbg/index_1.html", "/ndbg/attachment.html", DOCX_ATTACHMENT, *REPORT_PAGES,
    ])
    # only what has nothing to compare with is asked for in full: robots.txt and what failed last time
    assert sorted(set(unconditional)) == ["/loop/a.html", "/loop/b.html", "/ndbg/slow.html", "/robots.txt"]
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == raw_files
    last_run = query(db, "select files_loaded, files_unchanged from runs order by started_at desc limit 1")
    assert last_run == [(0, 5)]
    assert query(db, "select outcome, count(*) from fetches where outcome in ('downloaded', 'not_modified') "
                     "group by all order by all") == [("downloaded", 8), ("not_modified", 8)]


@pytest.mark.slow
def test_a_killed_crawl_resumes_without_downloading_again_and_ends_like_an_uninterrupted_one(tmp_path):
    from prefect.settings import PREFECT_API_URL

    killed, whole = tmp_path / "killed", tmp_path / "whole"
    killed.mkdir(), whole.mkdir()
    with FakeGovSite() as site:  # its slow page well past the read timeout: timed out in both crawls, never read
        sources = write_sources(killed, site, delay_seconds=0.25)
        process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "crawl", "--sources", str(sources), "--db", str(killed / "w.duckdb")],
            cwd=ROOT, env={**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        journal = killed / "raw" / "crawl-fake-gov.jsonl"

        def downloaded_before_kill() -> list[str]:
            if not journal.exists():
                return []
            entries = [json.loads(line) for line in journal.read_text().splitlines() if line.endswith("}")]
            return [e["url"] for e in entries if e.get("outcome") == "downloaded"]

        deadline = time.monotonic() + 120
        while len(downloaded_before_kill()) < 4 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        assert process.poll() is None, "the crawl ended before it could be killed half way"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        done = paths(site, downloaded_before_kill())
        assert len(done) >= 4
        site.requests.clear()
        crawl(sources, killed / "w.duckdb")
        again = set(site.paths_requested())
        assert not (done - {"/robots.txt"}) & again, "a resumed crawl downloaded again what it had"

        site.flaky_failures_left = 2
        crawl(write_sources(whole, site), whole / "w.duckdb")

    def state(db: Path) -> dict[str, pl.DataFrame]:
        with duckdb.connect(str(db), read_only=True) as conn:
            return {
                "reports": conn.sql("select * exclude (run_id, loaded_at, source_path) from reports order by all").pl(),
                "facts": conn.sql("select * from facts order by all").pl(),
                "checks": conn.sql("select * from checks order by all").pl(),
                "fetches": conn.sql("select url, outcome, status, sha256, reason from fetches order by all").pl(),
            }

    resumed, uninterrupted = state(killed / "w.duckdb"), state(whole / "w.duckdb")
    for table in resumed:
        assert resumed[table].equals(uninterrupted[table]), table


def test_private_and_loopback_addresses_are_refused_unless_a_source_allows_them():
    fetcher = Fetcher(FetchPolicy(allowed_domains=("127.0.0.1", "localhost")))
    try:
        assert fetcher.refusal("http://127.0.0.1/report.html") == (
            "127.0.0.1 resolves to 127.0.0.1, a private, loopback or link-local address"
        )
        assert fetcher.refusal("http://localhost/report.html").startswith("localhost resolves to ")
    finally:
        fetcher.close()
