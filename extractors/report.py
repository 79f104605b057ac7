"""One file in, one report out: the extractors' single entry point.

file bytes -> text (decode) -> paragraphs and rows (document, html) -> cells by code
(locate) + title, agency, year, signature (metadata). Nothing here interprets numbers:
every cell keeps the text it was printed with, and transforms/ turns it into facts.
DOCX, PDF and DOC files skip the decoding: their readers (docx, pdf, legacy_doc) make the
same paragraphs and rows from the container, so one path carries the numbers whatever it was.
Scans take it too: a scanned PDF's pages, an image file, or the pictures an HTML page shows its
tables as are OCRed (extractors/scan.py) and their text read by positions like a PDF's.
Which reader reads a file is the registry's choice (extractors/formats.py), by its suffix and bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from itertools import chain, repeat
from operator import attrgetter

from extractors.decode import DecodedText
from extractors.document import Document
from extractors.errors import EmptyFile, ExtractionError, MissingMetadata
from extractors.files import SourceFile
from extractors.formats import format_of
from extractors.locate import Cell, locate_tables
from extractors.metadata import read_metadata
from extractors.narrative import narrative_text

#: Bump when a change to extraction can change what a file yields: files loaded by an
#: older parser are then extracted again instead of being skipped as unchanged.
#: 2: DOCX, PDF and DOC readers (such files failed as binary under 1).
PARSER_VERSION = "4"

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


_REPORT_FIELDS = (
    "report_id", "source_path", "source_url", "sha256", "size_bytes", "agency", "year", "title", "signature_date",
    "template_version", "requests_template_version", "encoding", "encoding_source", "declared_encoding", "reader",
)


#: A Cell's fields, in the order of the cells frame's columns after report_id (transforms.facts.CELL_SCHEMA).
CELL_FIELDS = tuple(field.name for field in fields(Cell))


def cell_columns(reports: Sequence[ExtractedReport]) -> dict[str, list]:
    """The cells of `reports`, column by column with their report_id first: a frame is built from lists
    of one type twice as fast as from one dict per cell (0.14 -> 0.07 CPU ms per report)."""
    cells = [cell for report in reports for cell in report.cells]
    columns: dict[str, list] = {
        "report_id": list(chain.from_iterable(repeat(report.report_id, len(report.cells)) for report in reports))
    }
    columns.update((name, list(map(attrgetter(name), cells))) for name in CELL_FIELDS)
    return columns


def report_id_for(source: str) -> str:
    """A stable id per source (a crawled report's URL, else the file's path): a changed file replaces its report."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def read_documents(source: SourceFile) -> tuple[Iterator[Document], DecodedText]:
    """The file as paragraphs and rows, read by its format's reader (extractors/formats.py); a PDF may
    offer a second reading (by text positions) after its ruled grid, and an HTML page one with its
    pictures OCRed, tried when the first does not yield the tables."""
    if not source.data.strip():
        raise EmptyFile(source.path)
    documents, decoded = format_of(source).read(source)
    return documents, decoded or _NOT_DECODED


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
