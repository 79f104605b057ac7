"""The registry of readers (extractors/formats.py) is the one list of formats: discovery, the crawler, the raw
store and the CLI take theirs from it, and every suffix it reads is found in a folder, crawled and read."""

from __future__ import annotations

import ast

import pytest
from typer.testing import CliRunner

from extractors import formats
from extractors.crawl import CrawlSettings, crawl
from extractors.fetch import FetchPolicy
from extractors.files import SourceFile, SourceRef, discover, read_source
from extractors.formats import (
    ATTACHMENT_SUFFIXES,
    DISCOVERED_SUFFIXES,
    FORMATS,
    OLE2_MAGIC,
    READ_SUFFIXES,
    download_suffix,
    format_of,
    is_page,
)
from flows.cli import app
from flows.pipeline import process_batch
from tests.conftest import HTML_FIXTURES, ROOT
from tests.expected import fact_differences
from tests.fake_site import FakeGovSite, Page

#: A fixture page read by hand (tests/fixtures/html/report_2021_utf8.facts.csv), served and saved as XHTML.
PAGE = HTML_FIXTURES / "report_2021_utf8.html"
PAGE_FACTS = HTML_FIXTURES / "report_2021_utf8.facts.csv"
#: The packages that run the pipeline: none of their modules may keep a list of suffixes or content types.
PIPELINE_PACKAGES = ("extractors", "flows", "transforms", "warehouse", "template")


def _bytes_of(fmt: formats.Format) -> bytes:
    """Bytes a file of the format starts with (a .doc is known by them, not by its name)."""
    return (fmt.magic[0] if fmt.magic else b"") + b" a report"


def test_a_folder_is_searched_for_every_suffix_a_format_reads_except_the_pictures_of_pages(tmp_path):
    for suffix in (*READ_SUFFIXES, ".PDF", ".xls", ".json"):
        (tmp_path / f"report{suffix}").write_bytes(b"x")
    found = {path.name for path in discover([tmp_path])}
    expected = {f"report{s}" for f in FORMATS for s in f.suffixes if s not in f.named_only} | {"report.PDF"}
    assert found == expected
    assert {"report.xhtml", "report.tif", "report.doc", "report.txt"} <= found
    assert not found & {"report.png", "report.jpg", "report.jpeg", "report.xls", "report.json"}


def test_a_picture_named_directly_is_read(tmp_path):
    picture = tmp_path / "scan.png"
    picture.write_bytes(formats.IMAGE.magic[0])
    assert list(discover([picture])) == [picture]
    assert format_of(read_source(picture)) is formats.IMAGE


@pytest.mark.parametrize(("fmt", "suffix"), [(f, s) for f in FORMATS for s in f.suffixes],
                         ids=lambda value: getattr(value, "name", value))
def test_a_download_of_every_suffix_read_is_stored_where_its_reader_reads_it(fmt, suffix):
    stored = download_suffix(f"/ndbg/2023/report{suffix}", None)
    assert stored in READ_SUFFIXES
    assert format_of(SourceFile(f"raw/0123{stored}", _bytes_of(fmt))) is fmt
    assert is_page(f"raw/0123{stored}", None) == (fmt.crawled_as == "page")


@pytest.mark.parametrize(("fmt", "content_type"), [(f, t) for f in FORMATS for t in f.content_types],
                         ids=lambda value: getattr(value, "name", value))
def test_a_download_without_a_suffix_is_named_by_its_content_type(fmt, content_type):
    stored = download_suffix("/download.do", content_type.upper())
    assert format_of(SourceFile(f"raw/0123{stored}", _bytes_of(fmt))) is fmt


def test_a_download_of_a_format_nobody_reads_is_stored_as_unknown():
    assert download_suffix("/files/report.xls", "application/vnd.ms-excel") == formats.UNKNOWN_SUFFIX
    assert download_suffix("/download.do", None) == formats.UNKNOWN_SUFFIX
    assert download_suffix("/a/b.htm", None) == download_suffix("/a/b.xhtml", "text/plain") == ".html"


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("r.pdf", b"not yet", "pdf"),
    ("r.html", b"%PDF-1.7 ...", "pdf"),                              # the bytes say PDF whatever the name
    ("r.doc", OLE2_MAGIC + b"...", "doc"),
    ("r.doc", b"  {\\rtf1\\ansi ...", "doc"),                       # RTF saved as .doc
    ("r.doc", b"PK\x03\x04...", "docx"),                             # a DOCX renamed .doc
    ("r.bin", b"PK\x03\x04" + b"." * 40 + b"word/document.xml", "docx"),
    ("r.doc", b"<html><body>Word's web page", "html"),               # a page saved by Word as .doc
    ("r.doc", "某县2023年报告".encode("gb18030"), "text"),
    ("r.txt", b"  <!DOCTYPE html><html>", "html"),
    ("r.xhtml", b"<?xml version='1.0'?><html>", "html"),
    ("r.TIF", b"...", "image"),
    ("r.dat", b"\xff\xd8\xff\xe0 JFIF", "image"),
    ("r.txt", b"RTF {\\rtf is not RTF here", "text"),
])
def test_the_format_is_told_by_suffix_and_bytes(name, data, expected):
    assert format_of(SourceFile(name, data)).name == expected


def test_no_module_of_the_pipeline_keeps_its_own_list_of_suffixes_or_content_types():
    """Only extractors/formats.py names a suffix a format reads or a content type it claims."""
    known = set(READ_SUFFIXES) | {t for f in FORMATS for t in f.content_types}
    found = []
    for package in PIPELINE_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "extractors" / "formats.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in known:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert found == []


def test_the_cli_help_names_every_suffix_searched_for():
    result = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    assert all(f" {suffix}" in result.output for suffix in DISCOVERED_SUFFIXES)


def test_an_xhtml_page_in_a_folder_is_found_and_loaded(tmp_path):
    (tmp_path / "2021.xhtml").write_bytes(PAGE.read_bytes())
    found = list(discover([tmp_path]))
    assert [path.name for path in found] == ["2021.xhtml"]
    batch = process_batch([str(path) for path in found])
    assert batch.files["status"].to_list() == ["loaded"]
    assert batch.reports["reader"].to_list() == ["html/lxml"]
    assert fact_differences(batch.facts, PAGE_FACTS) == []


LISTING = """<html><head><meta charset="utf-8"><title>年报</title></head><body><ul>
<li><a href="/ndbg/2021.xhtml">某县人民政府2021年政府信息公开工作年度报告</a></li>
<li><a href="/ndbg/files.html">某局2022年政府信息公开工作年度报告（附件）</a></li>
</ul></body></html>"""


def test_a_crawl_takes_an_xhtml_page_and_every_attachment_format_a_reader_reads(tmp_path):
    links = "".join(f'<a href="/files/report{s}">附件{s}</a>' for s in (*ATTACHMENT_SUFFIXES, ".xls"))
    attachments = {s: f for f in FORMATS if f.crawled_as == "attachment" for s in f.suffixes}
    with FakeGovSite() as site:
        site.pages.update({
            "/ndbg/index.html": Page(LISTING.encode("utf-8"), "text/html; charset=utf-8"),
            "/ndbg/2021.xhtml": Page(PAGE.read_bytes(), "application/xhtml+xml"),
            "/ndbg/files.html": Page(f"<html><body>{links}</body></html>".encode(), "text/html; charset=utf-8"),
            **{f"/files/report{s}": Page(_bytes_of(f), "application/octet-stream") for s, f in attachments.items()},
            "/files/report.xls": Page(OLE2_MAGIC, "application/vnd.ms-excel"),
        })
        policy = FetchPolicy(allowed_domains=("127.0.0.1",), delay_seconds=0.01, read_timeout_seconds=2.0,
                             attempts=1, allow_private_addresses=True)
        outcome = crawl(CrawlSettings("formats", (f"{site.root}/ndbg/index.html",), policy), tmp_path / "raw")
        requested = site.paths_requested()
    assert "/files/report.xls" not in requested  # no reader reads it: not downloaded
    documents = {document.url.replace(site.root, ""): document for document in outcome.documents}
    assert sorted(documents) == sorted(["/ndbg/2021.xhtml", *(f"/files/report{s}" for s in attachments)])
    for url, document in documents.items():
        assert document.path.endswith(download_suffix(url, None))
    page = documents["/ndbg/2021.xhtml"]
    assert page.path.endswith(".html")
    batch = process_batch([SourceRef(page.path, url=page.url, http_charset=page.http_charset)])
    assert batch.files["status"].to_list() == ["loaded"]
    assert fact_differences(batch.facts, PAGE_FACTS) == []
