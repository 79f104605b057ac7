"""WordprocessingML of a synthetic report: each producer's fixed markup (Word's rsids and split runs,
WPS's borders and shading on every cell) and document.xml joined from cell, run and paragraph XML
built once and cached."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from xml.sax.saxutils import escape

from corpus.document import Content, Paragraph
from corpus.docx_style import DocxStyle
from corpus.grid import GridCell, Table, slots

#: A4 width less Word's default 3.17 cm margins, in twentieths of a point.
_TEXT_WIDTH = 8306


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
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'


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
    parts = [f"{XML_DECLARATION}{markup.root}<w:body>".encode(), *_title(content, style)]
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

