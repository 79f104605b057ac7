"""What a gov site wraps around a report: head, navigation, footer, and the bulk that makes pages heavy.

Pages exported from Word onto gov sites weigh 100-350 KB, mostly inline styles, site CSS
and scripts, and Word's own XML; a benchmark on 20 KB pages would flatten the parser.
The bulk is ASCII drawn from pools built once from a fixed seed, so a page's size can be
set to a target without encoding anything twice, and the same seed gives the same bytes.
"""

from __future__ import annotations

import random
from functools import cache

#: Word's latent style names (a real export lists ~370 of these in a conditional comment).
_WORD_STYLES = (
    "Normal", "heading 1", "heading 2", "heading 3", "heading 4", "heading 5", "heading 6", "heading 7",
    "heading 8", "heading 9", "index 1", "index 2", "toc 1", "toc 2", "toc 3", "Normal Indent", "footnote text",
    "annotation text", "header", "footer", "caption", "table of figures", "envelope address", "footnote reference",
    "line number", "page number", "endnote reference", "endnote text", "table of authorities", "macro", "Title",
    "Closing", "Signature", "Default Paragraph Font", "Body Text", "Body Text Indent", "List Continue", "Subtitle",
    "Salutation", "Date", "Body Text First Indent", "Note Heading", "Block Text", "Hyperlink", "Strong", "Emphasis",
    "Document Map", "Plain Text", "Normal (Web)", "HTML Acronym", "HTML Address", "Normal Table", "Table Grid",
    "Light Shading", "Light List", "Light Grid", "Medium Shading 1", "Medium List 1", "Medium Grid 1", "Dark List",
    "Colorful Shading", "Colorful List", "Colorful Grid", "Subtle Emphasis", "Intense Emphasis", "Book Title",
)
_CSS_PROPERTIES = (
    "color:#333", "color:#1a5ea8", "font-size:14px", "font-size:16px", "line-height:28px", "margin:0 auto",
    "padding:0 12px", "float:left", "overflow:hidden", "text-align:center", "background:#f5f5f5",
    "border-bottom:1px solid #ddd", "width:1200px", "height:36px", "display:block", "position:relative",
    "font-family:Microsoft YaHei", "cursor:pointer", "white-space:nowrap", "text-overflow:ellipsis",
)
_CSS_SELECTORS = ("nav", "top-bar", "header", "footer", "article", "list", "news", "column", "banner", "menu", "sub")
POOL_BYTES = 420_000


def _css_rule(rng: random.Random) -> str:
    selector = f".{rng.choice(_CSS_SELECTORS)}-{rng.randrange(1000)} {rng.choice(('a', 'li', 'span', 'p', 'div', 'ul'))}"
    properties = ";".join(rng.sample(_CSS_PROPERTIES, rng.randint(3, 8)))
    return f"{selector}{{{properties}}}"


def _js_line(rng: random.Random) -> str:
    n = rng.randrange(10_000)
    return (
        f"function f{n}(a,b){{var c=document.getElementById('x{n}');if(c){{c.style.display=a?'block':'none';}}"
        f"for(var i=0;i<b;i++){{c&&c.setAttribute('data-i',i);}}return b+{n};}}"
    )


def _latent_style(rng: random.Random) -> str:
    name = rng.choice(_WORD_STYLES)
    return (
        f'  <w:LsdException Locked="false" Priority="{rng.randrange(100)}" SemiHidden="true" '
        f'UnhideWhenUsed="true" Name="{name}"/>'
    )


@cache
def pool(kind: str) -> tuple[bytes, tuple[int, ...]]:
    """(ASCII text of about POOL_BYTES, offsets of its line starts): one pool per kind, same every run."""
    rng = random.Random(f"nianbao-chrome-{kind}")
    make = {"css": _css_rule, "js": _js_line, "word": _latent_style}[kind]
    lines, offsets, size = [], [], 0
    while size < POOL_BYTES:
        line = make(rng) + "\n"
        offsets.append(size)
        lines.append(line)
        size += len(line)
    return "".join(lines).encode("ascii"), tuple(offsets)


def bulk(rng: random.Random, kind: str, size: int) -> bytes:
    """About size bytes of whole lines from the pool, starting at a random line."""
    text, offsets = pool(kind)
    if size <= 0:
        return b""
    size = min(size, len(text) // 2)
    start = offsets[rng.randrange(len(offsets) // 2)]
    end = text.find(b"\n", start + size)
    return text[start : end + 1]


def word_xml(bulk_bytes: bytes) -> bytes:
    """Word's latent styles, wrapped the way they survive in pasted HTML."""
    return (
        b"<!--[if gte mso 9]><xml>\n <w:LatentStyles DefLockedState=\"false\" LatentStyleCount=\"371\">\n"
        + bulk_bytes
        + b" </w:LatentStyles>\n</xml><![endif]-->\n"
    )


NAV_ITEMS = ("首页", "走进本地", "新闻动态", "政务公开", "政务服务", "互动交流", "专题专栏", "数据发布", "公开指南",
             "公开目录", "公开年报", "领导之窗")


def charset_meta(label: str | None, html5: bool) -> str:
    if label is None:
        return ""
    if html5:
        return f'<meta charset="{label}">\n'
    return f'<meta http-equiv="Content-Type" content="text/html; charset={label}" />\n'


def modern_top(site: str, column: str, rng: random.Random) -> str:
    items = "".join(
        f'<li><a href="/col/col{10 * i}/index.html">{name}</a></li>\n' for i, name in enumerate(NAV_ITEMS[: rng.randint(8, 12)])
    )
    return (
        f'<div class="top-bar"><div class="w1200"><span class="welcome">欢迎访问{site}网站！</span>\n'
        '<span class="top-links"><a href="/col/col1/index.html">无障碍浏览</a> | '
        '<a href="/col/col2/index.html">长者模式</a></span></div></div>\n'
        f'<div class="header"><div class="w1200"><a href="/" class="logo"><img src="/images/logo.png" alt="{site}"></a>\n'
        '<form class="search" action="/search/index.html" method="get"><input type="text" name="q" placeholder="请输入关键字">'
        '<button type="submit">搜索</button></form></div></div>\n'
        f'<div class="nav"><div class="w1200"><ul>\n{items}</ul></div></div>\n'
        f'<div class="w1200 main">\n<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/col/col30/index.html">政务公开</a>'
        f' &gt; <a href="/col/col36/index.html">{column}</a></div>\n'
    )


def legacy_top(site: str, rng: random.Random) -> str:
    links = "|".join(f'<a href="/plus/list.php?tid={i}">{name}</a>' for i, name in enumerate(NAV_ITEMS[: rng.randint(8, 12)]))
    return (
        '<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0">\n'
        f'<tr><td height="120"><img src="/templets/default/images/logo.png" width="480" height="80" alt="{site}" /></td></tr>\n'
        f'<tr><td height="36" bgcolor="#1a5ea8" class="nav">{links}</td></tr>\n</table>\n'
    )


def related_links(agency: str, year: int) -> str:
    items = "".join(
        f'<li><a href="/art/{y + 1}/1/20/art_36_{y}.html">{agency}{y}年政府信息公开工作年度报告</a></li>\n'
        for y in range(year - 1, max(2018, year - 4), -1)
    )
    return f'<div class="related"><h3>相关链接</h3><ul>\n{items}</ul></div>\n'


def footer(site: str, copyright_sign: str, rng: random.Random) -> str:
    code = rng.randrange(10**9, 10**10)
    return (
        '<div class="footer"><div class="w1200">\n'
        '<p><a href="/col/col70/index.html">网站地图</a> | <a href="/col/col71/index.html">联系我们</a> | '
        '<a href="/col/col72/index.html">隐私声明</a></p>\n'
        f'<p>版权所有 {copyright_sign} {site}　主办单位：{site}办公室</p>\n'
        f'<p>网站标识码：{code}　<a href="https://beian.miit.gov.cn/" target="_blank">ICP备{code % 10**8:08d}号-1</a></p>\n'
        '</div></div>\n'
    )
