"""DOCX reports to paragraphs and rows: the main document part's XML read with lxml (python-docx's parser).

A .docx is a zip of XML parts, so the zip is checked before it is opened: a file that
is not a zip, a zip bomb (a member that inflates far beyond its compressed size, or parts
adding up to more than any report needs) and an oversized member are refused with an
UnsafeArchive or UnreadableContainer error. The limits apply to the sizes the zip declares,
and Python's zipfile never inflates a member past its declared size (it stops there and the
CRC check fails), so a zip that lies about its sizes cannot get past them either.

XML: only the package's relationships, its content types and the main document part are parsed,
with python-docx's own lxml parser, built with resolve_entities=False, and lxml parsers never
load from the network (no_network=True is lxml's default). Neither DTDs nor external entities
are ever fetched; no other part (images, linked targets, hyperlinks) is opened.

A table that holds other tables is page layout: its cells are read as content.

Text is what the final document shows, which python-docx's Paragraph.text is not: it keeps only
runs that are direct children of the paragraph or a hyperlink, so a report published with its
tracked changes unaccepted lost every corrected number and year (they sit in <w:ins>), and so
did runs in smart tags, simple fields and inline content controls. Every run of the paragraph is
read, except deleted or moved-away text and text boxes (read as paragraphs of their own).

Merged cells: tables are read from their XML (w:tr, w:tc), not through python-docx's Row.cells,
which returns a cell spanning several grid columns once per column and the top cell of a vertical
merge again in each row it spans. Each <w:tc> is read once, where it starts (a vertical merge's
continuations, vMerge="continue", are skipped), as HTML's rowspan/colspan would print it; the
locator aligns values by labels, not positions.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator

from lxml import etree

from extractors.document import Block, Document, Paragraph, Row
from extractors.errors import UnreadableContainer, UnsafeArchive

READER = "docx/python-docx"

#: A report's document.xml is well under 5 MB; images can be a few MB each.
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_MEMBERS = 5000
#: Word's XML deflates 5-30x; a zip bomb's members hundreds or thousands of times.
MAX_RATIO = 200
#: Members smaller than this are not judged by their ratio: a tiny part can compress very well.
RATIO_CHECKED_FROM_BYTES = 1024 * 1024

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_P, _TBL, _SDT, _SDT_CONTENT = f"{{{_W}}}p", f"{{{_W}}}tbl", f"{{{_W}}}sdt", f"{{{_W}}}sdtContent"
_TXBX_CONTENT, _FALLBACK = f"{{{_W}}}txbxContent", f"{{{_MC}}}Fallback"
_CUSTOM_XML = f"{{{_W}}}customXml"
_R, _TR, _TC, _BODY = f"{{{_W}}}r", f"{{{_W}}}tr", f"{{{_W}}}tc", f"{{{_W}}}body"
_V_MERGE_PATH, _VAL = f"{{{_W}}}tcPr/{{{_W}}}vMerge", f"{{{_W}}}val"
_T, _BR, _TYPE = f"{{{_W}}}t", f"{{{_W}}}br", f"{{{_W}}}type"
#: Run children that stand for one character, as python-docx reads them.
_RUN_CHARACTERS = {f"{{{_W}}}tab": "\t", f"{{{_W}}}ptab": "\t", f"{{{_W}}}cr": "\n", f"{{{_W}}}noBreakHyphen": "-"}
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_CT_OVERRIDE = "{http://schemas.openxmlformats.org/package/2006/content-types}Override"
_CT_DEFAULT = "{http://schemas.openxmlformats.org/package/2006/content-types}Default"
_WML_DOCUMENT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
#: Runs under these are not the paragraph's own visible text.
_NOT_SHOWN_INLINE = frozenset({f"{{{_W}}}del", f"{{{_W}}}moveFrom", _TXBX_CONTENT, _FALLBACK})


def check_zip(path: str, data: bytes, *, what: str = "DOCX") -> None:
    """Refuse what is not a zip, and a zip that would inflate past the limits."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise UnreadableContainer(path, f"not a {what} file: it is not a zip archive (a .docx is a zip of XML parts)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableContainer(path, f"not a readable {what} file: broken zip archive ({exc})") from exc
    if len(members) > MAX_MEMBERS:
        raise UnsafeArchive(path, f"refused: the zip has {len(members)} members (limit {MAX_MEMBERS})")
    total = 0
    for member in members:
        size, packed = member.file_size, member.compress_size
        if size > MAX_MEMBER_BYTES:
            raise UnsafeArchive(
                path, f"refused: zip member {member.filename!r} inflates to {size} bytes (limit {MAX_MEMBER_BYTES})"
            )
        if size >= RATIO_CHECKED_FROM_BYTES and size > MAX_RATIO * max(packed, 1):
            raise UnsafeArchive(
                path,
                f"refused as a zip bomb: member {member.filename!r} inflates {size // max(packed, 1)}x "
                f"({packed} -> {size} bytes; limit {MAX_RATIO}x)",
            )
        total += size
        if total > MAX_TOTAL_BYTES:
            raise UnsafeArchive(
                path, f"refused as a zip bomb: the members inflate to more than {MAX_TOTAL_BYTES} bytes in all"
            )


def _shown(run: etree._Element, p: etree._Element) -> bool:
    for ancestor in run.iterancestors():
        if ancestor is p:
            return True
        if ancestor.tag in _NOT_SHOWN_INLINE:
            return False
    return True


def _run_text(run: etree._Element) -> str:
    """A run's text as python-docx's Run.text gives it (w:t, tabs, line breaks, hyphens), read from
    the run's children directly: its XPath query per run was most of the time left after tables."""
    parts = []
    for child in run.iterchildren():
        tag = child.tag
        if tag == _T:
            parts.append(child.text or "")
        elif tag in _RUN_CHARACTERS:
            parts.append(_RUN_CHARACTERS[tag])
        elif tag == _BR and child.get(_TYPE, "textWrapping") == "textWrapping":
            parts.append("\n")  # a page or column break adds nothing
    return "".join(parts)


def _paragraph_text(p: etree._Element) -> str:
    """The paragraph's text as the final document shows it, tracked insertions included, whitespace collapsed."""
    return " ".join("".join(_run_text(run) for run in p.iter(_R) if _shown(run, p)).split())


def _cell_text(tc: etree._Element) -> str:
    return " ".join(text for p in tc.iterchildren(_P) if (text := _paragraph_text(p)))


def _text_box_paragraphs(p: etree._Element) -> Iterator[etree._Element]:
    """Paragraphs inside text boxes anchored in p (titles are sometimes set in one), once each.

    Word stores a text box twice, as DrawingML and as a VML fallback; the fallback is skipped.
    """
    for box in p.iter(_TXBX_CONTENT):
        if any(ancestor.tag == _FALLBACK for ancestor in box.iterancestors()):
            continue
        yield from (child for child in box.iter(_P))


def _cells(tbl: etree._Element) -> Iterator[list[etree._Element]]:
    """Each row's <w:tc> elements that start a cell: a horizontal span (gridSpan) is one <w:tc>
    already, and a vertical merge's continuation (vMerge without val, or val="continue") is left
    out, its text being the top cell's. The XML is read directly: python-docx's Row.cells resolves
    every continuation to the cell above, which cost most of a DOCX's reading time."""
    for tr in tbl.iterchildren(_TR):
        yield [tc for tc in tr.iterchildren(_TC) if not _continues_merge(tc)]


def _continues_merge(tc: etree._Element) -> bool:
    v_merge = tc.find(_V_MERGE_PATH)
    return v_merge is not None and v_merge.get(_VAL, "continue") == "continue"


def _table_rows(tbl: etree._Element) -> Iterator[Row]:
    for tcs in _cells(tbl):
        if tcs:
            yield Row(tuple(_cell_text(tc) for tc in tcs))


def _layout_table(tbl: etree._Element) -> Iterator[Block]:
    """A table holding other tables is page layout (a whole report set in one cell): its cells are
    read as content, in order, as the HTML reader does."""
    for tcs in _cells(tbl):
        for tc in tcs:
            yield from _blocks(tc)


def _blocks(container: etree._Element) -> Iterator[Block]:
    for child in container.iterchildren():
        if child.tag == _P:
            for inner in _text_box_paragraphs(child):
                if text := _paragraph_text(inner):
                    yield Paragraph(text)
            if text := _paragraph_text(child):
                yield Paragraph(text)
        elif child.tag == _TBL and any(True for _ in child.iterdescendants(_TBL)):
            yield from _layout_table(child)
        elif child.tag == _TBL:
            yield from _table_rows(child)
        elif child.tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _blocks(content)
        elif child.tag == _CUSTOM_XML:
            yield from _blocks(child)


def _main_part(archive: zipfile.ZipFile) -> etree._Element:
    """The package's main document part (word/document.xml, wherever its relationships put it),
    refused unless its content type is a Word document's, as python-docx refuses it. Only this part
    is parsed: opening the whole package with python-docx parsed every part (styles, settings,
    fonts), most of a DOCX's time once its tables were read directly."""
    from docx.oxml.parser import parse_xml

    relationships = parse_xml(archive.read("_rels/.rels"))
    target = next((r.get("Target") for r in relationships.iter(_RELATIONSHIP)
                   if r.get("Type") == _OFFICE_DOCUMENT and r.get("TargetMode") != "External"), None)
    if not target:
        raise KeyError("the package names no main document part")
    name = posixpath.normpath("/" + target).lstrip("/")
    types = parse_xml(archive.read("[Content_Types].xml"))
    by_part = {o.get("PartName", "").lower(): o.get("ContentType") for o in types.iter(_CT_OVERRIDE)}
    by_extension = {d.get("Extension", "").lower(): d.get("ContentType") for d in types.iter(_CT_DEFAULT)}
    content_type = by_part.get("/" + name.lower()) or by_extension.get(posixpath.splitext(name)[1][1:].lower())
    if content_type != _WML_DOCUMENT:
        raise ValueError(f"not a Word file: its main part {name} is {content_type}")
    return parse_xml(archive.read(name))


def parse_docx(path: str, data: bytes, *, reader: str = READER) -> Document:
    check_zip(path, data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            root = _main_part(archive)
    except (KeyError, ValueError, zipfile.BadZipFile, etree.XMLSyntaxError) as exc:
        raise UnreadableContainer(path, f"not a readable Word document ({type(exc).__name__}: {exc})") from exc
    body = root.find(_BODY)
    if body is None:
        raise UnreadableContainer(path, "not a readable Word document: its main part has no body")
    return Document(list(_blocks(body)), reader=reader)
