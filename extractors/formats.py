"""Every file format nianbao reads, in one table: the registry of readers.

A Format names the suffixes and leading bytes that make a file one, the HTTP content types a server sends
it as, what the crawler does with it, and its reader. Discovery (files.py), the crawler (crawl.py), the
raw store's file names and the CLI's help derive their lists from FORMATS, so a new format is one entry
here and its reader module. A file is read by the first format in FORMATS that claims it; plain text
takes what no other claims.

The readers are imported when a file is first read: discovery and the crawler consult this table without
reading any file, and the OCR reader (scan.py) consults it for the image suffixes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from extractors.decode import DecodedText
    from extractors.document import Document
    from extractors.files import SourceFile

#: What a reader gives: the documents to try, best first, and the decoded text (None for a container
#: that is not decoded as text: its reader finds the text inside).
Readings = tuple["Iterator[Document]", "DecodedText | None"]

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
RTF_MAGIC = b"{\\rtf"
ZIP_MAGIC = b"PK\x03\x04"
_LOOKS_LIKE_HTML = re.compile(r"^\s*(<!doctype html|<html|<\?xml|<head|<meta|<body)", re.IGNORECASE)
#: The bytes an RTF file's magic is looked for in (after white space), and a zip's for the name of a Word part.
_HEAD_BYTES = 1024
_ZIP_DIRECTORY_BYTES = 65536
#: What a download is stored under when neither its URL nor its content type names a format.
UNKNOWN_SUFFIX = ".bin"


@dataclass(frozen=True)
class Format:
    """A file format: what makes a file one, what the crawler does with it, and what reads it."""

    name: str
    #: Suffixes (lower case) of the files it reads; a directory is searched for them, but for named_only.
    suffixes: tuple[str, ...]
    read: Callable[[SourceFile], Readings]
    #: What a file of this format starts with: it is this format whatever its suffix.
    magic: tuple[bytes, ...] = ()
    #: Another sign in the bytes, where the first bytes alone do not tell.
    sniff: Callable[[SourceFile], bool] | None = None
    #: Whether the suffix alone makes a file this format. Not for .doc, a name that may hold Word 97-2003,
    #: RTF, a DOCX or an HTML page saved by Word: there the bytes decide.
    suffix_decides: bool = True
    #: HTTP content type -> the suffix a download of that type is stored under when its URL has no suffix
    #: a format reads.
    content_types: Mapping[str, str] = field(default_factory=dict)
    #: Suffixes read when a file is named but not searched for in directories, where such files are mostly
    #: the pictures of HTML pages (read with their page).
    named_only: frozenset[str] = frozenset()
    #: 'page': a web page, read for links and as a report; 'attachment': a document a report page links
    #: to, read instead of the page; None: fetched only as a page's picture (or when a listing links it).
    crawled_as: str | None = None
    #: The one suffix every download of it is stored under (.htm, .shtml and .xhtml pages are .html files
    #: in the raw store); None keeps the URL's.
    stored_suffix: str | None = None

    def claims(self, source: SourceFile) -> bool:
        """Whether the file is this format, by its suffix or its bytes."""
        return (
            (self.suffix_decides and source.suffix in self.suffixes)
            or self.has_magic(source.data)
            or (self.sniff is not None and self.sniff(source))
        )

    def has_magic(self, data: bytes) -> bool:
        """Whether the bytes start as this format's do, whatever the file is called."""
        return data.startswith(self.magic)


# ---- the readers ----------------------------------------------------------------------------------

def _read_pdf(source: SourceFile) -> Readings:
    from extractors import pdf

    return pdf.parse_pdf(source.path, source.data), None


def _read_docx(source: SourceFile) -> Readings:
    from extractors.docx import parse_docx

    return iter([parse_docx(source.path, source.data)]), None


def _read_doc(source: SourceFile) -> Readings:
    from extractors.legacy_doc import parse_doc

    return iter([parse_doc(source.path, source.data)]), None


def _read_image(source: SourceFile) -> Readings:
    from extractors.scan import read_image_file

    return iter([read_image_file(source.path, source.data)]), None


def _read_html(source: SourceFile) -> Readings:
    from extractors.decode import decode_bytes
    from extractors.html import parse_html

    decoded = decode_bytes(source.path, source.data, is_html=True, http_charset=source.http_charset)
    return _with_pictures(source, parse_html(source.path, decoded.text)), decoded


def _with_pictures(source: SourceFile, document: Document) -> Iterator[Document]:
    """The page as it is, then, when that does not yield the tables, with its pictures OCRed in place:
    a local page's files beside it, a crawled page's the crawl downloaded into the raw store."""
    from extractors.scan import crawled_pictures, html_with_pictures, local_pictures

    yield document
    find = crawled_pictures if source.url else local_pictures
    pictures = find(source.path, document.pictures)
    if pictures:
        yield html_with_pictures(source.path, document, pictures)


def _read_text(source: SourceFile) -> Readings:
    from extractors.decode import decode_bytes
    from extractors.text import parse_text

    decoded = decode_bytes(source.path, source.data, is_html=False, http_charset=source.http_charset)
    return iter([parse_text(decoded.text)]), decoded


# ---- the signs in the bytes -----------------------------------------------------------------------

def _word_zip(source: SourceFile) -> bool:
    """A zip named .doc, or holding Word's parts: a DOCX under another name."""
    return source.data.startswith(ZIP_MAGIC) and (
        source.suffix == ".doc" or b"word/" in source.data[:_ZIP_DIRECTORY_BYTES])


def _rtf_named_doc(source: SourceFile) -> bool:
    """RTF saved as .doc, as Word and WPS offer: LibreOffice converts it like a .doc."""
    return source.suffix == ".doc" and source.data[:_HEAD_BYTES].lstrip().startswith(RTF_MAGIC)


def _looks_like_html(source: SourceFile) -> bool:
    """A page saved under another name (.txt, .doc): it starts with markup."""
    return bool(_LOOKS_LIKE_HTML.match(source.data[:512].decode("latin-1")))


# ---- the table, in the order formats are tried ----------------------------------------------------

PDF = Format(
    "pdf", (".pdf",), _read_pdf, magic=(b"%PDF",),
    content_types={"application/pdf": ".pdf"}, crawled_as="attachment",
)
DOCX = Format(
    "docx", (".docx",), _read_docx, sniff=_word_zip,
    content_types={"application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx"},
    crawled_as="attachment",
)
#: TIFF is a scanner's format, so a directory of scans is read; PNG and JPEG files only when named.
IMAGE = Format(
    "image", (".png", ".jpg", ".jpeg", ".tif", ".tiff"), _read_image,
    magic=(b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*"),
    content_types={"image/png": ".png", "image/jpeg": ".jpg", "image/tiff": ".tif"},
    named_only=frozenset({".png", ".jpg", ".jpeg"}),
)
DOC = Format(
    "doc", (".doc",), _read_doc, magic=(OLE2_MAGIC,), sniff=_rtf_named_doc, suffix_decides=False,
    content_types={"application/msword": ".doc"}, crawled_as="attachment",
)
HTML = Format(
    "html", (".html", ".htm", ".shtml", ".xhtml"), _read_html, sniff=_looks_like_html,
    content_types={"text/html": ".html", "application/xhtml+xml": ".html"}, crawled_as="page", stored_suffix=".html",
)
TEXT = Format("text", (".txt",), _read_text, content_types={"text/plain": ".txt"}, crawled_as="page")

FORMATS: tuple[Format, ...] = (PDF, DOCX, IMAGE, DOC, HTML, TEXT)


# ---- what the others derive from it ----------------------------------------------------------------

#: Every suffix a format reads.
READ_SUFFIXES: tuple[str, ...] = tuple(suffix for f in FORMATS for suffix in f.suffixes)
#: The suffixes a directory is searched for.
DISCOVERED_SUFFIXES: tuple[str, ...] = tuple(s for f in FORMATS for s in f.suffixes if s not in f.named_only)
#: The links of a report page that are downloaded as its report.
ATTACHMENT_SUFFIXES: tuple[str, ...] = tuple(s for f in FORMATS if f.crawled_as == "attachment" for s in f.suffixes)
_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}
_BY_CONTENT_TYPE = {content_type: (f, suffix) for f in FORMATS for content_type, suffix in f.content_types.items()}


def format_of(source: SourceFile) -> Format:
    """The format that reads the file: the first that claims it by suffix or bytes, else plain text."""
    return next((f for f in FORMATS if f.claims(source)), TEXT)


def download_suffix(url_path: str, content_type: str | None) -> str:
    """The suffix a download is stored under, so that the right reader reads it: its URL's when a format
    reads that (as the format stores it), else its content type's, else UNKNOWN_SUFFIX."""
    suffix = Path(url_path).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix].stored_suffix or suffix
    _, stored = _BY_CONTENT_TYPE.get((content_type or "").lower(), (None, UNKNOWN_SUFFIX))
    return stored


def is_page(stored_path: str, content_type: str | None) -> bool:
    """Whether a download is a web page (read for its links), by the suffix it is stored under or its
    content type: a URL ending .pdf that answers with an HTML page is a page."""
    by_suffix = _BY_SUFFIX.get(Path(stored_path).suffix.lower())
    by_type, _ = _BY_CONTENT_TYPE.get((content_type or "").lower(), (None, None))
    return any(f is not None and f.crawled_as == "page" for f in (by_suffix, by_type))
