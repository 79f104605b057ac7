"""Agency, report year and signature date from the title lines and the closing signature.

Titles come as '繁峙县教育科技局' over '2023年政府信息公开工作年度报告', as
'关于2020年度政府信息公开工作的报告' under the agency, or all on one line; a wrapped title
('…2023年政府信息公开' / '工作年度报告') is joined first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from extractors.document import SECTION_HEADING, Document, Row
from extractors.labels import normalise_label

_TITLE = re.compile(r"^(?P<agency>.*?)(?:关于)?(?P<year>(?:19|20)\d{2})年度?(?:本?单位)?.{0,12}(?:政府|政务)信息公开.*报告")
_ANY_YEAR = re.compile(r"((?:19|20)\d{2})\s*年度?")
_DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CHINESE_DATE = re.compile(r"([〇○零一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日")
_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"○": 0, "零": 0}
_HEAD_LINES = 8
_SIGNATURE_MAX_CHARS = 40
_LAST_SECTION = re.compile(r"^\s*六\s*[、.．]|^\s*[一二三四五六七八九十]{1,2}\s*[、.．]\s*其他需要报告")


@dataclass(frozen=True)
class ReportMetadata:
    title: str | None
    agency: str | None
    year: int | None
    signature_date: date | None


def _chinese_number(text: str) -> int:
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _DIGITS[text[1]]
    if "十" in text:
        tens, _, units = text.partition("十")
        return _DIGITS[tens] * 10 + (_DIGITS[units] if units else 0)
    return _DIGITS[text]


def _head_lines(document: Document) -> list[str]:
    lines: list[str] = []
    for block in document.blocks:
        if isinstance(block, Row) or SECTION_HEADING.match(block.text) or len(lines) >= _HEAD_LINES:
            break
        lines.append(normalise_label(block.text))
    return [line for line in lines if line]


def _find_title(lines: list[str]) -> tuple[str, str, int] | None:
    """(title, agency, year) from the first lines; a title may wrap onto the next line."""
    for index, line in enumerate(lines):
        candidates = [line]
        if index + 1 < len(lines):
            candidates.append(line + lines[index + 1])
        for candidate in candidates:
            match = _TITLE.match(candidate)
            if match and len(candidate) <= 80:
                agency = match.group("agency") or (lines[index - 1] if index > 0 else "")
                return candidate, agency, int(match.group("year"))
    return None


def _signature_date(document: Document) -> date | None:
    """The first full date on a short line after the last section (六、) or the last table: the signature.

    Searching forwards from there skips the site footers pages carry after it.
    """
    # the last such block, looked for from the end: the signature is a few blocks from there
    start = next((i for i, block in zip(range(len(document.blocks) - 1, -1, -1), reversed(document.blocks))
                  if (len(block.cells) >= 3 if isinstance(block, Row) else _LAST_SECTION.match(block.text))), -1)
    tail = [b.text for b in document.blocks[start + 1 :] if not isinstance(b, Row)]
    for text in tail:
        compact = normalise_label(text)
        if len(compact) > _SIGNATURE_MAX_CHARS:
            continue
        if match := _DATE.search(compact):
            year, month, day = (int(g) for g in match.groups())
        elif match := _CHINESE_DATE.search(compact):
            year = int("".join(str(_DIGITS[c]) for c in match.group(1)))
            month, day = _chinese_number(match.group(2)), _chinese_number(match.group(3))
        else:
            continue
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


def read_metadata(document: Document) -> ReportMetadata:
    found = _find_title(_head_lines(document))
    if found is None and document.container_title:
        found = _find_title([normalise_label(document.container_title)])
    year: int | None
    if found:
        title, agency, year = found
    else:
        title, agency = None, None
        years = [int(y) for text in document.paragraphs[:_HEAD_LINES * 2] for y in _ANY_YEAR.findall(text)]
        year = years[0] if years else None
    return ReportMetadata(title=title, agency=agency or None, year=year, signature_date=_signature_date(document))
