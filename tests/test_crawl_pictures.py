"""A crawled report page whose tables are pictures: the crawl downloads them through its rules, and the
page is read with them OCRed in place."""

from __future__ import annotations

import io

import duckdb
import polars as pl
import pytest
from PIL import Image
from typer.testing import CliRunner

from corpus.scan import font_file
from extractors.crawl import CrawlSettings, crawl
from extractors.fetch import FetchPolicy
from extractors.files import SourceRef
from extractors.rawstore import pictures_path, read_pictures
from flows.cli import app
from flows.pipeline import process_batch
from flows.plan import plan_files
from tests.conftest import HTML_FIXTURES
from tests.fake_site import FakeGovSite, Page, write_sources
from tests.picture_pages import review_as_picture, review_png, scored
from warehouse.store import connect, load_batch

#: Beside table C's picture: a seal on another site, and an icon too small to be a table.
OTHER_PICTURES = ("<img src='http://other.example.org/seal.png' width='300' height='300'/>"
                  "<img src='/images/icon.png' width='16' height='16'/>")
LISTING = """<html><head><meta charset="utf-8"><title>年报</title></head><body><ul>
<li><a href="/ndbg/picture.html">某县2021年政府信息公开工作年度报告（图片）</a></li>
<li><a href="/ndbg/text.html">某县人民政府2021年政府信息公开工作年度报告</a></li>
</ul></body></html>"""
needs_font = pytest.mark.skipif(font_file() is None, reason="no CJK font to draw scans: apt-get install fonts-wqy-zenhei")


def _png(width: int, height: int) -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(data, "PNG")
    return data.getvalue()


def _serve_picture_report(site: FakeGovSite, review: bytes) -> None:
    """The listing links two reports: table C as a picture, and a text report that shows a large banner."""
    text_report = (HTML_FIXTURES / "report_2021_utf8.html").read_text(encoding="utf-8")
    site.pages.update({
        "/ndbg/index.html": Page(LISTING.encode("utf-8"), "text/html; charset=utf-8"),
        "/ndbg/picture.html": Page(review_as_picture("review.png", OTHER_PICTURES).html, "text/html"),
        "/ndbg/review.png": Page(review, "image/png"),
        "/images/icon.png": Page(_png(16, 16), "image/png"),
        "/ndbg/text.html": Page(text_report.replace("<body>", "<body><img src='/images/banner.png'>", 1).encode(),
                                "text/html; charset=utf-8"),
        "/images/banner.png": Page(_png(1000, 150), "image/png"),
    })


def test_a_page_that_shows_its_table_as_a_picture_has_its_same_site_pictures_downloaded(tmp_path):
    review = _png(800, 400)
    with FakeGovSite() as site:
        _serve_picture_report(site, review)
        policy = FetchPolicy(allowed_domains=("127.0.0.1",), delay_seconds=0.01, allow_private_addresses=True)
        outcome = crawl(CrawlSettings("fake-gov", (f"{site.root}/ndbg/index.html",), policy), tmp_path / "raw")
        requested = site.paths_requested()
    # the text report's banner and the declared icon are never asked for; the page chrome's logo (no size) is
    assert sorted(requested) == ["/images/logo.png", "/ndbg/index.html", "/ndbg/picture.html", "/ndbg/review.png",
                                 "/ndbg/text.html", "/robots.txt"]
    images = {r["url"].replace(site.root, ""): (r["outcome"], r["reason"]) for r in outcome.records
              if r["kind"] == "image"}
    assert images == {
        "/ndbg/review.png": ("downloaded", None),
        "/images/logo.png": ("failed", "HTTP 404"),
        "http://other.example.org/seal.png": ("refused", "domain other.example.org is not in allowed_domains (127.0.0.1)"),
    }
    page = next(d for d in outcome.documents if d.url.endswith("/picture.html"))
    stored = read_pictures(tmp_path / "raw" / page.path.rsplit("/", 1)[1])
    assert list(stored) == ["review.png"] and stored["review.png"].read_bytes() == review
    assert stored["review.png"].suffix == ".png"
    text = next(d for d in outcome.documents if d.url.endswith("/text.html"))
    assert not pictures_path(tmp_path / "raw" / text.path.rsplit("/", 1)[1]).exists()


def test_a_failed_picture_page_is_read_again_when_a_later_crawl_gets_its_pictures(tmp_path):
    """The page's bytes are the same, but what it reads as is not: neither unchanged nor still failing."""
    db, raw = str(tmp_path / "w.duckdb"), tmp_path / "raw"
    with FakeGovSite() as site:
        _serve_picture_report(site, _png(800, 400))
        missing = site.pages.pop("/ndbg/review.png")
        policy = FetchPolicy(allowed_domains=("127.0.0.1",), delay_seconds=0.01, allow_private_addresses=True)
        settings = CrawlSettings("fake-gov", (f"{site.root}/ndbg/index.html",), policy)

        def crawl_and_plan():
            documents = crawl(settings, raw).documents
            return documents, plan_files([], documents, db)

        documents, plan = crawl_and_plan()
        page = next(d.path for d in documents if d.url.endswith("/picture.html"))
        batch = process_batch([SourceRef(f.path, f.url) for f in plan.to_process])
        with connect(db) as conn:
            load_batch(conn, batch, "run-1")
        assert dict(batch.files.select("path", "status").rows())[page] == "failed"

        assert crawl_and_plan()[1].still_failing[0].path == page  # nothing new: not read again
        site.pages["/ndbg/review.png"] = missing
        plan = crawl_and_plan()[1]
    assert [(f.path, plan.novelty[f.path]) for f in plan.to_process] == [(page, "changed")]
    assert len(plan.unchanged) == 1 and not plan.still_failing


@pytest.mark.slow
@needs_font
@pytest.mark.usefixtures("prefect_server")
def test_a_crawled_page_whose_table_is_a_picture_loads_with_its_cells_read_by_ocr(tmp_path):
    picture_page = review_as_picture("review.png")
    db = tmp_path / "w.duckdb"
    with FakeGovSite() as site:
        _serve_picture_report(site, review_png(picture_page))
        result = CliRunner().invoke(app, ["crawl", "--sources", str(write_sources(tmp_path, site)), "--db", str(db)],
                                    catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(db), read_only=True) as conn:
        readers = dict(conn.execute("select source_url, reader from reports").fetchall())
        assert {url.replace(site.root, ""): reader for url, reader in readers.items()} == {
            "/ndbg/picture.html": "html/rapidocr", "/ndbg/text.html": "html/lxml",
        }
        report_id = conn.execute("select report_id from reports where reader = 'html/rapidocr'").fetchone()[0]
        facts = conn.sql(f"select * from facts where report_id = '{report_id}'").pl()
        checks = conn.sql(f"select * from checks where report_id = '{report_id}'").pl()
        images = conn.execute("select url, outcome from fetches where kind = 'image' order by url").fetchall()
    assert images == [(f"{site.root}/images/logo.png", "failed"), (f"{site.root}/ndbg/review.png", "downloaded"),
                      ("http://other.example.org/seal.png", "refused")]
    cells = scored(facts, checks, picture_page.truth.with_columns(report_id=pl.lit(report_id)))
    review = cells.filter(pl.col("table_code") == "review_litigation")
    assert review.height == 15 and review["confidence"].null_count() == 0
    assert cells.filter(~pl.col("right") & ~pl.col("flagged")).is_empty()
    assert cells.filter(pl.col("table_code") != "review_litigation")["confidence"].null_count() == cells.height - 15


@pytest.mark.slow
@needs_font
def test_a_crawled_page_reads_only_the_pictures_its_crawl_downloaded(tmp_path):
    """A stored page is named by its sha256, so its src values lead nowhere beside it: the crawl's note does."""
    picture_page = review_as_picture("review.png")
    raw = tmp_path / "raw"
    raw.mkdir()
    page = raw / "0123abcd.html"
    page.write_bytes(picture_page.html)
    (raw / "review.png").write_bytes(review_png(picture_page))  # a file named like the src: not the crawl's
    ref = SourceRef(str(page), url="http://example.gov.cn/ndbg/picture.html")
    failed = process_batch([ref]).files.row(0, named=True)
    assert failed["status"] == "failed"
    (raw / "feedbeef.png").write_bytes(review_png(picture_page))
    pictures_path(page).write_text('{"review.png": "feedbeef.png"}', encoding="utf-8")
    batch = process_batch([ref])
    assert batch.reports["reader"].to_list() == ["html/rapidocr"]
