"""Crawling a site's listing pages for annual reports, incrementally and resumably.

Listing pages (and their pagination) are read for links whose text or URL looks like an
annual report; each report page is downloaded, and so are the report attachments it links
to. A report page with no readable attachment whose own text makes no report (its tables are
pictures) has its pictures downloaded too, through the same rules, for OCR. Every fetch is
appended to a journal beside the raw store, so that a crawl killed half way resumes where it
stopped, and the next crawl sends conditional requests.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.html
from lxml import etree

from extractors.decode import decode_bytes
from extractors.errors import ExtractionError
from extractors.fetch import Fetcher, FetchPolicy, FetchResult
from extractors.files import SourceFile
from extractors.formats import ATTACHMENT_SUFFIXES, IMAGE, READ_SUFFIXES, download_suffix, is_page
from extractors.rawstore import RawStore, write_pictures
from extractors.report import text_yields_report
from extractors.scan import MAX_PAGES, MIN_PICTURE

DEFAULT_LINK_PATTERNS = ("年度报告", "年报")
#: Links that page through a listing. Not 首页: on most sites that is the site's home page.
PAGINATION_TEXT = re.compile(r"^(下一页|下页|上一页|上页|\d{1,4})$")
_SKIPPED_SCHEMES = ("javascript:", "mailto:", "tel:", "#")
_PIXELS = re.compile(r"\s*(\d+)\s*(px)?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class CrawlSettings:
    name: str
    start_urls: tuple[str, ...]
    policy: FetchPolicy
    #: A link is a report link when its text or URL contains one of these.
    link_patterns: tuple[str, ...] = DEFAULT_LINK_PATTERNS
    max_listing_pages: int = 200
    concurrency: int = 4


@dataclass(frozen=True)
class CrawledDocument:
    """A downloaded report, ready to ingest: its bytes in the raw store and where they came from."""

    path: str
    url: str
    http_charset: str | None


@dataclass
class CrawlOutcome:
    crawl_id: str
    resumed: bool
    #: One per URL the crawl met: fetched, not modified, refused or failed.
    records: list[dict] = field(default_factory=list)
    documents: list[CrawledDocument] = field(default_factory=list)
    #: When every start URL failed or was refused: one line naming each and why. The crawl then reached
    #: nothing of the site, which the flow must report as a failure, not as a site without news.
    unreachable: str | None = None


class Journal:
    """An append-only JSON-lines log of a source's crawls; the last line may be cut by a kill."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # the line a killed crawl was writing
        return entries

    def append(self, entry: dict) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
                handle.flush()
                os.fsync(handle.fileno())


def journal_path(raw_root: Path, source_name: str) -> Path:
    slug = re.sub(r"[^\w.-]+", "-", source_name).strip("-") or "source"
    return raw_root / f"crawl-{slug}.jsonl"


class _Crawl:
    def __init__(self, settings: CrawlSettings, raw_root: Path) -> None:
        self.settings = settings
        self.store = RawStore(raw_root)
        self.journal = Journal(journal_path(raw_root, settings.name))
        entries = self.journal.entries()
        starts = [e for e in entries if e.get("event") == "start"]
        finished = {e["crawl_id"] for e in entries if e.get("event") == "finish"}
        unfinished = starts and starts[-1]["crawl_id"] not in finished
        self.resumed = bool(unfinished)
        self.crawl_id = starts[-1]["crawl_id"] if unfinished else uuid.uuid4().hex
        fetches = [e for e in entries if e.get("event") == "fetch"]
        #: What this crawl already did before it was killed: not fetched again.
        self.done = {e["url"]: e for e in fetches if e["crawl_id"] == self.crawl_id}
        #: The last time each URL was downloaded, for conditional requests.
        self.previous = {e["url"]: e for e in fetches if e.get("raw_path")}
        if not unfinished:
            self.journal.append({"event": "start", "crawl_id": self.crawl_id, "source": settings.name,
                                 "at": datetime.now().isoformat()})
        self.fetcher = Fetcher(settings.policy)
        self._lock = threading.Lock()

    def visit(self, url: str, kind: str) -> tuple[dict, bytes | None]:
        """Fetch a URL once per crawl; the record and, when there is one, the body."""
        with self._lock:
            record = self.done.get(url)
        if record is None:
            record = self._fetch(url, kind)
            with self._lock:
                self.done[url] = record
        path = record.get("raw_path")
        return record, Path(path).read_bytes() if path and Path(path).exists() else None

    def _fetch(self, url: str, kind: str) -> dict:
        before = self.previous.get(url) or {}
        usable = bool(before) and Path(before["raw_path"]).exists()
        result = self.fetcher.fetch(
            url, etag=before.get("etag") if usable else None, last_modified=before.get("last_modified") if usable else None
        )
        raw_path, sha256 = None, None
        if result.outcome == "downloaded":
            assert result.body is not None, "a download has its body"
            raw_path = str(self.store.put(result.body, download_suffix(urlsplit(result.final_url or url).path, result.content_type)))
            sha256 = result.sha256
        elif result.outcome == "not_modified":
            raw_path, sha256 = before["raw_path"], before["sha256"]
            result.http_charset = result.http_charset or before.get("http_charset")
            result.content_type = result.content_type or before.get("content_type")
        record = _record(self.crawl_id, self.settings.name, kind, result, raw_path, sha256)
        self.journal.append(record)
        return record

    def run(self) -> CrawlOutcome:
        try:
            report_urls = self._read_listings()
            with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
                documents = [doc for docs in pool.map(self._report, report_urls) for doc in docs]
        finally:
            self.fetcher.close()
        self.journal.append({"event": "finish", "crawl_id": self.crawl_id, "at": datetime.now().isoformat()})
        return CrawlOutcome(
            crawl_id=self.crawl_id, resumed=self.resumed, records=list(self.done.values()), documents=documents,
            unreachable=self._unreachable(),
        )

    def _unreachable(self) -> str | None:
        starts = [self.done[url] for url in self.settings.start_urls if url in self.done]
        if not starts or len(starts) < len(self.settings.start_urls):
            return None
        if any(record["outcome"] not in ("refused", "failed") for record in starts):
            return None
        why = "; ".join(f"{r['url']} {r['outcome']} ({r['reason']})" for r in starts)
        return f"no start URL of source {self.settings.name!r} could be read: {why}"

    def _read_listings(self) -> list[str]:
        queue = list(self.settings.start_urls)
        seen = set(queue)
        report_urls: list[str] = []
        pages = 0
        while queue and pages < self.settings.max_listing_pages:
            url = queue.pop(0)
            pages += 1
            record, body = self.visit(url, "listing")
            if body is None:
                continue
            for link, text in _links(_page(record, body)):
                if self._is_report_link(link, text):
                    if link not in report_urls:
                        report_urls.append(link)
                elif PAGINATION_TEXT.match(text) and link not in seen:
                    seen.add(link)
                    queue.append(link)
        return report_urls

    def _is_report_link(self, url: str, text: str) -> bool:
        return any(pattern in text or pattern in url for pattern in self.settings.link_patterns)

    def _report(self, url: str) -> list[CrawledDocument]:
        """The report page, or the report attachments it links to when it has readable ones."""
        record, body = self.visit(url, "report")
        if body is None:
            return []
        if not is_page(record["raw_path"], record.get("content_type")):
            return [_document(record)]
        page = _page(record, body)
        attachments = [
            link for link, _ in _links(page) if Path(urlsplit(link).path).suffix.lower() in ATTACHMENT_SUFFIXES
        ]
        readable = []
        for link in dict.fromkeys(attachments):
            attachment, content = self.visit(link, "attachment")
            if content is not None and Path(attachment["raw_path"]).suffix in READ_SUFFIXES:
                readable.append(_document(attachment))
        if not readable:
            self._fetch_pictures(record, body, _pictures(page))
        return readable or [_document(record)]

    def _fetch_pictures(self, record: dict, body: bytes, pictures: list[tuple[str, str]]) -> None:
        """Download the pictures of a page whose own text makes no report (its tables are pictures), and
        note them beside the page in the raw store, where extraction looks for them."""
        if not pictures:
            return
        source = SourceFile(record["raw_path"], body, url=record["url"], http_charset=record.get("http_charset"))
        try:
            if text_yields_report(source):
                return
        except Exception:  # a bug reading the page must not stop the crawl: its extraction reports it, for this page
            return
        stored = {}
        for src, url in pictures[:MAX_PAGES]:
            picture, content = self.visit(url, "image")
            if content is not None and IMAGE.has_magic(content):
                stored[src] = Path(picture["raw_path"]).name
        write_pictures(Path(record["raw_path"]), stored)


def crawl(settings: CrawlSettings, raw_root: str | Path) -> CrawlOutcome:
    """Crawl one source into the raw store under raw_root; resumes the source's unfinished crawl if any."""
    return _Crawl(settings, Path(raw_root)).run()


def _record(crawl_id: str, source: str, kind: str, result: FetchResult, raw_path: str | None,
            sha256: str | None) -> dict:
    return {
        "event": "fetch", "crawl_id": crawl_id, "source": source, "url": result.url, "kind": kind,
        "outcome": result.outcome, "final_url": result.final_url, "status": result.status,
        "content_type": result.content_type, "http_charset": result.http_charset, "etag": result.etag,
        "last_modified": result.last_modified, "fetched_at": result.fetched_at.isoformat(), "sha256": sha256,
        "raw_path": raw_path, "reason": result.reason,
    }


def _document(record: dict) -> CrawledDocument:
    return CrawledDocument(path=record["raw_path"], url=record["url"], http_charset=record.get("http_charset"))


def _page(record: dict, body: bytes) -> tuple[etree._Element | None, str]:
    """A fetched page's tree (None when it is no HTML) and the URL its relative links start from."""
    base = record.get("final_url") or record["url"]
    try:
        text = decode_bytes(record["url"], body, is_html=True, http_charset=record.get("http_charset")).text
        return lxml.html.document_fromstring(text), base
    except (ExtractionError, etree.ParserError, ValueError):
        return None, base


def _links(page: tuple[etree._Element | None, str]) -> list[tuple[str, str]]:
    """(absolute URL without fragment, link text) of every followable link on a page."""
    root, base = page
    links = []
    for anchor in root.iter("a") if root is not None else ():
        href = (anchor.get("href") or "").strip()
        if not href or href.lower().startswith(_SKIPPED_SCHEMES):
            continue
        links.append((urldefrag(urljoin(base, href)).url, " ".join(anchor.text_content().split())))
    return links


def _pictures(page: tuple[etree._Element | None, str]) -> list[tuple[str, str]]:
    """(src as written, absolute URL) of each picture on a page that may be a table, each src once.

    Inline data: pictures are left out, and so are those whose declared width or height is an icon's.
    """
    root, base = page
    pictures: dict[str, str] = {}
    for picture in root.iter("img") if root is not None else ():
        src = picture.get("src") or ""
        if not src.strip() or src.strip().lower().startswith(("data:", *_SKIPPED_SCHEMES)) or _declared_small(picture):
            continue
        pictures.setdefault(src, urldefrag(urljoin(base, src.strip())).url)
    return list(pictures.items())


def _declared_small(picture: etree._Element) -> bool:
    """Whether the page gives the picture a size in pixels below any table's (logos, icons, spacers)."""
    for attribute, least in (("height", MIN_PICTURE[0]), ("width", MIN_PICTURE[1])):
        declared = _PIXELS.fullmatch(picture.get(attribute) or "")
        if declared and int(declared.group(1)) < least:
            return True
    return False
