"""Text whose cells are glued together, as a crawler's get_text() leaves a page.

'一、本年新收政府信息公开申请数量230000023二、上年结转…': the whole report on one line or a
few. The sections are found by their headings, each table's text is cut into labels and
runs of value characters, and each run is split into its cells by glued_tables (the
template's arithmetic, ambiguity reported as such). The result is the paragraphs and rows
every other reader makes, for the same locator.

Sub-row numbers glue onto the values before them ('属于国家秘密00000002.其他法律…'): a run
that ends in a digit and a '.' or '、' before a label gives that digit to the label. '无'
is a dash cell except where it starts 无法提供 or 无正当理由, and a '/' between two words
('本年增/减') is part of a label. The text is read after NFKC, so a cell's raw_text holds its
digits in half width.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache

from extractors.document import Block, Paragraph, Row
from extractors.glued_tables import active_cells, request_cells, review_cells
from extractors.labels import ACTIVE_ROWS, active_column, article_item, request_row
from extractors.text_common import split_active_header
from template import ACTIVE_DISCLOSURE, cells_for, columns_for

READER = "text/glued"
#: Rows of table B that every other layout prints on lines of their own.
_FIRST_ROW_GLUED = re.compile(r"新收政府信息公开申请数量[0-9０-９]")
_TABLE_B_WORDS = ("新收政府信息公开申请", "予以公开")
#: Both words on one line: what lies between them holds none of the characters str.splitlines() breaks at.
_TABLE_B_ON_ONE_LINE = re.compile(
    "|".join(f"{re.escape(a)}[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*{re.escape(b)}"
             for a, b in (_TABLE_B_WORDS, _TABLE_B_WORDS[::-1]))
)
_HEADINGS = (
    ("active", re.compile(r"[二2][、.．]?主动公开政府信息(?:情况)?")),
    ("requests", re.compile(r"三[、.．是]?收到和处理政府信息公开申请(?:情况)?")),
    ("review", re.compile(r"四[、.．]?政府信息公开行政(?:法)?复议.{0,3}行政诉讼(?:情况)?")),
    ("end", re.compile(r"五[、.．]?(?:政府信息公开工作)?存在的?主要问题(?:及改进(?:情况|措施))?|五[、.．]?.{0,8}问题及改进(?:情况|措施)?")),
)
_RUN = re.compile(r"(?:[0-9][0-9.,]*(?:万元|元)?|—+|/|-|无(?![法正]))+")
_PAGE_NUMBER_END = re.compile(r"(?<=[0-9—/无])-[0-9]{1,3}-$")
_ITEM_NUMBER = re.compile(r"([0-9])[.、]$")
_SENTENCE_END = re.compile(r"(?<=[。！？])")
_SECTION_START = re.compile(r"(?=[一二三四五六七八九十][、.．](?:总体情况|主动公开|收到和处理|政府信息公开|存在|其他需要|本年度|工作))")
_YEAR = re.compile(r"((?:19|20)\d{2})年")
#: Headings that end where their words end ('六、其他需要报告的事项' then the signature).
_HEADING_END = re.compile(r"(?<=其他需要报告的事项)")
_TITLE_END = re.compile(r"(?:政府|政务)信息公开(?:工作)?(?:年度报告|的报告|年报)")


def looks_glued(text: str) -> bool:
    """Table B's rows on one line, or its first row's number right after its label: no other layout prints them so."""
    if not all(word in text for word in _TABLE_B_WORDS):
        return bool(_FIRST_ROW_GLUED.search(text))
    return bool(_FIRST_ROW_GLUED.search(text) or _TABLE_B_ON_ONE_LINE.search(text))


def _prose(text: str, first: bool) -> list[Paragraph]:
    """Glued prose as paragraphs: split at line breaks, sentence ends, section headings and the title's end."""
    out: list[Paragraph] = []
    for line in text.splitlines():
        if first and (title_end := _TITLE_END.search(line[:120])):
            head, line = line[: title_end.end()], line[title_end.end():]
            out.append(Paragraph(head.strip()))
            first = False
        for sentence in _SENTENCE_END.split(line):
            parts = (p for part in _SECTION_START.split(sentence) for p in _HEADING_END.split(part))
            out += [Paragraph(part.strip()) for part in parts if part.strip()]
    return out


def _pairs(region: str) -> Iterator[tuple[str, str]]:
    """(label, run of value characters) pairs; a label with no run after it has run ''."""
    compact = re.sub(r"\s+", "", region)
    label_start, carried = 0, ""
    for match in _RUN.finditer(compact):
        run, before, after = match.group(), compact[match.start() - 1 : match.start()], compact[match.end() : match.end() + 1]
        if run == "/" and before and after and not after.isdigit():
            continue  # 本年增/减
        run = _PAGE_NUMBER_END.sub("", run)  # a flip-book page number ('-5-') glued after a row
        label = carried + compact[label_start : match.start()]
        carried = ""
        if after and not after.isdigit() and (item := _ITEM_NUMBER.search(run + (after if after == "、" else ""))):
            run, carried = run[: item.start()], item.group().rstrip("、")
        label_start = match.end()
        if run:
            yield label, run
        elif label:
            carried = label + carried
    tail = carried + compact[label_start:]
    if tail:
        yield tail, ""


def _sections(text: str) -> dict[str, tuple[int, int]]:
    """Where each table's text starts (after its heading) and ends, by the first heading of each."""
    found: dict[str, tuple[int, int]] = {}
    position = 0
    for name, pattern in _HEADINGS:
        match = pattern.search(text, position)
        if match:
            found[name] = (match.start(), match.end())
            position = match.end()
    return found


def _active_rows(region: str, fallback_version: str) -> list[Block]:
    rows: list[Block] = []
    widths: dict[str, int] = {}
    item: str | None = None
    for label, run in _pairs(region):
        if found := article_item(label):
            item = found
            item_match = re.search(r"第二十条第?\(?[一二三四五六七八九十]+\)?项?", label)
            rows.append(Row((item_match.group() if item_match else label,)))
            label = label[item_match.end():] if item_match else ""
        starts = [label.find(k) for k, _ in ACTIVE_ROWS if k in label]
        cut = min(starts) if starts else len(label)
        if label[cut - 2 : cut] in ("行政", "政府"):  # 行政规范性文件, 行政事业性收费, 政府集中采购
            cut -= 2
        header, row_label = label[:cut], label[cut:]
        if header and any(active_column(part) for part in split_active_header([header])):
            columns = split_active_header([header])
            rows.append(Row(tuple(columns)))
            if item:
                widths[item] = sum(1 for part in columns if active_column(part))
        if row_label and run:
            row_item = _item_of_row(row_label) or item
            width = widths.get(row_item or "") or len(columns_for(fallback_version, ACTIVE_DISCLOSURE, row_item or ""))
            rows.append(Row((row_label, *active_cells(run, width))))
    return rows


def _item_of_row(label: str) -> str | None:
    code = next((c for k, c in ACTIVE_ROWS if k in label), None)
    return _item_of_code(code) if code else None


@cache
def _item_of_code(code: str) -> str | None:
    """The article-20 item a row of table A belongs to (the same in both versions)."""
    return next((c.item for c in cells_for("2019", ACTIVE_DISCLOSURE) + cells_for("2021", ACTIVE_DISCLOSURE)
                 if c.row_code == code), None)


def _request_rows(region: str) -> list[Block]:
    section: str | None = None
    labelled: list[tuple[str, str | None, str]] = []
    for label, run in _pairs(region):
        code, section = request_row([label], section)
        labelled.append((label, code if run else None, run))
    runs = {}
    for _, code, run in labelled:
        if code and code not in runs:
            runs[code] = run
    cells = request_cells(runs)
    rows: list[Block] = []
    for label, code, run in labelled:
        if code and code in cells:
            rows.append(Row((label, *cells.pop(code))))
        elif not run:
            rows.append(Row((label,)))
    return rows


def _review_rows(region: str) -> list[Block]:
    rows: list[Block] = []
    for _, run in _pairs(region):
        if run:
            rows.append(Row(tuple(review_cells(run))))
            break
    return rows


def read_glued(text: str) -> list[Block]:
    text = unicodedata.normalize("NFKC", text)
    year = _YEAR.search(text[:300])
    fallback_version = "2019" if year and int(year.group(1)) < 2021 else "2021"
    sections = _sections(text)
    order = [name for name, _ in _HEADINGS if name in sections]
    blocks: list[Block] = []
    first_table = sections[order[0]][0] if order else len(text)
    blocks += _prose(text[:first_table], first=True)
    readers = {"active": lambda r: _active_rows(r, fallback_version), "requests": _request_rows, "review": _review_rows}
    for name, following in zip(order, order[1:] + [None]):
        start, end = sections[name]
        stop = sections[following][0] if following else len(text)
        blocks.append(Paragraph(text[start:end]))
        if name == "end":
            blocks += _prose(text[end:stop], first=False)
        else:
            blocks += readers[name](text[end:stop])
    return blocks
