"""A small government site on 127.0.0.1 with the habits of real ones, and a log of every request."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.conftest import HTML_FIXTURES
from tests.office import filled_template

LISTING_1 = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>政府信息公开年报</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/sitemap.html">网站地图</a> <a href="javascript:void(0)">打印</a></div>
<ul>
<li><a href="/ndbg/2019.html">某区交通运输局2019年政府信息公开工作年度报告</a></li>
<li><a href="/ndbg/2021-utf8.html">某县人民政府2021年政府信息公开工作年度报告</a></li>
<li><a href="/ndbg/flaky.html">2021年度报告（网络不稳）</a></li>
<li><a href="/ndbg/slow.html">2020年度报告（超时）</a></li>
<li><a href="/loop/a.html">2018年度报告（重定向）</a></li>
<li><a href="/private/2017.html">2017年度报告（robots 禁止）</a></li>
<li><a href="http://other.example.org/2016年报.html">2016年报（外站）</a></li>
<li><a href="file:///etc/passwd">年报（本地文件）</a></li>
</ul>
<div class="pages"><a href="/ndbg/index.html">1</a> <a href="/ndbg/index_1.html">下一页</a></div>
</body></html>"""

LISTING_2 = """<html><head><meta charset="gbk"><title>政府信息公开年报 第2页</title></head><body>
<ul><li><a href="/ndbg/gb2312.html">2021年政府信息公开工作年度报告（GB2312）</a></li>
<li><a href="/ndbg/attachment.html">某局2022年政府信息公开工作年报（附件）</a></li></ul>
<div class="pages"><a href="/ndbg/index.html">上一页</a> <a href="/ndbg/index_1.html">2</a></div>
</body></html>"""

ATTACHMENT_PAGE = """<html><head><meta charset="utf-8"><title>年报</title></head><body>
<p><a href="/files/2022-report.docx">附件：某局2022年政府信息公开工作年度报告.docx</a></p>
</body></html>"""


#: Served by /files/trickle.pdf a byte at a time: 20 s at the default pace.
TRICKLE_BODY = b"%PDF-1.4\n" + b"%" * 190


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str


class FakeGovSite:
    """Serves the pages above plus report fixtures; a test reads `requests` to see what was fetched.

    The attachment page links the filled official template as a .docx (tests/office.py).
    """

    def __init__(self) -> None:
        read = lambda name: (HTML_FIXTURES / name).read_bytes()  # noqa: E731
        self.pages: dict[str, Page] = {
            "/robots.txt": Page(b"User-agent: *\nDisallow: /private/\n", "text/plain"),
            "/ndbg/index.html": Page(LISTING_1.encode("gbk"), "text/html"),
            "/ndbg/index_1.html": Page(LISTING_2.encode("gbk"), "text/html; charset=gbk"),
            "/ndbg/2019.html": Page(read("report_2019_gbk_wrong_meta.html"), "text/html"),
            # a UTF-8 page whose HTTP header says GBK: the bytes decide
            "/ndbg/2021-utf8.html": Page(read("report_2021_utf8.html"), "text/html; charset=gbk"),
            "/ndbg/gb2312.html": Page(read("report_2021_gb2312_no_meta.html"), "text/html"),
            "/ndbg/flaky.html": Page(read("report_2021_breaks_checks.html"), "text/html; charset=utf-8"),
            "/ndbg/attachment.html": Page(ATTACHMENT_PAGE.encode("utf-8"), "text/html; charset=utf-8"),
            "/private/2017.html": Page(read("report_2021_utf8.html"), "text/html"),
            "/files/2022-report.docx": Page(
                filled_template(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            ),
        }
        #: /ndbg/slow.html answers after this many seconds: four times write_sources' read timeout, never read in time.
        self.slow_seconds = 2.0
        self.flaky_failures_left = 2
        #: robots.txt's answer: 200 serves it, a 3xx redirects to /robots-moved.txt (the same rules), else an error.
        self.robots_status = 200
        self.robots_delay_seconds = 0.0
        #: /files/trickle.pdf sends one byte each this many seconds.
        self.trickle_seconds = 0.1
        #: (path, conditional?) of every request, in order.
        self.requests: list[tuple[str, bool]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGovSite:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths_requested(self, conditional: bool | None = None) -> list[str]:
        with self._lock:
            return [path for path, cond in self.requests if conditional is None or cond == conditional]

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
                with site._lock:
                    site.requests.append((path, conditional))
                if path == "/robots.txt" and (site.robots_delay_seconds or site.robots_status != 200):
                    time.sleep(site.robots_delay_seconds)
                    if 300 <= site.robots_status < 400:
                        return self._redirect("/robots-moved.txt", site.robots_status)
                    if site.robots_status != 200:
                        return self._send(site.robots_status, b"unavailable", "text/plain")
                if path == "/robots-moved.txt":
                    path = "/robots.txt"
                if path == "/files/bad-gzip.pdf":
                    return self._send(200, b"not gzip at all", "application/pdf", encoding="gzip")
                if path == "/files/trickle.pdf":
                    return self._trickle(TRICKLE_BODY, "application/pdf")
                if path == "/ndbg/slow.html":
                    time.sleep(site.slow_seconds)
                    return self._send(200, b"<html>too late</html>", "text/html")
                if path == "/loop/a.html":
                    return self._redirect("/loop/b.html")
                if path == "/loop/b.html":
                    return self._redirect("/loop/a.html")
                if path == "/ndbg/flaky.html":
                    with site._lock:
                        failing = site.flaky_failures_left > 0
                        site.flaky_failures_left -= failing
                    if failing:
                        return self._send(500, b"busy", "text/plain")
                page = site.pages.get(path)
                if page is None:
                    return self._send(404, b"not found", "text/plain")
                etag = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return None
                return self._send(200, page.body, page.content_type, etag)

            def _redirect(self, location: str, status: int = 302) -> None:
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _trickle(self, body: bytes, content_type: str) -> None:
                """A server that answers at once and then sends its body a byte at a time, slowly."""
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for byte in body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(site.trickle_seconds)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler gave up

            def _send(self, status: int, body: bytes, content_type: str, etag: str | None = None,
                      encoding: str | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    if encoding:
                        self.send_header("Content-Encoding", encoding)
                    self.send_header("Content-Length", str(len(body)))
                    if etag:
                        self.send_header("ETag", etag)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler gave up waiting (the slow page)

        return Handler


def write_sources(directory: Path, site: FakeGovSite, **options: object) -> Path:
    """A sources file crawling the fake site, with test-speed politeness (the defaults would take minutes)."""
    settings = {"delay_seconds": 0.01, "read_timeout_seconds": 0.5, "attempts": 3, "backoff_seconds": 0.05,
                "allow_private_addresses": True} | options
    lines = ["[[sources]]", 'name = "fake-gov"', 'kind = "crawl"', f'start_urls = ["{site.root}/ndbg/index.html"]',
             'allowed_domains = ["127.0.0.1"]']
    lines += [f"{key} = {str(value).lower() if isinstance(value, bool) else value}" for key, value in settings.items()]
    path = directory / "sources.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
