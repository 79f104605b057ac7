"""One file in, one report out: the extractors' single entry point.

file bytes -> text (decode) -> paragraphs and rows (document, html) -> cells by code
(locate) + title, agency, year, signature (metadata). Nothing here interprets numbers:
every cell keeps the text it was printed with, and transforms/ turns it into facts.
DOCX, PDF and DOC files skip the decoding: their readers (docx, pdf, legacy_doc) make the
same paragraphs and rows from the container, so one path carries the numbers whatever it was.
Scans take it too: a scanned PDF's pages, an image file, or the pictures an HTML page shows its
tables as are OCRed (extractors/scan.py) and their text read by positions like a PDF's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from extractors.decode import DecodedText, decode_bytes
from extractors.document import Document
from extractors.text import parse_text
from extractors.docx import parse_docx
from extractors.errors import EmptyFile, ExtractionError, MissingMetadata
from extractors.files import SourceFile
from extractors.html import parse_html
from extractors.legacy_doc import OLE2_MAGIC, RTF_MAGIC, parse_doc
from extractors.locate import Cell, locate_tables
from extractors.metadata import read_metadata
from extractors.narrative import narrative_text
from extractors.pdf import parse_pdf
from extractors.scan import (
    IMAGE_SUFFIXES, crawled_pictures, html_with_pictures, is_image, local_pictures, read_image_file,
)

#: Bump when a change to extraction can change what a file yields: files loaded by an
#: older parser are then extracted again instead of being skipped as unchanged.
#: 2: DOCX, PDF and DOC readers (such files failed as binary under 1).
PARSER_VERSION = "3"

_HTML_SUFFIXES = frozenset({".htm", ".html", ".shtml", ".xhtml"})
_LOOKS_LIKE_HTML = re.compile(r"^\s*(<!doctype html|<html|<\?xml|<head|<meta|<body)", re.IGNORECASE)
_ZIP_MAGIC = b"PK\x03\x04"
#: What the binary containers record instead of a text encoding: they are not decoded as text.
_NOT_DECODED = DecodedText(text="", encoding=None, encoding_source=None, declared_encoding=None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ExtractedReport:
    report_id: str
    source_path: str
    #: Where a crawled report was downloaded from; None for a local file.
    source_url: str | None
    sha256: str
    size_bytes: int
    encoding: str
    encoding_source: str
    declared_encoding: str | None
    reader: str
    title: str | None
    agency: str | None
    year: int
    signature_date: date | None
    template_version: str
    requests_template_version: str
    cells: tuple[Cell, ...]
    #: The prose of the preamble and sections 一, 三, 四: what the report says its numbers are.
    narrative: str = ""

    def report_record(self, parser_version: str = PARSER_VERSION) -> dict[str, object]:
        """The report's metadata as plain data for the reports table."""
        record = {name: getattr(self, name) for name in _REPORT_FIELDS}
        record["parser_version"] = parser_version
        return record

    def cell_records(self) -> list[dict[str, object]]:
        return [
            {"report_id": self.report_id, **cell.__dict__}
            for cell in self.cells
        ]


_REPORT_FIELDS = (
    "report_id", "source_path", "source_url", "sha256", "size_bytes", "agency", "year", "title", "signature_date",
    "template_version", "requests_template_version", "encoding", "encoding_source", "declared_encoding", "reader",
)


def report_id_for(source: str) -> str:
    """A stable id per source (a crawled report's URL, else the file's path): a changed file replaces its report."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def container_of(source: SourceFile) -> str:
    """'pdf', 'docx', 'doc', 'image' or 'text' (text and HTML): by suffix, and by magic bytes where they tell.

    A .docx is always read as one (and refused when it is not a zip). A .doc may be Word 97-2003
    (OLE2), RTF, a DOCX, or an HTML page saved by Word under that name. Any file that starts as a
    PDF is read as one.
    """
    head = source.data[:1024]
    if source.suffix == ".pdf" or head.startswith(b"%PDF"):
        return "pdf"
    if source.suffix == ".docx":
        return "docx"
    if source.suffix in IMAGE_SUFFIXES or is_image(head):
        return "image"
    if head.startswith(OLE2_MAGIC) or (source.suffix == ".doc" and head.lstrip().startswith(RTF_MAGIC)):
        return "doc"
    if head.startswith(_ZIP_MAGIC) and (source.suffix == ".doc" or b"word/" in source.data[:65536]):
        return "docx"
    return "text"


def read_documents(source: SourceFile) -> tuple[Iterator[Document], DecodedText]:
    """The file as paragraphs and rows; a PDF may offer a second reading (by text positions) after
    its ruled grid, tried when the first does not yield the tables."""
    container = container_of(source)
    if container != "text" and not source.data.strip():
        raise EmptyFile(source.path)
    if container == "pdf":
        return parse_pdf(source.path, source.data), _NOT_DECODED
    if container == "docx":
        return iter([parse_docx(source.path, source.data)]), _NOT_DECODED
    if container == "doc":
        return iter([parse_doc(source.path, source.data)]), _NOT_DECODED
    if container == "image":
        return iter([read_image_file(source.path, source.data)]), _NOT_DECODED
    is_html = source.suffix in _HTML_SUFFIXES or bool(_LOOKS_LIKE_HTML.match(source.data[:512].decode("latin-1")))
    decoded = decode_bytes(source.path, source.data, is_html=is_html, http_charset=source.http_charset)
    if not is_html:
        return iter([parse_text(decoded.text)]), decoded
    return _html_documents(source, parse_html(source.path, decoded.text)), decoded


def _html_documents(source: SourceFile, document: Document) -> Iterator[Document]:
    """The page as it is, then, when that does not yield the tables, with its pictures OCRed in place:
    a local page's files beside it, a crawled page's the crawl downloaded into the raw store."""
    yield document
    find = crawled_pictures if source.url else local_pictures
    pictures = find(source.path, document.pictures)
    if pictures:
        yield html_with_pictures(source.path, document, pictures)


def read_document(source: SourceFile) -> tuple[Document, DecodedText]:
    """Decode and parse; a .txt that is really an HTML page is read as HTML."""
    documents, decoded = read_documents(source)
    return next(documents), decoded


def text_yields_report(source: SourceFile) -> bool:
    """Whether a page's own text, its pictures left unread, makes a report: if not, a crawl fetches its pictures."""
    try:
        document, decoded = read_document(source)
        _extract(source, document, decoded)
    except ExtractionError:
        return False
    return True


def extract_report(source: SourceFile) -> ExtractedReport:
    documents, decoded = read_documents(source)
    first_error: ExtractionError | None = None
    for document in documents:
        try:
            return _extract(source, document, decoded)
        except ExtractionError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def _extract(source: SourceFile, document: Document, decoded: DecodedText) -> ExtractedReport:
    metadata = read_metadata(document)
    if metadata.year is None:
        raise MissingMetadata(
            source.path,
            "no report year found in the title (expected a title such as "
            "'XX局2023年政府信息公开工作年度报告' or '关于2020年度政府信息公开工作的报告')",
        )
    fallback = "2021" if metadata.year >= 2021 else "2019"
    tables = locate_tables(document, source.path, fallback_version=fallback)
    return ExtractedReport(
        report_id=report_id_for(source.url or source.path),
        source_path=source.path,
        source_url=source.url,
        sha256=source.sha256,
        size_bytes=len(source.data),
        encoding=decoded.encoding,
        encoding_source=decoded.encoding_source,
        declared_encoding=decoded.declared_encoding,
        reader=document.reader,
        title=metadata.title,
        agency=metadata.agency,
        year=metadata.year,
        signature_date=metadata.signature_date,
        template_version=tables.active_template,
        requests_template_version=tables.requests_template,
        cells=tuple(tables.cells),
        narrative=narrative_text(document),
    )
