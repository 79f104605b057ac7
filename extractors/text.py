"""A text rendering of a report, in whichever layout its renderer used, as paragraphs and rows.

The layouts, tried in this order (the first whose marks the text has):
- text/glued: cells with nothing between them (a crawler's get_text()), split by the template's arithmetic;
- text/row-per-line and text/cell-per-line: Word's plain-text export (tabs), seeds 002 and 000;
- text/pipes: '|'-separated cells (markdown tables, '|' lines, cells ending in ' |');
- text/aligned: space-aligned columns (pdftotext -layout, flip-book pages);
- text/line-per-cell: one cell per line with nothing else.
Each is a reader in front of the same table locator. Page numbers and page chrome are dropped
first. Traditional Chinese (mirror sites) is read through OpenCC's Taiwan-to-mainland
conversion with phrases (規範性檔案 -> 规范性文件), so labels and headings match; a cell
printed '無' keeps its printed character, and numbers are the same characters in both scripts.
The reader's name says the layout, and '+opencc' when the text was converted.
"""

from __future__ import annotations

import re
from functools import cache

from extractors.document import Document, parse_word_export
from extractors.labels import table_of_heading
from extractors.text_cells import READER as LINE_PER_CELL
from extractors.text_cells import read_cells
from extractors.text_columns import READER as ALIGNED
from extractors.text_columns import looks_aligned, read_aligned
from extractors.text_common import without_furniture
from extractors.text_glued import READER as GLUED
from extractors.text_glued import looks_glued, read_glued
from extractors.text_pipes import READER as PIPES
from extractors.text_pipes import looks_piped, read_pipes

#: Characters of the first part of a text looked at to tell Traditional from Simplified.
_SAMPLE = 3000
#: Share of the sample's Chinese characters that OpenCC changes, above which the text is Traditional.
_TRADITIONAL_SHARE = 0.03
_HAN = re.compile(r"[\u4e00-\u9fff]")
#: Traditional forms of characters every report uses (公開, 資訊, 處理, 報告, 機關, 條例, 複議, 訴訟, 結果 …).
_TRADITIONAL_MARKS = re.compile("[開資訊處報機關條複議訴訟結為們與請況規範檔審維糾區縣務]")
#: A cell printed 無 on its own: the dash 无 in Traditional, kept as printed.
#: Words one of which every heading of a table, or of the section after them, holds: the lines
#: (of at most 60 characters, without a tab) worth asking table_of_heading about.
_HEADING_WORDS = re.compile("主动公开|收到和处理|申请|复议|存在的主要|其他需要报告|改进情况")
_LONE_WU = re.compile(r"(?<![\u4e00-\u9fff])無(?![\u4e00-\u9fff])")


@cache
def _converter():
    import opencc  # imported on first Traditional text: most reports never need it

    return opencc.OpenCC("tw2sp")


def is_traditional(text: str) -> bool:
    sample = text[:_SAMPLE]
    if not _TRADITIONAL_MARKS.search(sample):
        return False  # the common case, without asking OpenCC
    han = _HAN.findall(sample)
    if len(han) < 20:
        return False
    converted = _converter().convert("".join(han))
    changed = sum(1 for a, b in zip(han, converted) if a != b)
    return changed >= _TRADITIONAL_SHARE * len(han)


def to_simplified(text: str) -> str:
    """The text in Simplified Chinese, with lone 無 cells kept as printed when the conversion kept the length."""
    converted = _converter().convert(text)
    if len(converted) == len(text):
        chars = list(converted)
        for match in _LONE_WU.finditer(text):
            chars[match.start()] = "無"
        converted = "".join(chars)
    return converted


def _tabbed_tables(joined: str) -> bool:
    """Word's tabbed export: a tab inside the tables' region, from the first table heading to the
    heading that ends the tables after the last one. A tab in prose outside it (a paragraph's indent
    in a LibreOffice text export) says nothing of the tables; a text whose headings (lines without a
    tab) are not found is judged as a whole. `joined` is the text's lines joined by '\n': offsets in
    it keep this to a few regex scans."""
    if "\t" not in joined:
        return False
    headings: list[tuple[int, str]] = []
    for match in _HEADING_WORDS.finditer(joined):
        start = joined.rfind("\n", 0, match.start()) + 1
        end = joined.find("\n", match.end())
        line = joined[start : end if end >= 0 else len(joined)]
        if len(line) <= 60 and "\t" not in line and (heading := table_of_heading(line)) is not None:
            if not headings or headings[-1][0] != start:
                headings.append((start, heading))
    tables = [at for at, heading in headings if heading]
    if not tables:
        return True
    end = next((at for at, heading in headings if not heading and at > tables[-1]), len(joined))
    return joined.find("\t", tables[0], end) != -1


def parse_text(text: str) -> Document:
    """Read a report printed as plain text, in any of the layouts above."""
    suffix = ""
    if is_traditional(text):
        text, suffix = to_simplified(text), "+opencc"
    if looks_glued(text):
        return Document(read_glued(text), reader=GLUED + suffix)
    lines = without_furniture(text.splitlines())
    joined = "\n".join(lines)
    if _tabbed_tables(joined):
        document = parse_word_export(lines, joined)
        document.reader += suffix
        return document
    if looks_piped(lines):
        return Document(read_pipes(lines), reader=PIPES + suffix)
    if looks_aligned(lines):
        return Document(read_aligned(lines), reader=ALIGNED + suffix)
    return Document(read_cells(lines), reader=LINE_PER_CELL + suffix)
