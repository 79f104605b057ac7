"""Reports as gov sites publish them: Word or WPS HTML inside site chrome, in the page's encoding.

Content skins: 'word' and 'wps' put long inline styles on every cell and paragraph the way
those exports do; 'cms' is an editor's lighter markup. Chrome is a modern div layout or a
legacy layout table. Tables keep Word's rowspans, or come 'flat' with the covered cells
printed empty. The page is encoded piece by piece (the codecs are stateless, so the bytes
are those of encoding the whole) and padded with ASCII bulk to a target size.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

from corpus import chrome
from corpus.document import Content, Paragraph
from corpus.grid import GridCell, Table, slots

MIN_PAGE_BYTES = 100_000
MAX_PAGE_BYTES = 350_000
#: Target sizes: most pages near the lower middle of the range, a tail of heavy ones (the heaviest
#: content, a WPS table of the 2021 template, is about 280 KB before any padding).
_TARGET = (105_000, 340_000, 175_000)
SKINS = ("word", "wps", "cms")

_WORD_TD = (
    'valign="center" style="width:{pt}pt;border:solid windowtext 1.0pt;border-top:none;mso-border-top-alt:solid windowtext .5pt;'
    'mso-border-alt:solid windowtext .5pt;padding:0cm 5.4pt 0cm 5.4pt"><p class="MsoNormal" align="center" '
    'style="text-align:center;line-height:15.0pt;mso-line-height-rule:exactly"><span{lang} style="font-size:10.5pt;'
    "font-family:宋体;mso-ascii-font-family:'Times New Roman';color:black\">"
)
_WPS_TD = (
    'valign="center" style="padding:0.0000pt 5.4000pt 0.0000pt 5.4000pt ;border-left:0.5000pt solid rgb(0,0,0);'
    "mso-border-left-alt:0.5000pt solid rgb(0,0,0);border-right:0.5000pt solid rgb(0,0,0);mso-border-right-alt:0.5000pt "
    "solid rgb(0,0,0);border-top:none;mso-border-top-alt:0.5000pt solid rgb(0,0,0);border-bottom:0.5000pt solid rgb(0,0,0);"
    'mso-border-bottom-alt:0.5000pt solid rgb(0,0,0);"><p class="MsoNormal" align="center" style="text-align:center;'
    "mso-pagination:widow-orphan;\"><span{lang} style=\"mso-spacerun:'yes';font-family:宋体;mso-ascii-font-family:Calibri;"
    'mso-hansi-font-family:Calibri;font-size:10.5000pt;mso-font-kerning:0.0000pt;">'
)
_CMS_TD = 'style="border:1px solid #000000;text-align:center;vertical-align:middle;padding:2px 4px;font-size:14px">'
_CELL_OPEN = {"word": _WORD_TD, "wps": _WPS_TD, "cms": _CMS_TD}
_CELL_CLOSE = {
    "word": "<o:p></o:p></span></p></td>",
    "wps": "</span><span style=\"mso-spacerun:'yes';font-family:宋体;font-size:10.5000pt;\"><o:p></o:p></span></p></td>",
    "cms": "</td>",
}
_PARAGRAPH = {
    "word": ('<p class="MsoNormal" style="text-indent:32.0pt;line-height:28.0pt;mso-line-height-rule:exactly">'
             '<span style="font-size:16.0pt;font-family:仿宋_GB2312">', "</span></p>\n"),
    "wps": ('<p class="MsoNormal" style="text-indent:32.0000pt;mso-char-indent-count:2.0000;line-height:28.0000pt;'
            "mso-line-height-rule:exactly;\"><span style=\"mso-spacerun:'yes';font-family:仿宋_GB2312;font-size:16.0000pt;"
            'mso-font-kerning:1.0000pt;">', "</span></p>\n"),
    "cms": ('<p style="text-indent:2em;line-height:2;">', "</p>\n"),
}
_HEADING = {
    "word": ('<p class="MsoNormal" style="text-indent:32.0pt;line-height:28.0pt;mso-line-height-rule:exactly"><b>'
             '<span style="font-size:16.0pt;font-family:黑体">', "</span></b></p>\n"),
    "wps": ('<p class="MsoNormal" style="text-indent:32.0000pt;line-height:28.0000pt;"><b><span style="font-family:黑体;'
            'font-size:16.0000pt;">', "</span></b></p>\n"),
    "cms": ('<p style="text-indent:2em;"><strong>', "</strong></p>\n"),
}
_TITLE = {
    "word": ('<p class="MsoNormal" align="center" style="text-align:center;line-height:28.0pt;mso-line-height-rule:exactly">'
             '<b><span style="font-size:22.0pt;font-family:方正小标宋简体">', "</span></b></p>\n"),
    "wps": ('<p class="MsoNormal" align="center" style="text-align:center;"><b><span style="font-family:方正小标宋简体;'
            'font-size:22.0000pt;">', "</span></b></p>\n"),
    "cms": ('<p style="text-align:center;font-size:22px;"><strong>', "</strong></p>\n"),
}
_SIGNATURE = {
    "word": ('<p class="MsoNormal" align="right" style="text-align:right;line-height:28.0pt"><span style="font-size:16.0pt;'
             'font-family:仿宋_GB2312">', "</span></p>\n"),
    "wps": ('<p class="MsoNormal" align="right" style="text-align:right;"><span style="font-family:仿宋_GB2312;'
            'font-size:16.0000pt;">', "</span></p>\n"),
    "cms": ('<p style="text-align:right;">', "</p>\n"),
}


@dataclass(frozen=True)
class PageStyle:
    skin: str
    legacy_chrome: bool
    #: Covered cells printed as empty cells instead of rowspans.
    flat: bool
    html5: bool
    target_bytes: int


def page_style(rng: random.Random) -> PageStyle:
    return PageStyle(
        skin=rng.choices(SKINS, (50, 25, 25))[0],
        legacy_chrome=rng.random() < 0.3,
        flat=rng.random() < 0.25,
        html5=rng.random() < 0.5,
        target_bytes=int(rng.triangular(*_TARGET)),
    )


@cache
def _cell_open(skin: str, colspan: int, rowspan: int, value: bool) -> str:
    span = (f' colspan="{colspan}"' if colspan > 1 else "") + (f' rowspan="{rowspan}"' if rowspan > 1 else "")
    width = 52 * colspan
    opening = _CELL_OPEN[skin].replace("{pt}", f"{width * 0.75:.2f}").replace("{lang}", ' lang="EN-US"' if value else "")
    return f'<td{span} width="{width}" {opening}'


#: Word splits a number into runs where it was edited: '1' and '268' in two spans.
_WORD_RUN_BREAK = '</span><span lang="EN-US" style="font-size:10.5pt;font-family:宋体;color:black">'


def _cell_html(cell: GridCell, skin: str, flat: bool) -> str:
    if not cell.text.strip():
        text = "" if skin == "cms" else "&nbsp;"
    elif skin == "word" and cell.value and len(cell.text) > 2:
        text = cell.text[0] + _WORD_RUN_BREAK + cell.text[1:]
    else:
        text = cell.text.replace("\n", "<br>")
    return _cell_open(skin, cell.colspan, 1 if flat else cell.rowspan, cell.value) + text + _CELL_CLOSE[skin]


def table_html(table: Table, skin: str, flat: bool) -> str:
    rows = []
    for row in slots(table):
        cells = (_cell_html(c, skin, flat) for c in row if flat or not c.covered)
        rows.append("  <tr>\n   " + "\n   ".join(cells) + "\n  </tr>\n")
    return (
        '<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" style="border-collapse:collapse;'
        'border:none;mso-border-alt:solid windowtext .5pt;mso-yfti-tbllook:1184;mso-padding-alt:0cm 5.4pt 0cm 5.4pt">\n'
        " <tbody>\n" + "".join(rows) + " </tbody>\n</table>\n"
    )


def _article(content: Content, style: PageStyle) -> str:
    skin = style.skin
    parts = ['<div class="WordSection1" style="layout-grid:15.6pt">\n']
    parts += [_TITLE[skin][0] + line + _TITLE[skin][1] for line in content.title_lines]
    for block in content.blocks:
        if isinstance(block, Paragraph):
            opening, closing = _HEADING[skin] if block.text in content.headings else _PARAGRAPH[skin]
            parts.append(opening + block.text + closing)
        else:
            parts.append(table_html(block.table, skin, style.flat))
    parts += [_SIGNATURE[skin][0] + line + _SIGNATURE[skin][1] for line in content.signature_lines]
    parts.append("</div>\n")
    return "".join(parts)


def render_page(
    content: Content, style: PageStyle, encoding: str, declared: str | None, html_title: str, column: str,
    rng: random.Random,
) -> bytes:
    """The page as bytes in `encoding`, declaring `declared` (or nothing), padded towards the target size."""
    site, agency, year = content.site, content.agency, content.year
    doctype = "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n" if style.html5 else (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">\n'
    )
    head = (
        doctype + "<head>\n" + chrome.charset_meta(declared, style.html5)
        + f"<title>{html_title}</title>\n"
        + f'<meta name="SiteName" content="{site}">\n<meta name="ColumnName" content="{column}">\n'
        + f'<meta name="ArticleTitle" content="{html_title}">\n'
        + '<link rel="stylesheet" href="/images/css/common.css">\n<style type="text/css">\n'
    )
    top = "</style>\n</head>\n<body>\n" + (
        chrome.legacy_top(site, rng) if style.legacy_chrome else chrome.modern_top(site, column, rng)
    )
    article = (
        f'<div class="article"><h1 class="article-title">{"".join(content.title_lines)}</h1>\n'
        f'<div class="article-info"><span>发布时间：{year + 1}-01-{rng.randint(10, 31)} 09:{rng.randint(10, 59)}</span>'
        f"<span>信息来源：{agency}</span></div>\n"
        '<div class="article-content" id="zoom">\n'
    )
    if style.legacy_chrome:
        article = '<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0"><tr><td>\n' + article
    article_html = _article(content, style)
    tail = "</div></div>\n" + ("</td></tr></table>\n" if style.legacy_chrome else "") + (
        chrome.related_links(agency, year)
        + chrome.footer(site, "©" if encoding != "gbk" else "&copy;", rng)
        + '<script type="text/javascript">\n'
    )
    end = "</script>\n</body>\n</html>\n"
    pieces = [p.encode(encoding) for p in (head, top + article, article_html, tail, end)]
    spare = style.target_bytes - sum(len(p) for p in pieces)
    css, word, js = (chrome.bulk(rng, kind, int(spare * share)) for kind, share in (("css", 0.4), ("word", 0.35), ("js", 0.25)))
    return b"".join((pieces[0], css, pieces[1], chrome.word_xml(word) if word else b"", pieces[2], pieces[3], js, pieces[4]))
