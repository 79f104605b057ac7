"""A real headless Chromium (Debian's /usr/bin/chromium) driven by playwright, with the network off.

Every console error, page error, failed request and request that leaves the file is recorded, so a
test can require a page that opens offline without a single complaint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
#: The Chinese font the report's labels are expected to be drawn with (Debian's fonts-wqy-zenhei).
CJK_FONT = "WenQuanYi Zen Hei"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


#: Elements matching `selector` under `root`, inside open shadow roots too (where Bokeh draws its charts).
DEEP_QUERY = """(root, selector) => {
    const found = [...root.querySelectorAll(selector)];
    for (const element of root.querySelectorAll('*')) {
        if (element.shadowRoot) found.push(...deepQuery(element.shadowRoot, selector));
    }
    return found;
}"""
_DEEP = f"const deepQuery = {DEEP_QUERY};"


@dataclass
class Visit:
    page: Page
    cdp: object  # a CDP session on that page
    problems: list[str] = field(default_factory=list)
    seconds_to_load: float = 0.0

    def count(self, root: str, selector: str) -> int:
        """How many elements under the first `root` match `selector`, shadow roots included."""
        return self.page.evaluate(f"([r, s]) => {{ {_DEEP} return deepQuery(document.querySelector(r), s).length; }}",
                                  [root, selector])

    def texts(self, root: str, selector: str) -> list[str]:
        return self.page.evaluate(
            f"([r, s]) => {{ {_DEEP} return deepQuery(document.querySelector(r), s).map(e => e.textContent); }}",
            [root, selector])

    def fonts_rendering(self, root: str, selector: str, text: str) -> dict[str, int]:
        """The system fonts Chromium drew the element showing `text` with: {family: glyphs}."""
        self.cdp.send("DOM.enable")
        self.cdp.send("CSS.enable")
        self.cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
        found = self.cdp.send("Runtime.evaluate", {"expression": (
            f"(() => {{ {_DEEP} return deepQuery(document.querySelector({json.dumps(root)}), {json.dumps(selector)})"
            f".find(e => e.textContent === {json.dumps(text)}); }})()")})["result"]
        assert "objectId" in found, f"no {selector} showing {text!r} under {root}"
        node = self.cdp.send("DOM.requestNode", {"objectId": found["objectId"]})["nodeId"]
        fonts = self.cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return {font["familyName"]: font["glyphCount"] for font in fonts}


def require_chromium() -> None:
    """Skip on a developer's machine without Chromium and the CJK font; fail where they must be (.ci/run installs them)."""
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("chromium")
    families = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    if CJK_FONT not in families:
        missing.append("fonts-wqy-zenhei")
    if not missing:
        return
    what = f"the browser test needs {' and '.join(missing)}: apt-get install --no-install-recommends {' '.join(missing)}"
    if os.environ.get("NIANBAO_REQUIRE_CHROMIUM"):
        pytest.fail(what)
    pytest.skip(what)


class OfflineBrowser:
    """One Chromium in a fresh profile, every request but the file's own refused (context offline)."""

    def __init__(self, context) -> None:
        self.context = context

    def open(self, path: Path, ready: str) -> Visit:
        """Open a local file; return once the JS expression `ready` is true and the fonts are loaded."""
        page = self.context.new_page()
        visit = Visit(page=page, cdp=self.context.new_cdp_session(page))
        page.on("console", lambda m: m.type == "error" and visit.problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: visit.problems.append(f"page error: {e}"))
        page.on("dialog", lambda d: (visit.problems.append(f"dialog: {d.message}"), d.dismiss()))
        page.on("requestfailed", lambda r: visit.problems.append(f"request failed: {r.url} {r.failure}"))
        page.on("request", lambda r: r.url != path.as_uri() and not r.url.startswith("data:")
                and visit.problems.append(f"request left the file: {r.url}"))
        started = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function(ready, timeout=60_000)
        page.evaluate("document.fonts.ready.then(() => true)")
        visit.seconds_to_load = time.perf_counter() - started
        return visit


@contextmanager
def offline_browser(*, width: int = 1400, height: int = 900) -> Iterator[OfflineBrowser]:
    from playwright.sync_api import sync_playwright

    require_chromium()
    profile = tempfile.mkdtemp(prefix="nianbao-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS, offline=True,
                viewport={"width": width, "height": height},
            )
            try:
                yield OfflineBrowser(context)
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def open_offline(path: Path, ready: str) -> Iterator[Visit]:
    """A fresh browser that opened `path` (see OfflineBrowser.open)."""
    with offline_browser() as browser:
        yield browser.open(path, ready)
