"""What a crawl does when a site misbehaves, against the fake site on 127.0.0.1 (no Prefect needed).

robots.txt that cannot be read, a download that trickles, raw files other processes must read,
and a source whose start URLs all fail.
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from extractors.crawl import CrawlOutcome, CrawlSettings, crawl
from extractors.fetch import Fetcher, FetchPolicy
from flows.sources import load_sources
from tests.fake_site import TRICKLE_BODY, FakeGovSite, write_sources

DISALLOW_ALL = "disallowing the whole site until it can be read"


def policy(**options: object) -> FetchPolicy:
    """Test-speed politeness; the defaults would take minutes."""
    settings = {"delay_seconds": 0.01, "read_timeout_seconds": 0.5, "attempts": 2, "backoff_seconds": 0.05,
                "allow_private_addresses": True} | options
    return FetchPolicy(allowed_domains=("127.0.0.1",), **settings)


def crawl_site(tmp_path: Path, start_urls: list[str], **options: object) -> CrawlOutcome:
    return crawl(CrawlSettings(name="fake-gov", start_urls=tuple(start_urls), policy=policy(**options)),
                 tmp_path / "raw")


def outcomes(site: FakeGovSite, outcome: CrawlOutcome) -> dict[str, tuple[str, str | None]]:
    return {record["url"].replace(site.root, ""): (record["outcome"], record["reason"]) for record in outcome.records}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(("status", "delay", "problem"), [
    (503, 0.0, "HTTP 503 after 2 attempts"),
    (500, 0.0, "HTTP 500 after 2 attempts"),
    (429, 0.0, "HTTP 429 after 2 attempts"),
    (200, 1.0, "timed out (ReadTimeout) after 2 attempts"),
])
def test_robots_txt_that_cannot_be_read_disallows_the_whole_site(tmp_path, status, delay, problem):
    with FakeGovSite() as site:
        site.robots_status, site.robots_delay_seconds = status, delay
        outcome = crawl_site(tmp_path, [f"{site.root}/ndbg/index.html", f"{site.root}/private/2017.html"])
        requested = site.paths_requested()
    reason = f"robots.txt unreachable ({problem}): {DISALLOW_ALL}"
    assert outcomes(site, outcome) == {"/ndbg/index.html": ("refused", reason),
                                       "/private/2017.html": ("refused", reason)}
    assert requested == ["/robots.txt", "/robots.txt"]  # asked once per crawl (with its retries), not per URL
    assert outcome.documents == []


def test_robots_txt_on_a_host_that_refuses_connections_disallows_it():
    url = f"http://127.0.0.1:{closed_port()}/ndbg/index.html"
    fetcher = Fetcher(policy())
    try:
        result = fetcher.fetch(url)
    finally:
        fetcher.close()
    assert result.outcome == "refused"
    assert result.reason.startswith("robots.txt unreachable (connection failed (ConnectError: ")
    assert result.reason.endswith(f" after 2 attempts): {DISALLOW_ALL}")


@pytest.mark.parametrize("status", [404, 403, 410])
def test_robots_txt_that_is_missing_or_forbidden_allows_everything(tmp_path, status):
    with FakeGovSite() as site:
        site.robots_status = status
        outcome = crawl_site(tmp_path, [f"{site.root}/private/2017.html"])
    assert outcomes(site, outcome)["/private/2017.html"] == ("downloaded", None)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirected_robots_txt_is_followed_and_obeyed(tmp_path, status):
    with FakeGovSite() as site:
        site.robots_status = status
        outcome = crawl_site(tmp_path, [f"{site.root}/private/2017.html"])
        requested = site.paths_requested()
    assert outcomes(site, outcome) == {"/private/2017.html": ("refused", "disallowed by robots.txt")}
    assert requested == ["/robots.txt", "/robots-moved.txt"]


def test_the_next_crawl_asks_robots_txt_again_and_goes_on_once_it_can_be_read(tmp_path):
    with FakeGovSite() as site:
        site.robots_status = 503
        first = crawl_site(tmp_path, [f"{site.root}/ndbg/2019.html"])
        site.robots_status = 200
        second = crawl_site(tmp_path, [f"{site.root}/ndbg/2019.html"])
        requested = site.paths_requested()
    assert outcomes(site, first)["/ndbg/2019.html"][0] == "refused"
    assert outcomes(site, second)["/ndbg/2019.html"] == ("downloaded", None)
    assert requested[:4] == ["/robots.txt", "/robots.txt", "/robots.txt", "/ndbg/2019.html"]  # 503 twice, then 200


def test_a_download_that_trickles_fails_at_its_deadline_and_is_not_retried():
    with FakeGovSite() as site:
        # a byte each 0.1 s: never a read timeout (0.5 s), 20 s for the whole body without a deadline
        fetcher = Fetcher(policy(download_timeout_seconds=0.6))
        try:
            result = fetcher.fetch(f"{site.root}/files/trickle.pdf")
        finally:
            fetcher.close()
        requested = site.paths_requested()
    assert result.outcome == "failed"
    assert result.body is None
    assert result.reason.startswith(
        "download not finished after download_timeout_seconds (0.6 s): received "
    )
    assert result.reason.endswith(
        f" of {len(TRICKLE_BODY)} bytes; the server sends too slowly (raise download_timeout_seconds "
        "for this source if it is only slow)"
    )
    assert requested == ["/robots.txt", "/files/trickle.pdf"]


def test_a_download_within_its_deadline_is_kept():
    with FakeGovSite() as site:
        site.trickle_seconds = 0.001
        fetcher = Fetcher(policy(download_timeout_seconds=60))
        try:
            result = fetcher.fetch(f"{site.root}/files/trickle.pdf")
        finally:
            fetcher.close()
    assert (result.outcome, result.body) == ("downloaded", TRICKLE_BODY)


def test_a_body_that_does_not_decode_as_its_content_encoding_says_fails_the_fetch_not_the_crawl(tmp_path):
    with FakeGovSite() as site:
        site.robots_status = 404
        fetcher = Fetcher(policy())
        try:
            result = fetcher.fetch(f"{site.root}/files/bad-gzip.pdf")
        finally:
            fetcher.close()
    assert result.outcome == "failed"
    assert result.reason.startswith("the body does not decode as its Content-Encoding says (")


def test_the_sources_file_sets_the_download_deadline(tmp_path):
    with FakeGovSite() as site:
        sources = write_sources(tmp_path, site, download_timeout_seconds=45)
    [source] = load_sources(sources)
    assert source.settings.policy.download_timeout_seconds == 45
    assert FetchPolicy(allowed_domains=("example.gov.cn",)).download_timeout_seconds == 300.0


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_raw_files_follow_the_umask_so_that_workers_of_another_user_can_read_them(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        with FakeGovSite() as site:
            outcome = crawl_site(tmp_path, [f"{site.root}/ndbg/attachment.html"])
    finally:
        os.umask(previous)
    [document] = outcome.documents  # the .docx the page links
    stored = sorted(p.name for p in (tmp_path / "raw").iterdir())
    assert len(stored) == 3 and Path(document.path).name in stored  # the page, the .docx, the journal
    assert not [name for name in stored if name.startswith(".")]  # no temporary file left
    assert {name: stat.S_IMODE((tmp_path / "raw" / name).stat().st_mode) for name in stored} == dict.fromkeys(
        stored, mode
    )


def test_a_crawl_whose_start_urls_all_fail_says_why_in_one_line(tmp_path):
    with FakeGovSite() as site:
        missing, robots = f"{site.root}/ndbg/gone.html", f"{site.root}/private/2017.html"
        outcome = crawl_site(tmp_path, [missing, robots])
    assert outcome.unreachable == (
        f"no start URL of source 'fake-gov' could be read: {missing} failed (HTTP 404); "
        f"{robots} refused (disallowed by robots.txt)"
    )


def test_a_start_url_refused_as_a_private_address_makes_the_crawl_unreachable(tmp_path):
    with FakeGovSite() as site:
        start = f"{site.root}/ndbg/index.html"
        outcome = crawl_site(tmp_path, [start], allow_private_addresses=False)
        requested = site.paths_requested()
    assert outcome.unreachable == (
        f"no start URL of source 'fake-gov' could be read: {start} refused "
        "(127.0.0.1 resolves to 127.0.0.1, a private, loopback or link-local address)"
    )
    assert requested == []


def test_one_readable_start_url_is_enough(tmp_path):
    with FakeGovSite() as site:
        outcome = crawl_site(tmp_path, [f"{site.root}/ndbg/gone.html", f"{site.root}/ndbg/2019.html"])
    assert outcome.unreachable is None
    assert outcomes(site, outcome)["/ndbg/2019.html"] == ("downloaded", None)
