"""Fetching one URL politely and safely: robots.txt, a per-host delay, retries, limits.

Every outcome is a FetchResult, never an exception, so that a crawl records what happened
to each URL (downloaded, not modified, refused and why, failed and why) and goes on.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import threading
import time
import urllib.robotparser
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx

USER_AGENT = "nianbao/0.1 (+annual-report crawler; polite: robots.txt, 1 request/s per host)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 10
#: RFC 9309 asks crawlers to follow at least five redirects of robots.txt.
MAX_ROBOTS_REDIRECTS = 5
MAX_RETRY_AFTER_SECONDS = 120.0


@dataclass(frozen=True)
class FetchPolicy:
    """What a crawl source allows; the defaults are what a gov site should see from us."""

    allowed_domains: tuple[str, ...]
    delay_seconds: float = 1.0
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 30.0
    #: A whole download, from the request to the last byte: a server trickling a byte at a time never
    #: trips the read timeout, so without it a crawl waits for as long as the trickle lasts.
    download_timeout_seconds: float = 300.0
    max_bytes: int = 50 * 1024 * 1024
    attempts: int = 4
    backoff_seconds: float = 2.0
    #: Private, loopback and link-local addresses are refused unless a source says otherwise.
    allow_private_addresses: bool = False


@dataclass
class FetchResult:
    url: str
    #: downloaded / not_modified / refused / failed
    outcome: str
    final_url: str | None = None
    status: int | None = None
    content_type: str | None = None
    #: The charset the HTTP header declared, if any (it may be wrong; decoding decides).
    http_charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    body: bytes | None = None
    #: Why it was refused or failed, in words.
    reason: str | None = None

    @property
    def sha256(self) -> str | None:
        return hashlib.sha256(self.body).hexdigest() if self.body is not None else None


def domain_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in allowed)


def _scheme_refusal(parts: SplitResult) -> str | None:
    if parts.scheme not in ("http", "https"):
        return f"scheme {parts.scheme or 'none'}:// is not fetched (only http and https)"
    return None


def _address_refusal(host: str) -> str | None:
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        return f"cannot resolve {host} ({exc.strerror})"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved:
            return f"{host} resolves to {address}, a private, loopback or link-local address"
    return None


class Fetcher:
    """One per crawl: holds the HTTP client, robots.txt rules and each host's last request time."""

    def __init__(self, policy: FetchPolicy, client: httpx.Client | None = None) -> None:
        self.policy = policy
        self.client = client or httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(policy.read_timeout_seconds, connect=policy.connect_timeout_seconds),
            follow_redirects=False,
            trust_env=False,
        )
        #: Per site root: its rules, None when it has none (allow all), or why the whole site is refused.
        self._robots: dict[str, urllib.robotparser.RobotFileParser | str | None] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._last_request: dict[str, float] = {}
        self._guard = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def refusal(self, url: str) -> str | None:
        """Why this URL must not be fetched, or None."""
        parts = urlsplit(url)
        refused = _scheme_refusal(parts)
        if refused:
            return refused
        host = parts.hostname or ""
        if not domain_allowed(host, self.policy.allowed_domains):
            return f"domain {host} is not in allowed_domains ({', '.join(self.policy.allowed_domains)})"
        return self._private_refusal(host) or self._robots_refusal(url)

    def _private_refusal(self, host: str) -> str | None:
        return None if self.policy.allow_private_addresses else _address_refusal(host)

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET with redirects checked hop by hop, retries on transient failures, a size limit."""
        refused = self.refusal(url)
        if refused:
            return FetchResult(url=url, outcome="refused", reason=refused)
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        seen = [url]
        current = url
        while True:
            result = self._get_with_retries(url, current, conditional)
            if result.outcome != "redirect":
                return result
            target = urljoin(current, result.final_url or "")
            if target in seen or len(seen) > MAX_REDIRECTS:
                loop = " -> ".join([*seen, target])
                return FetchResult(url=url, outcome="failed", status=result.status, reason=f"redirect loop: {loop}")
            refused = self.refusal(target)
            if refused:
                return FetchResult(url=url, outcome="refused", final_url=target, reason=f"redirected: {refused}")
            seen.append(target)
            current = target

    def _get_with_retries(self, url: str, current: str, headers: dict[str, str]) -> FetchResult:
        problem = ""
        for attempt in range(1, self.policy.attempts + 1):
            wait = self.policy.backoff_seconds * 2 ** (attempt - 1)
            try:
                result = self._get_once(url, current, headers)
            except httpx.TimeoutException as exc:
                problem = f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__}: {exc})"
            except httpx.DecodingError as exc:
                return FetchResult(url=url, outcome="failed", final_url=current,
                                   reason=f"the body does not decode as its Content-Encoding says ({exc})")
            else:
                if result.status not in RETRY_STATUSES:
                    return result
                problem = f"HTTP {result.status}"
                wait = max(wait, result.retry_after or 0.0)
            if attempt < self.policy.attempts:
                time.sleep(wait)
        return FetchResult(url=url, outcome="failed", final_url=current,
                           reason=f"{problem} after {self.policy.attempts} attempts")

    def _get_once(self, url: str, current: str, headers: dict[str, str]) -> _Response:
        self._wait_turn(urlsplit(current).netloc)
        deadline = time.monotonic() + self.policy.download_timeout_seconds
        with self.client.stream("GET", current, headers=headers) as response:
            if response.status_code == 304:
                return _Response.of(url, current, response, outcome="not_modified")
            if response.is_redirect:
                return _Response.of(url, current, response, outcome="redirect",
                                    final_url=response.headers.get("location", ""))
            if response.status_code != 200:
                return _Response.of(url, current, response, outcome="failed",
                                    reason=f"HTTP {response.status_code}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > self.policy.max_bytes:
                return _Response.of(url, current, response, outcome="refused",
                                    reason=f"{declared} bytes is over the limit of {self.policy.max_bytes}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.policy.max_bytes:
                    return _Response.of(url, current, response, outcome="refused",
                                        reason=f"over the limit of {self.policy.max_bytes} bytes")
                if time.monotonic() > deadline:
                    return _Response.of(url, current, response, outcome="failed",
                                        reason=self._too_slow(len(body), declared))
            return _Response.of(url, current, response, outcome="downloaded", body=bytes(body))

    def _too_slow(self, received: int, declared: int) -> str:
        """Not retried: a server this slow is as slow a minute later, and each attempt would cost the whole deadline."""
        of = f" of {declared}" if declared else ""
        return (f"download not finished after download_timeout_seconds ({self.policy.download_timeout_seconds:g} s): "
                f"received {received}{of} bytes; the server sends too slowly "
                "(raise download_timeout_seconds for this source if it is only slow)")

    def _wait_turn(self, host: str) -> None:
        """One request at a time per host, at least delay_seconds apart."""
        with self._guard:
            lock = self._host_locks.setdefault(host, threading.Lock())
        with lock:
            pause = self._last_request.get(host, 0.0) + self.policy.delay_seconds - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            self._last_request[host] = time.monotonic()

    def _robots_refusal(self, url: str) -> str | None:
        """Why robots.txt forbids the URL, read once per site and crawl (so the next crawl asks again)."""
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        with self._guard:
            lock = self._robots_locks.setdefault(root, threading.Lock())
        with lock:  # one request for robots.txt per site, however many threads ask
            if root not in self._robots:
                self._robots[root] = self._read_robots(root + "/robots.txt")
        rules = self._robots[root]
        if isinstance(rules, str):
            return rules
        return None if rules is None or rules.can_fetch(USER_AGENT, url) else "disallowed by robots.txt"

    def _read_robots(self, robots_url: str) -> urllib.robotparser.RobotFileParser | str | None:
        """RFC 9309: the rules; None (allow all) when it is unavailable (4xx); the refusal when unreachable.

        Unreachable is a 5xx, 429, timeout, network error, a download over the limits, or a redirect
        that cannot be followed: the whole site is then refused until robots.txt can be read.
        """
        current = robots_url
        for _ in range(MAX_ROBOTS_REDIRECTS + 1):
            result = self._get_with_retries(robots_url, current, {})
            if result.outcome == "downloaded":
                assert result.body is not None, "a download has its body"
                rules = urllib.robotparser.RobotFileParser()
                rules.parse(result.body.decode("utf-8", errors="replace").splitlines())
                return rules
            status = result.status or 0
            if 200 < status < 300 or (400 <= status < 500 and status != 429):
                return None
            if result.outcome != "redirect":
                return _robots_unreachable(result.reason or f"HTTP {status}")
            target = urljoin(current, result.final_url or "")
            target_parts = urlsplit(target)
            refused = _scheme_refusal(target_parts) or self._private_refusal(target_parts.hostname or "")
            if refused:
                return _robots_unreachable(f"redirected to {target}: {refused}")
            current = target
        return None  # more redirects than RFC 9309 asks to follow: it may be taken as unavailable


def _robots_unreachable(problem: str) -> str:
    return f"robots.txt unreachable ({problem}): disallowing the whole site until it can be read"


class _Response(FetchResult):
    """A FetchResult plus what the retry loop needs to know."""

    retry_after: float | None = None

    @classmethod
    def of(cls, url: str, current: str, response: httpx.Response, *, outcome: str, body: bytes | None = None,
           reason: str | None = None, final_url: str | None = None) -> _Response:
        content_type = response.headers.get("content-type")
        result = cls(
            url=url, outcome=outcome, final_url=final_url if final_url is not None else current,
            status=response.status_code, content_type=content_type.split(";")[0].strip() if content_type else None,
            http_charset=response.charset_encoding, etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"), body=body, reason=reason,
        )
        result.retry_after = _retry_after(response.headers.get("retry-after"))
        return result


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, from either of its forms, capped so a server cannot stall the night."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
