"""Reports as Word and WPS save them: WordprocessingML written straight into a zip.

python-docx takes about 100 ms to fill the blank template (tests/office.py), so 100,000
reports would take over an hour on two cores. Here document.xml is joined from cell, run and
paragraph XML built once and cached, the parts every document shares are deflated once per
process, and the zip is written directly: about 2.5 ms a document on top of the report's
content, half of it deflating document.xml.

Producers: 'word' writes Microsoft Word's markup (rsid attributes, a run split where the
author edited a number or label, the _GoBack bookmark, every zip member dated 1980-01-01
as Word leaves them); 'wps' the heavier markup of WPS Office and the official blank
template (borders, shading and margins on every cell, members dated when saved). Tables
keep Word's merges (gridSpan, and vMerge restart/continue for row spans) or come 'flat',
with the covered positions as plain empty cells. A label wrapped in a narrow cell is split
into paragraphs, as the template splits 商业 / 企业, or by a line break; a title on two
lines is two paragraphs or one broken by Shift+Enter. Some reports are published with their
tracked changes unaccepted: last year's year and figures deleted (<w:del>), this year's
inserted (<w:ins>), which a reader must show as the final text.
"""

from __future__ import annotations

import random
import struct
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from xml.sax.saxutils import escape

from corpus.document import Content, Paragraph
from corpus.grid import GridCell, Table, slots

PRODUCERS = ("word", "wps")
DOCX_LAYOUTS = tuple(f"docx/{producer}-{merging}" for producer in PRODUCERS for merging in ("merged", "flat"))
#: zlib level of every member: 6 takes 2.5 times as long on document.xml for files 25% smaller.
DEFLATE_LEVEL = 3
#: A4 width less Word's default 3.17 cm margins, in twentieths of a point.
_TEXT_WIDTH = 8306
#: Word writes every zip member with the DOS epoch as its time.
_WORD_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_AUTHORS = ("Administrator", "admin", "user", "lenovo", "dell", "HP", "微软用户", "Windows 用户", "办公室", "xxgk")


@dataclass(frozen=True)
class DocxStyle:
    producer: str
    #: Covered cells written as plain empty cells instead of vMerge continuations.
    flat: bool
    #: A wrapped label broken by <w:br/> inside one paragraph rather than split into paragraphs.
    wrap_with_breaks: bool
    #: Numbers and labels split into two runs where the author edited them (Word only).
    split_runs: bool
    #: Table B's header rows marked to repeat on every page.
    header_repeats: bool
    #: A title on two lines written as one paragraph with a line break.
    title_break: bool
    #: Published with its tracked changes unaccepted: last year's figures and dates deleted, this year's inserted.
    revised: bool
    author: str
    saved: datetime

    @property
    def layout(self) -> str:
        return f"docx/{self.producer}-{'flat' if self.flat else 'merged'}"


def docx_style(rng: random.Random, year: int) -> DocxStyle:
    producer = rng.choices(PRODUCERS, (60, 40))[0]
    day = (year + 1, rng.randint(1, 3), rng.randint(1, 28))
    saved = datetime(*day, rng.randint(8, 18), rng.randrange(60), rng.randrange(60))
    return DocxStyle(
        producer=producer,
        flat=rng.random() < 0.25,
        wrap_with_breaks=rng.random() < 0.3,
        split_runs=producer == "word" and rng.random() < 0.5,
        header_repeats=rng.random() < 0.2,
        title_break=rng.random() < 0.25,
        revised=rng.random() < 0.1,
        author=rng.choice(_AUTHORS),
        saved=saved,
    )


# ---- markup of each producer ------------------------------------------------------------

_NAMESPACES = (
    'xmlns:wpc="http://schemas.microsoft.com/office/word/2010/wordprocessingCanvas" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:o="urn:schemas-microsoft-com:office:office" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math" xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:wp14="http://schemas.microsoft.com/office/word/2010/wordprocessingDrawing" '
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:w10="urn:schemas-microsoft-com:office:word" '
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" '
    'xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml" '
    'xmlns:wpg="http://schemas.microsoft.com/office/word/2010/wordprocessingGroup" '
    'xmlns:wpi="http://schemas.microsoft.com/office/word/2010/wordprocessingInk" '
    'xmlns:wne="http://schemas.microsoft.com/office/word/2006/wordml" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
)
_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'


@dataclass(frozen=True)
class Markup:
    """The fixed XML a producer writes around text: paragraph openings by kind, run properties, cell properties."""

    root: str
    paragraph: dict[str, str]
    run: dict[str, str]
    table: str
    row: str
    cell_properties: str
    cell_paragraph: str


def _fonts(font: str, size: int, extra: str = "") -> str:
    return (f'<w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:eastAsia="{font}" w:cs="{font}" w:hint="eastAsia"/>'
            f'{extra}<w:sz w:val="{size}"/><w:szCs w:val="{size}"/>')


#: The fonts and sizes (half-points) of official documents: 小标宋 二号 titles, 黑体 headings, 仿宋 三号 text.
_PROSE_FONTS = {"title": ("方正小标宋简体", 44), "heading": ("黑体", 32), "body": ("仿宋_GB2312", 32),
                "signature": ("仿宋_GB2312", 32)}
_PROSE_LAYOUT = {
    "title": '<w:spacing w:line="560" w:lineRule="exact"/><w:jc w:val="center"/>',
    "heading": '<w:spacing w:line="560" w:lineRule="exact"/><w:ind w:firstLine="640" w:firstLineChars="200"/>',
    "body": ('<w:spacing w:line="560" w:lineRule="exact"/><w:ind w:firstLine="640" w:firstLineChars="200"/>'
             '<w:jc w:val="both"/>'),
    "signature": '<w:spacing w:line="560" w:lineRule="exact"/><w:jc w:val="right"/>',
}
_CELL_FONT = _fonts("宋体", 21, '<w:color w:val="000000"/><w:kern w:val="0"/>')
_RSID = 'w:rsidR="00C41F7A" w:rsidRDefault="00C41F7A" w:rsidP="0086551B"'

_WORD = Markup(
    root=f"<w:document {_NAMESPACES} mc:Ignorable=\"w14 w15 wp14\">",
    paragraph={kind: f"<w:p {_RSID}><w:pPr>{layout}<w:rPr>{_fonts(*_PROSE_FONTS[kind])}</w:rPr></w:pPr>"
               for kind, layout in _PROSE_LAYOUT.items()},
    run={
        **{kind: f'<w:r w:rsidRPr="0086551B"><w:rPr>{_fonts(*_PROSE_FONTS[kind])}</w:rPr>' for kind in _PROSE_LAYOUT},
        "label": f'<w:r w:rsidRPr="00A62D30"><w:rPr>{_CELL_FONT}</w:rPr>',
        "value": f'<w:r w:rsidRPr="00A62D30"><w:rPr>{_CELL_FONT}<w:lang w:val="en-US"/></w:rPr>',
    },
    table=('<w:tbl><w:tblPr><w:tblStyle w:val="a3"/><w:tblW w:w="0" w:type="auto"/><w:jc w:val="center"/>'
           '<w:tblLayout w:type="fixed"/><w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
           'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/></w:tblPr>'),
    row='<w:tr w:rsidR="00A62D30" w:rsidTr="0086551B"><w:trPr><w:trHeight w:val="397"/><w:jc w:val="center"/>',
    cell_properties='<w:vAlign w:val="center"/>',
    cell_paragraph=(f'<w:p {_RSID}><w:pPr><w:widowControl/><w:spacing w:line="280" w:lineRule="exact"/>'
                    f'<w:jc w:val="center"/><w:rPr>{_CELL_FONT}</w:rPr></w:pPr>'),
)

_WPS_PARAGRAPH = ('<w:pPr><w:keepNext w:val="0"/><w:keepLines w:val="0"/><w:widowControl/>'
                  '<w:suppressLineNumbers w:val="0"/>'
                  '<w:spacing w:before="0" w:beforeAutospacing="0" w:after="0" w:afterAutospacing="0" {line}/>{layout}'
                  '<w:rPr>{fonts}</w:rPr></w:pPr>')
_WPS_CELL_FONT = _fonts("宋体", 20, '<w:color w:val="000000"/><w:kern w:val="0"/>') + \
    '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar"/>'
_WPS_BORDERS = "".join(f'<w:{side} w:val="single" w:color="auto" w:sz="8" w:space="0"/>'
                       for side in ("top", "left", "bottom", "right"))
_WPS_NO_BORDERS = "".join(f'<w:{side} w:val="none" w:color="auto" w:sz="0" w:space="0"/>'
                          for side in ("top", "left", "bottom", "right", "insideH", "insideV"))

_WPS = Markup(
    root=(f"<w:document {_NAMESPACES} "
          'xmlns:wpsCustomData="http://www.wps.cn/officeDocument/2013/wpsCustomData" mc:Ignorable="w14 w15 wp14">'),
    paragraph={kind: "<w:p>" + _WPS_PARAGRAPH.format(line='w:line="560" w:lineRule="exact"', layout=layout,
                                                     fonts=_fonts(*_PROSE_FONTS[kind]))
               for kind, layout in _PROSE_LAYOUT.items()},
    run={
        **{kind: f"<w:r><w:rPr>{_fonts(*_PROSE_FONTS[kind])}</w:rPr>" for kind in _PROSE_LAYOUT},
        "label": f"<w:r><w:rPr>{_WPS_CELL_FONT}</w:rPr>",
        "value": f"<w:r><w:rPr>{_WPS_CELL_FONT}</w:rPr>",
    },
    table=(f'<w:tbl><w:tblPr><w:tblStyle w:val="3"/><w:tblW w:w="{_TEXT_WIDTH}" w:type="dxa"/><w:jc w:val="center"/>'
           f'<w:tblBorders>{_WPS_NO_BORDERS}</w:tblBorders><w:shd w:val="clear" w:color="auto" w:fill="auto"/>'
           '<w:tblLayout w:type="fixed"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="0" w:type="dxa"/>'
           '<w:bottom w:w="0" w:type="dxa"/><w:right w:w="0" w:type="dxa"/></w:tblCellMar></w:tblPr>'),
    row=(f'<w:tr><w:tblPrEx><w:tblBorders>{_WPS_NO_BORDERS}</w:tblBorders>'
         '<w:shd w:val="clear" w:color="auto" w:fill="auto"/></w:tblPrEx>'
         '<w:trPr><w:trHeight w:val="340" w:hRule="atLeast"/><w:jc w:val="center"/>'),
    cell_properties=(f'<w:tcBorders>{_WPS_BORDERS}</w:tcBorders><w:shd w:val="clear" w:color="auto" w:fill="auto"/>'
                     '<w:tcMar><w:left w:w="57" w:type="dxa"/><w:right w:w="57" w:type="dxa"/></w:tcMar>'
                     '<w:vAlign w:val="center"/>'),
    cell_paragraph="<w:p>" + _WPS_PARAGRAPH.format(
        line='w:beforeLines="0" w:afterLines="0"', layout='<w:ind w:left="0" w:right="0"/><w:jc w:val="center"/>',
        fonts=_WPS_CELL_FONT),
)
MARKUP = {"word": _WORD, "wps": _WPS}
_GO_BACK = '<w:bookmarkStart w:id="0" w:name="_GoBack"/><w:bookmarkEnd w:id="0"/>'
_LINE_BREAK = "<w:r><w:br/></w:r>"


# ---- document.xml ---------------------------------------------------------------------

def _text(text: str) -> str:
    """A <w:t>: spaces at either end kept, as Word marks them."""
    escaped = escape(text)
    if text != text.strip(" "):
        return f'<w:t xml:space="preserve">{escaped}</w:t>'
    return f"<w:t>{escaped}</w:t>"


def _runs(markup: Markup, kind: str, text: str, split: bool) -> str:
    """The text as one run, or two where the author's later edit cut it ('1' + '268', '本年' + '制发件数')."""
    run = markup.run[kind]
    if split and len(text) > 2:
        cut = 1 if kind == "value" else len(text) // 2
        return f"{run}{_text(text[:cut])}</w:r>{run}{_text(text[cut:])}</w:r>"
    return f"{run}{_text(text)}</w:r>"


def _paragraph(markup: Markup, kind: str, text: str) -> bytes:
    return f"{markup.paragraph[kind]}{_runs(markup, kind, text, False) if text else ''}</w:p>".encode()


def _revision(style: DocxStyle, number: int, kind: str, old: str, new: str) -> str:
    """Runs Word tracked: old deleted, new inserted, as a report copied from last year's and corrected shows them."""
    markup = MARKUP[style.producer]
    mark = f'w:author="{escape(style.author)}" w:date="{style.saved:%Y-%m-%dT%H:%M:00Z}"'
    return (f'<w:del w:id="{number}" {mark}>{markup.run[kind]}<w:delText>{escape(old)}</w:delText></w:r></w:del>'
            f'<w:ins w:id="{number + 1}" {mark}>{_runs(markup, kind, new, False)}</w:ins>')


@cache
def _cell_opening(producer: str, width: int, colspan: int, merge: str) -> str:
    """<w:tc> and its properties; merge is '', 'restart' (a row span's top cell) or 'continue' (covered below it)."""
    span = f'<w:gridSpan w:val="{colspan}"/>' if colspan > 1 else ""
    vmerge = {"": "", "restart": '<w:vMerge w:val="restart"/>', "continue": "<w:vMerge/>"}[merge]
    return (f'<w:tc><w:tcPr><w:tcW w:w="{width * colspan}" w:type="dxa"/>{span}{vmerge}'
            f"{MARKUP[producer].cell_properties}</w:tcPr>")


def _merge(cell: GridCell, flat: bool) -> str:
    return "" if flat else "continue" if cell.covered else "restart" if cell.rowspan > 1 else ""


@lru_cache(maxsize=8192)
def _cell(cell: GridCell, producer: str, flat: bool, wrap_with_breaks: bool, split_runs: bool, width: int) -> bytes:
    """One <w:tc>, encoded. Cached: the labels and the zeros of most cells repeat from report to report."""
    markup = MARKUP[producer]
    kind = "value" if cell.value else "label"
    lines = cell.text.split("\n")
    if len(lines) == 1:
        body = markup.cell_paragraph + (_runs(markup, kind, cell.text, split_runs) if cell.text else "") + "</w:p>"
    elif wrap_with_breaks:
        body = markup.cell_paragraph + _LINE_BREAK.join(_runs(markup, kind, line, False) for line in lines) + "</w:p>"
    else:
        body = "".join(markup.cell_paragraph + _runs(markup, kind, line, False) + "</w:p>" for line in lines)
    return (_cell_opening(producer, width, cell.colspan, _merge(cell, flat)) + body + "</w:tc>").encode()


def _revised_cell(cell: GridCell, style: DocxStyle, width: int, number: int) -> bytes:
    """A number cell whose figure was corrected with tracking on (last year's zero, or one, deleted)."""
    old = "1" if cell.text.strip() in ("0", "０") else "0"
    body = MARKUP[style.producer].cell_paragraph + _revision(style, number, "value", old, cell.text) + "</w:p>"
    return (_cell_opening(style.producer, width, cell.colspan, _merge(cell, style.flat)) + body + "</w:tc>").encode()


def _table(table: Table, style: DocxStyle, header_rows: int, first_revision: int) -> bytes:
    """A table; in a revised report its last row's numbers are tracked corrections, numbered from first_revision."""
    markup = MARKUP[style.producer]
    columns = sum(cell.colspan for cell in table[0])
    width = _TEXT_WIDTH // columns
    cell_style = (style.producer, style.flat, style.wrap_with_breaks, style.split_runs, width)
    parts = [markup.table, "<w:tblGrid>", f'<w:gridCol w:w="{width}"/>' * columns, "</w:tblGrid>"]
    out = ["".join(parts).encode()]
    revised_row = len(table) - 1 if style.revised else -1
    for index, row in enumerate(slots(table)):
        header = "<w:tblHeader/>" if index < header_rows else ""
        out.append(f"{markup.row}{header}</w:trPr>".encode())
        out += [_revised_cell(cell, style, width, first_revision + 2 * position)
                if index == revised_row and cell.value and cell.text.strip() else _cell(cell, *cell_style)
                for position, cell in enumerate(row)]
        out.append(b"</w:tr>")
    out.append(b"</w:tbl>")
    return b"".join(out)


def _line(style: DocxStyle, kind: str, line: str, year: int) -> str:
    """A line's runs; in a revised report the year in it is a tracked correction of the year before."""
    markup = MARKUP[style.producer]
    before, found, after = line.partition(str(year))
    if not (style.revised and found):
        return _runs(markup, kind, line, False)
    runs = [_runs(markup, kind, before, False)] if before else []
    runs.append(_revision(style, 2 * year, kind, str(year - 1), found))
    return "".join(runs + ([_runs(markup, kind, after, False)] if after else []))


def _title(content: Content, style: DocxStyle) -> list[bytes]:
    opening = MARKUP[style.producer].paragraph["title"]
    lines = [_line(style, "title", line, content.year) for line in content.title_lines]
    if style.title_break and len(lines) > 1:
        return [f"{opening}{_LINE_BREAK.join(lines)}</w:p>".encode()]
    return [f"{opening}{line}</w:p>".encode() for line in lines]


def _signature(content: Content, style: DocxStyle) -> list[bytes]:
    """The signature lines, right-aligned; Word leaves its _GoBack bookmark where the author stopped typing."""
    opening = MARKUP[style.producer].paragraph["signature"]
    lines = [_line(style, "signature", line, content.year + 1) for line in content.signature_lines]
    if lines and style.producer == "word":
        lines[-1] = _GO_BACK + lines[-1]
    return [f"{opening}{line}</w:p>".encode() for line in lines]


_SECTION = (
    b'<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="2098" w:right="1474" w:bottom="1984" '
    b'w:left="1588" w:header="851" w:footer="1304" w:gutter="0"/><w:cols w:space="425"/>'
    b'<w:docGrid w:type="lines" w:linePitch="312"/></w:sectPr></w:body></w:document>'
)


def document_xml(content: Content, style: DocxStyle) -> bytes:
    markup = MARKUP[style.producer]
    parts = [f"{_XML_DECLARATION}{markup.root}<w:body>".encode(), *_title(content, style)]
    empty = _paragraph(markup, "body", "")
    parts.append(empty)
    for number, block in enumerate(content.blocks):
        if isinstance(block, Paragraph):
            parts.append(_paragraph(markup, "heading" if block.text in content.headings else "body", block.text))
        else:
            header_rows = 3 if block.name == "requests" and style.header_repeats else 0
            # Word keeps a paragraph after every table; revision ids stay unique (the year's are in the thousands).
            parts += [_table(block.table, style, header_rows, 100 * number), empty]
    parts += [empty, *_signature(content, style), _SECTION]
    return b"".join(parts)


# ---- the package ----------------------------------------------------------------------

_CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
    '<Override PartName="/word/settings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>'
    '<Override PartName="/word/fontTable.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>{custom}</Types>'
)
_CUSTOM_TYPE = ('<Override PartName="/docProps/custom.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>')
_RELATIONSHIPS = '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>'
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = (
    f'<Relationship Id="rId3" Type="{_OFFICE}/extended-properties" Target="docProps/app.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    f'<Relationship Id="rId1" Type="{_OFFICE}/officeDocument" Target="word/document.xml"/>'
)
_DOCUMENT_RELATIONSHIPS = (
    f'<Relationship Id="rId3" Type="{_OFFICE}/fontTable" Target="fontTable.xml"/>'
    f'<Relationship Id="rId2" Type="{_OFFICE}/settings" Target="settings.xml"/>'
    f'<Relationship Id="rId1" Type="{_OFFICE}/styles" Target="styles.xml"/>'
)
_GRID_BORDERS = "".join(f'<w:{side} w:val="single" w:color="auto" w:sz="4" w:space="0"/>'
                        for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
_W_ROOT = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_STYLES = (
    f"<w:styles {_W_ROOT}><w:docDefaults><w:rPrDefault><w:rPr>"
    '<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="宋体" w:cs="Times New Roman"/>'
    '<w:kern w:val="2"/><w:sz w:val="21"/><w:szCs w:val="24"/><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/>'
    "</w:rPr></w:rPrDefault><w:pPrDefault/></w:docDefaults>"
    '<w:style w:type="paragraph" w:default="1" w:styleId="{normal}"><w:name w:val="Normal"/><w:qFormat/>'
    '<w:pPr><w:widowControl w:val="0"/><w:jc w:val="both"/></w:pPr></w:style>'
    '<w:style w:type="character" w:default="1" w:styleId="{font}"><w:name w:val="Default Paragraph Font"/>'
    "<w:semiHidden/></w:style>"
    '<w:style w:type="table" w:default="1" w:styleId="{table}"><w:name w:val="Normal Table"/><w:semiHidden/>'
    '<w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/>'
    '<w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/>'
    "</w:tblCellMar></w:tblPr></w:style>"
    '<w:style w:type="table" w:styleId="{grid}"><w:name w:val="Table Grid"/><w:basedOn w:val="{table}"/>'
    f"<w:tblPr><w:tblBorders>{_GRID_BORDERS}</w:tblBorders></w:tblPr></w:style></w:styles>"
)
#: Word names its built-in styles a1, a2, a3 … in Chinese installs; WPS numbers them.
_STYLE_IDS = {"word": {"normal": "a", "font": "a0", "table": "a1", "grid": "a3"},
              "wps": {"normal": "1", "font": "2", "table": "3", "grid": "4"}}
_SETTINGS = (
    f'<w:settings {_W_ROOT}><w:zoom w:percent="100"/><w:bordersDoNotSurroundHeader/><w:bordersDoNotSurroundFooter/>'
    '<w:defaultTabStop w:val="420"/><w:drawingGridVerticalSpacing w:val="156"/>'
    '<w:displayHorizontalDrawingGridEvery w:val="0"/><w:displayVerticalDrawingGridEvery w:val="2"/>'
    '<w:characterSpacingControl w:val="compressPunctuation"/><w:compat><w:spaceForUL/>'
    "<w:balanceSingleByteDoubleByteWidth/><w:doNotLeaveBackslashAlone/><w:ulTrailSpace/><w:doNotExpandShiftReturn/>"
    "<w:adjustLineHeightInTable/><w:useFELayout/></w:compat>{rsids}"
    '<w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/><w:decimalSymbol w:val="."/><w:listSeparator w:val=","/>'
    "</w:settings>"
)
_WORD_RSIDS = ('<w:rsids><w:rsidRoot w:val="00C41F7A"/><w:rsid w:val="0086551B"/><w:rsid w:val="00A62D30"/>'
               '<w:rsid w:val="00C41F7A"/></w:rsids>')
_FONT_NAMES = ("Times New Roman", "宋体", "仿宋_GB2312", "黑体", "方正小标宋简体")
_FONT_TABLE = (f"<w:fonts {_W_ROOT}>"
               + "".join(f'<w:font w:name="{name}"><w:charset w:val="86"/><w:family w:val="auto"/></w:font>'
                         for name in _FONT_NAMES)
               + "</w:fonts>")
_APPLICATION = {"word": ("Microsoft Office Word", "16.0000"), "wps": ("WPS Office_11.1.0.11294", "")}
_WPS_CUSTOM = (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="KSOProductBuildVer">'
    "<vt:lpwstr>2052-11.1.0.11294</vt:lpwstr></property></Properties>"
)


@dataclass(frozen=True)
class _Member:
    """A zip member, deflated and checksummed."""

    name: bytes
    crc: int
    size: int
    deflated: bytes


def _member(name: str, data: bytes) -> _Member:
    packer = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate, as zip stores it
    return _Member(name.encode("ascii"), zlib.crc32(data), len(data), packer.compress(data) + packer.flush())


@cache
def _fixed_parts(producer: str) -> tuple[_Member, ...]:
    """The members every document of a producer shares, deflated once, in the order it writes them."""
    app_name, app_version = _APPLICATION[producer]
    version = f"<AppVersion>{app_version}</AppVersion>" if app_version else ""
    app = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
           'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
           f"<Template>Normal.dotm</Template><TotalTime>0</TotalTime><Application>{app_name}</Application>"
           f"<DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>{version}</Properties>")
    relationships = _PACKAGE_RELATIONSHIPS
    if producer == "wps":
        relationships += f'<Relationship Id="rId4" Type="{_OFFICE}/custom-properties" Target="docProps/custom.xml"/>'
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES.format(custom=_CUSTOM_TYPE if producer == "wps" else ""),
        "_rels/.rels": _RELATIONSHIPS.format(relationships),
        "word/_rels/document.xml.rels": _RELATIONSHIPS.format(_DOCUMENT_RELATIONSHIPS),
        "word/settings.xml": _SETTINGS.format(rsids=_WORD_RSIDS if producer == "word" else ""),
        "word/styles.xml": _STYLES.format(**_STYLE_IDS[producer]),
        "word/fontTable.xml": _FONT_TABLE,
        "docProps/app.xml": app,
        **({"docProps/custom.xml": _WPS_CUSTOM} if producer == "wps" else {}),
    }
    return tuple(_member(name, (_XML_DECLARATION + xml).encode("utf-8")) for name, xml in parts.items())


def _core_properties(style: DocxStyle) -> bytes:
    stamp = style.saved.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        _XML_DECLARATION
        + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{escape(style.author)}</dc:creator><cp:lastModifiedBy>{escape(style.author)}</cp:lastModifiedBy>"
        f'<cp:revision>2</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
    ).encode("utf-8")


def _zip(members: list[_Member], when: tuple[int, int, int, int, int, int]) -> bytes:
    """The zip of deflated members, all dated `when`, as written on Windows: no extra fields, no data descriptors.

    zipfile cannot take members deflated beforehand, and deflating the shared parts again
    for every report cost a third of a report's time.
    """
    year, month, day, hour, minute, second = when
    dos_time, dos_date = (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day
    entries, directory, offset = [], [], 0
    for m in members:
        fields = struct.pack("<HHHHHIII", 20, 0, zipfile.ZIP_DEFLATED, dos_time, dos_date, m.crc, len(m.deflated),
                             m.size)
        local = b"PK\x03\x04" + fields + struct.pack("<HH", len(m.name), 0) + m.name
        directory.append(b"PK\x01\x02" + struct.pack("<H", 20) + fields
                         + struct.pack("<HHHHHII", len(m.name), 0, 0, 0, 0, 0, offset) + m.name)
        entries += [local, m.deflated]
        offset += len(local) + len(m.deflated)
    central = b"".join(directory)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), offset, 0)
    return b"".join(entries) + central + end


def render_package(content: Content, style: DocxStyle) -> bytes:
    """The .docx, its members dated as the producer dates them (so a seed gives the same bytes)."""
    when = _WORD_ZIP_TIME if style.producer == "word" else style.saved.timetuple()[:6]
    members = [*_fixed_parts(style.producer), _member("word/document.xml", document_xml(content, style)),
               _member("docProps/core.xml", _core_properties(style))]
    return _zip(members, when)
