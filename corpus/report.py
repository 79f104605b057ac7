"""One synthetic report, from its index to its bytes and its truth.

Everything about report i is drawn from one generator seeded by (seed, i), so a report
never depends on which worker made it or on the reports before it. The choices mirror
DOMAIN.md: the template version follows the year except for the agencies that use the
wrong one, some pair a 2021 table A with the 2019 single （六） row, titles take the three
published forms, a signature usually closes the report.

Formats are renderers in FORMATS, each turning the same title lines, blocks and signature
into a file: text, HTML, and DOCX. DOCX takes a smaller share of the default mix: gov sites
publish most reports as pages, and a document costs about one and a half times a page to
make (see corpus/docx.py).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache

from corpus import docx, glued_truth, html, numbers, printing, scan, tables, text, text_layouts, vocabulary
from corpus.document import Block, Content, Paragraph, TableBlock
from corpus.grid import Table
from corpus.numbers import Break, Key
from corpus.printing import Printed
from template import ACTIVE_DISCLOSURE, REQUESTS, REVIEW_LITIGATION, cells_for

BREAK_RATE = 0.03
FORMAT_WEIGHTS = {"html": 55, "text": 30, "docx": 15, "glued": 3, "lines": 3, "pipes": 3, "aligned": 3, "traditional": 3}
#: Text renderings by tools other than Word (corpus/text_layouts.py); they add 2025 reports.
OTHER_TEXT_FORMATS = ("glued", "lines", "pipes", "aligned", "traditional")
_YEARS = (2019, 2020, 2021, 2022, 2023, 2024)
_YEAR_WEIGHTS = (10, 14, 18, 20, 20, 18)
_OTHER_TEXT_YEARS = _YEARS + (2025,)
_OTHER_TEXT_YEAR_WEIGHTS = _YEAR_WEIGHTS + (12,)
_CHINESE_DIGITS = "〇一二三四五六七八九"


@dataclass(frozen=True)
class Rendered:
    suffix: str
    layout: str
    #: None for DOCX: its XML parts declare their own encoding and are never decoded as a whole.
    encoding: str | None
    declared_charset: str | None
    charset_declaration: str | None  # correct / none / wrong (HTML only)
    data: bytes


@dataclass(frozen=True)
class CellKeys:
    """The cells of one pair of versions as columns: the truth of every such report repeats them."""

    versions: tuple[str, ...]
    tables: tuple[str, ...]
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    keys: tuple[Key, ...]


@dataclass(frozen=True)
class SynthReport:
    file: str
    format: str
    rendered: Rendered
    agency: str
    year: int
    title_form: str
    signature_date: date | None
    active_version: str
    requests_version: str
    broken: Break | None
    #: Every cell the report prints, in template order, and how each was printed.
    keys: CellKeys
    printed: list[Printed]


def _versions(rng: random.Random, year: int) -> tuple[str, str]:
    """(table A, table B) versions: by year, except agencies using the wrong one, and the mixed 2021/2019."""
    active = "2019" if year <= 2020 else "2021"
    if rng.random() < 0.04:
        active = "2021" if active == "2019" else "2019"
    requests = "2019" if active == "2021" and rng.random() < 0.05 else active
    return active, requests


def _chinese_number(n: int) -> str:
    """1..31 as written in dates: 一, 十, 十五, 二十, 二十一."""
    tens, units = divmod(n, 10)
    prefix = "" if tens == 0 else "十" if tens == 1 else _CHINESE_DIGITS[tens] + "十"
    return prefix + (_CHINESE_DIGITS[units] if units else "")


def _chinese_date(day: date) -> str:
    """二〇二四年一月二十日."""
    year = "".join(_CHINESE_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{_chinese_number(day.month)}月{_chinese_number(day.day)}日"


def _title(rng: random.Random, agency: str, year: int) -> tuple[str, list[str]]:
    form = rng.choices(("two_lines", "guanyu", "one_line", "wrapped"), (45, 20, 25, 10))[0]
    if form == "two_lines":
        return form, [agency, f"{year}年{rng.choice(('', '度'))}政府信息公开工作年度报告"]
    if form == "guanyu":
        return form, [agency, f"关于{year}年度政府信息公开工作的报告"]
    if form == "one_line":
        space = rng.choice(("", " "))
        return form, [f"{agency}{space}{year}{space}年政府信息公开工作年度报告"]
    return form, [f"{agency}{year}年政府信息公开", "工作年度报告"]


def _fill(template: str, rng: random.Random, agency: str, year: int, received: int) -> str:
    return template.format(
        agency=agency, year=year, next_year=year + 1, received=received,
        published=rng.randint(20, 900), small=rng.randint(1, 12), medium=rng.randint(10, 300),
    )


def _content(rng: random.Random, agency: str, year: int, grids: dict[str, Table], received: int,
             signature: date | None) -> Content:
    form, title_lines = _title(rng, agency, year)
    heading = {section: vocabulary.heading(rng, section) for section in vocabulary.HEADINGS}
    blocks: list[Block] = [Paragraph(_fill(vocabulary.INTRO, rng, agency, year, received))]
    blocks.append(Paragraph(heading["overview"]))
    chosen = [p for p in vocabulary.OVERVIEW[1:] if rng.random() < 0.7]
    blocks += [Paragraph(_fill(p, rng, agency, year, received)) for p in vocabulary.OVERVIEW[:1] + tuple(chosen)]
    for section in ("active", "requests", "review"):
        blocks.append(Paragraph(heading[section]))
        if rng.random() < 0.04:
            blocks.append(Paragraph(heading[section]))  # some reports repeat a heading
        blocks.append(TableBlock(grids[section], section))
    blocks.append(Paragraph(heading["problems"]))
    blocks += [Paragraph(_fill(p, rng, agency, year, received)) for p in vocabulary.PROBLEMS]
    blocks.append(Paragraph(heading["other"]))
    blocks += [Paragraph(_fill(p, rng, agency, year, received)) for p in vocabulary.OTHER if rng.random() < 0.7]
    signature_lines = []
    if signature:
        written = _chinese_date(signature) if rng.random() < 0.1 else f"{signature.year}年{signature.month}月{signature.day}日"
        signature_lines = [agency, written]
    return Content(agency, vocabulary.site_name(agency), year, form, title_lines, blocks,
                   frozenset(heading.values()), signature_lines)


# ---- renderers -------------------------------------------------------------------------

_TEXT_ENCODINGS = (("utf-8", 65), ("utf-8-sig", 10), ("gbk", 25))
_HTML_ENCODINGS = (("utf-8", 50), ("gbk", 35), ("gb18030", 15))
_CORRECT_LABELS = {"utf-8": ("utf-8", "UTF-8"), "gbk": ("gb2312", "GB2312", "gbk", "GBK"), "gb18030": ("gb18030", "GB18030")}
_WRONG_LABELS = {"utf-8": ("gb2312", "gbk"), "gbk": ("utf-8",), "gb18030": ("utf-8",)}


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def render_text(content: Content, rng: random.Random) -> Rendered:
    layout = rng.choices(("cell-per-line", "row-per-line"), (70, 30))[0]
    quirks = text.text_quirks(rng)
    blocks: list[Block] = list(content.blocks)
    if quirks.bookmark and isinstance(blocks[0], Paragraph):
        blocks[0] = Paragraph(text.BOOKMARK + blocks[0].text)
    head: list[Block] = [*map(Paragraph, content.title_lines), Paragraph("")]
    tail: list[Block] = [Paragraph(line) for line in content.signature_lines]
    render = text.cell_per_line if layout == "cell-per-line" else text.row_per_line
    encoding = _pick(rng, _TEXT_ENCODINGS)
    body = render(head + blocks + tail, rng, quirks)
    return Rendered(".txt", f"text/{layout}", encoding, None, None, body.encode(encoding))


def render_html(content: Content, rng: random.Random) -> Rendered:
    style = html.page_style(rng)
    encoding = _pick(rng, _HTML_ENCODINGS)
    declaration = rng.choices(("correct", "none", "wrong"), (70, 15, 15))[0]
    labels = {"correct": _CORRECT_LABELS, "wrong": _WRONG_LABELS}.get(declaration)
    declared = rng.choice(labels[encoding]) if labels else None
    column, agency, year = "政府信息公开年报", content.agency, content.year
    if rng.random() < 0.7:
        html_title = f"{agency}{year}年政府信息公开工作年度报告_{column}_{content.site}"
    else:
        html_title = f"{agency}关于{year}年度政府信息公开工作的报告 - {content.site}"
    data = html.render_page(content, style, encoding, declared, html_title, column, rng)
    suffix = rng.choices((".html", ".htm", ".shtml"), (80, 15, 5))[0]
    layout = f"html/{style.skin}" + ("-flat" if style.flat else "")
    return Rendered(suffix, layout, encoding, declared, declaration, data)


def _text_blocks(content: Content) -> list[Block]:
    return ([Paragraph(line) for line in content.title_lines] + [Paragraph("")] + list(content.blocks)
            + [Paragraph(line) for line in content.signature_lines])


_REVIEW_HEADING = "四、政府信息公开行政复议、行政诉讼情况"


def _other_text(layout: str):
    def render(content: Content, rng: random.Random) -> Rendered:
        body = text_layouts.RENDERERS[layout](_text_blocks(content), rng)
        if rng.random() < 0.2:
            body = body.replace(_REVIEW_HEADING, "四、政府信息公开行政法复议、行政诉讼情况")  # a section-title typo
        if rng.random() < 0.3:
            body = body.replace("：", ":")  # ASCII punctuation
        encoding = _pick(rng, _TEXT_ENCODINGS)
        return Rendered(".txt", f"text/{layout}", encoding, None, None, body.encode(encoding))
    return render


def render_traditional(content: Content, rng: random.Random) -> Rendered:
    """A Taiwanese mirror site's text: one of the text layouts, in Traditional characters, UTF-8."""
    layout = rng.choice(("cell-per-line", "lines", "pipes", "aligned"))
    blocks = _text_blocks(content)
    if layout == "cell-per-line":
        body = text.cell_per_line(blocks, rng, text.text_quirks(rng))
    else:
        body = text_layouts.RENDERERS[layout](blocks, rng)
    return Rendered(".txt", f"text/traditional-{layout}", "utf-8", None, None,
                    text_layouts.traditional(body).encode("utf-8"))


def render_docx(content: Content, rng: random.Random) -> Rendered:
    style = docx.docx_style(rng, content.year)
    return Rendered(".docx", style.layout, None, None, None, docx.render_package(content, style))


def render_scan(content: Content, rng: random.Random) -> Rendered:
    suffix, layout, data = scan.render_scan(content, rng)
    return Rendered(suffix, layout, None, None, None, data)


#: One renderer per file format.
FORMATS: dict[str, Callable[[Content, random.Random], Rendered]] = {
    "html": render_html, "text": render_text, "docx": render_docx,
    **{layout: _other_text(layout) for layout in ("glued", "lines", "pipes", "aligned")},
    "traditional": render_traditional, "scan": render_scan,
}
#: What a corpus holds unless asked: scans only on request (`--format scan`), since reading one
#: costs seconds of OCR where the others cost milliseconds.
DEFAULT_FORMATS = tuple(fmt for fmt in FORMATS if fmt != "scan")


# ---- one report ------------------------------------------------------------------------

@cache
def template_keys(active: str, requests: str) -> CellKeys:
    """Every cell a report with these versions of tables A and B prints (table C as table A's version)."""
    cells = cells_for(active, ACTIVE_DISCLOSURE) + cells_for(requests, REQUESTS) + cells_for(active, REVIEW_LITIGATION)
    versions, tables, rows, cols = (tuple(getattr(c, name) for c in cells)
                                    for name in ("template", "table_code", "row_code", "col_code"))
    return CellKeys(versions, tables, rows, cols, keys=tuple(zip(tables, rows, cols)))


def _numbers_lost(keys: CellKeys, printed: list[Printed], broken: Break | None) -> list[Printed]:
    """A renderer that lost a table's numbers: table A's (no check reads it), or table C's when no
    check there is broken on purpose. Those cells are blank."""
    lost = {ACTIVE_DISCLOSURE} if broken and broken.rule == "review_litigation_total" else {ACTIVE_DISCLOSURE, REVIEW_LITIGATION}
    return [printing.BLANK if key[0] in lost else p for key, p in zip(keys.keys, printed)]


def make_report(seed: int, index: int, formats: tuple[str, ...], break_rate: float = BREAK_RATE) -> SynthReport:
    """Report `index` of the corpus of `seed`: numbers, then how they are printed, then the file."""
    rng = random.Random(f"nianbao-synth:{seed}:{index}")
    fmt = rng.choices(formats, [FORMAT_WEIGHTS.get(f, 1) for f in formats])[0]
    agency = vocabulary.agency(rng)
    other_text = fmt in OTHER_TEXT_FORMATS
    year = rng.choices(*((_OTHER_TEXT_YEARS, _OTHER_TEXT_YEAR_WEIGHTS) if other_text else (_YEARS, _YEAR_WEIGHTS)))[0]
    active_version, requests_version = _versions(rng, year)

    values = numbers.active_values(rng, active_version)
    values.update(numbers.requests_values(rng, requests_version))
    values.update(numbers.review_values(rng))
    break_kinds: tuple[str, ...] = numbers.BREAK_KINDS
    if other_text and fmt != "pipes":
        # these layouts print a blank cell as nothing at all: no blank 总计 on purpose (see printing.without_blanks)
        break_kinds = tuple(k for k in break_kinds if k != "blank_total")
    broken = numbers.inject_break(rng, values, rng.choice(break_kinds)) if rng.random() < break_rate else None
    received = values[(REQUESTS, "new_received", "total")] or 0

    style = printing.number_style(rng)
    if other_text and fmt != "pipes":
        style = printing.without_blanks(style, glued=fmt == "glued")
    keys = template_keys(active_version, requests_version)
    printed = [printing.print_value(rng, style, key[2], values[key]) for key in keys.keys]
    if fmt == "lines" and rng.random() < 0.3:
        printed = _numbers_lost(keys, printed, broken)
    if fmt == "glued":
        printed = glued_truth.mark_ambiguous(keys.keys, printed)
        broken = broken and glued_truth.unreadable_break(broken, keys.keys, printed)
    texts = {key: p.text for key, p in zip(keys.keys, printed)}
    labels = tables.label_style(rng)
    grids = {
        "active": tables.active_table(active_version, texts, labels),
        "requests": tables.requests_table(requests_version, texts, labels),
        "review": tables.review_table(texts, labels),
    }
    signature = date(year + 1, rng.randint(1, 3), rng.randint(1, 28)) if rng.random() < 0.9 else None
    content = _content(rng, agency, year, grids, received, signature)
    rendered = FORMATS[fmt](content, rng)
    return SynthReport(
        file=f"{index // 1000:05d}/{index:07d}{rendered.suffix}",
        format=fmt,
        rendered=rendered,
        agency=agency,
        year=year,
        title_form=content.title_form,
        signature_date=signature,
        active_version=active_version,
        requests_version=requests_version,
        broken=broken,
        keys=keys,
        printed=printed,
    )
