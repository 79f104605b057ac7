"""HTML pages to paragraphs and rows, with lxml.

lxml's HTML parser is the one BeautifulSoup's lxml builder uses, without building a soup: on a
336 KB page exported from Word it takes 8 ms where a whole soup takes 110 ms. It is used
through lxml.etree, not lxml.html, whose per-element Python class lookup more than doubles
the parse and the walk (the tree is the same).
Tables that hold other tables are page layout: their cells are read as ordinary content.
rowspan/colspan are deliberately not expanded: the locator aligns values by labels.
Pictures (<img src>) are noted where they stand, so that a page showing its tables as pictures
can be read again with them OCRed in place (extractors/scan.py).
"""

from __future__ import annotations

from lxml import etree

from extractors.document import Block, Document, Paragraph, Row
from extractors.errors import NotAReport

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "select", "option", "button"})
_BLOCK = frozenset(
    {
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "section", "article",
        "header", "footer", "nav", "center", "blockquote", "pre", "tr", "td", "th", "table",
        "tbody", "thead", "tfoot", "dd", "dt", "dl", "form", "body", "main", "aside", "caption",
    }
)
_CELL_TAGS = frozenset({"td", "th"})


def _cell_text(cell: etree._Element, plain: bool = False) -> str:
    """The visible text of a cell: line breaks inside a label join without a gap.

    `plain`: its table holds no script, style or other skipped element, so lxml serialises the
    text in C (4x faster than gathering it here; a page has ~300 cells).
    """
    if plain:
        return " ".join(etree.tostring(cell, method="text", encoding=str, with_tail=False).split())
    parts = []
    for node in cell.iter():
        if node.tag in _SKIP or not isinstance(node.tag, str):
            if node is not cell and node.tail:
                parts.append(node.tail)
            continue
        if node.text:
            parts.append(node.text)
        if node is not cell and node.tail:
            parts.append(node.tail)
    return " ".join("".join(parts).split())


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        #: (index in blocks, src) of each picture, in reading order.
        self.pictures: list[tuple[int, str]] = []
        self._buffer: list[str] = []

    def flush(self) -> None:
        if not self._buffer:
            return
        text = " ".join("".join(self._buffer).split())
        if text:
            self.blocks.append(Paragraph(text))
        self._buffer.clear()

    def walk(self, element: etree._Element) -> None:
        # Each .tag, .text and .tail is a new Python string made by lxml: each is asked once.
        tag = element.tag
        if not isinstance(tag, str) or tag in _SKIP:
            return
        if tag == "table" and next(element.iterdescendants("table"), None) is None:
            self.flush()
            plain = next(element.iter(*_SKIP), None) is None
            for tr in element.iter("tr"):
                cells = tuple(_cell_text(c, plain) for c in tr if c.tag in _CELL_TAGS)
                if cells:
                    self.blocks.append(Row(cells))
            self.pictures.extend((len(self.blocks), img.get("src") or "") for img in element.iter("img"))
            return
        block = tag in _BLOCK
        if tag == "img":
            self.flush()
            self.pictures.append((len(self.blocks), element.get("src") or ""))
        if block or tag == "br":
            self.flush()
        text = element.text
        if text:
            self._buffer.append(text)
        for child in element:
            self.walk(child)
            tail = child.tail
            if tail:
                self._buffer.append(tail)
        if block:
            self.flush()


def _parser() -> etree.HTMLParser:
    # One per call: an lxml parser must not be shared between threads.
    return etree.HTMLParser(collect_ids=False)


def parse_html(path: str, text: str) -> Document:
    try:
        root = etree.fromstring(text, _parser())
        if root is None:
            raise etree.ParserError("Document is empty")
    except (etree.ParserError, ValueError) as exc:
        raise NotAReport(path, f"not an HTML document ({exc})") from exc
    title = root.findtext(".//title")
    walker = _Walker()
    body = root.find("body")
    walker.walk(body if body is not None else root)
    walker.flush()
    return Document(walker.blocks, reader="html/lxml", container_title=" ".join(title.split()) if title else None,
                    pictures=walker.pictures)
