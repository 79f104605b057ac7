"""The prose in which a report states its own numbers: 一、总体情况 and the sections on requests and reviews.

Kept beside the cells so that transforms can compare what the text says with what the tables print
(transforms/narrative.py) and read which places the report names (transforms/agencies.py). Sections
二 (proactive disclosure), 五 (problems) and 六 are left out: their numbers are other numbers.
"""

from __future__ import annotations

import re

from extractors.document import SECTION_HEADING, Document
from extractors.labels import nfkc

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


def _section_of(text: str) -> str | None:
    if len(text) > _HEADING_MAX_CHARS or not SECTION_HEADING.match(text):
        return None
    return next((name for name, pattern in _SECTIONS if pattern.search(text)), None)


def narrative_text(document: Document) -> str:
    """The paragraphs of the preamble and sections 一, 三 and 四, one per line, NFKC-normalised (digits half-width)."""
    section = "preamble"
    kept = []
    for paragraph in document.paragraphs:
        section = _section_of(paragraph.strip()) or section
        if section in _KEPT:
            kept.append(paragraph.strip())
    return nfkc("\n".join(p for p in kept if p))
