"""The prose in which a report states its own numbers: 一、总体情况 and the sections on requests and reviews.

Kept beside the cells so that transforms can compare what the text says with what the tables print
(transforms/narrative.py) and read which places the report names (transforms/agencies.py). Sections
二 (proactive disclosure), 五 (problems) and 六 are left out: their numbers are other numbers.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from extractors.document import SECTION_HEADING, Document

#: Section headings by what they say, so that a bullet such as 一是加强… is not taken for a heading.
_SECTIONS = (
    ("overview", re.compile(r"总体情况|概述")),
    ("proactive", re.compile(r"主动公开")),
    ("requests", re.compile(r"收到和处理|依申请|申请情况")),
    ("review", re.compile(r"复议|诉讼")),
    ("problems", re.compile(r"问题|改进")),
    ("other", re.compile(r"其他")),
)
_KEPT = frozenset({"preamble", "overview", "requests", "review"})
_HEADING_MAX_CHARS = 40
#: The Unicode blocks where the compatibility characters of Chinese prose live: Latin-1's no-break space,
#: general punctuation, enclosed numbers (①⑴), the ideographic space and CJK symbols, enclosed CJK and
#: the CJK compatibility forms, the small and full-width forms (，（）；：０-９).
_COMPATIBILITY_BLOCKS = ((0x00A0, 0x00FF), (0x2000, 0x206F), (0x2460, 0x24FF), (0x3000, 0x303F), (0x3200, 0x33FF),
                         (0xFE30, 0xFE6F), (0xFF00, 0xFFEF))


def _section_of(text: str) -> str | None:
    if len(text) > _HEADING_MAX_CHARS or not SECTION_HEADING.match(text):
        return None
    return next((name for name, pattern in _SECTIONS if pattern.search(text)), None)


@cache
def _changed_by_nfkc() -> re.Pattern[str]:
    """The characters of _COMPATIBILITY_BLOCKS that NFKC changes on their own."""
    changed = "".join(chr(code) for first, last in _COMPATIBILITY_BLOCKS for code in range(first, last + 1)
                      if not unicodedata.is_normalized("NFKC", chr(code)))
    return re.compile(f"[{re.escape(changed)}]")


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), eight times faster on Chinese prose (0.10 -> 0.012 ms a report).

    CPython's NFKC of a text that is not already normal costs ~90 ns a character; a report's prose is
    normal but for a few dozen full-width commas and brackets. Each of those is first replaced by its
    compatibility decomposition (NFKD), which leaves the NFKD of the text, and so its NFKC, unchanged; the
    text is then normal already, which Python's quick check finds at a few ns a character. Characters
    outside _COMPATIBILITY_BLOCKS are left to the normalisation, as before.
    """
    for char in set(_changed_by_nfkc().findall(text)):
        text = text.replace(char, unicodedata.normalize("NFKD", char))
    return unicodedata.normalize("NFKC", text)


def narrative_text(document: Document) -> str:
    """The paragraphs of the preamble and sections 一, 三 and 四, one per line, NFKC-normalised (digits half-width)."""
    section = "preamble"
    kept = []
    for paragraph in document.paragraphs:
        section = _section_of(paragraph.strip()) or section
        if section in _KEPT:
            kept.append(paragraph.strip())
    return nfkc("\n".join(p for p in kept if p))
