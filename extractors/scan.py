"""Page images out of scanned PDFs and image files, bounded, then OCRed into positioned text.

A page image is checked before it is decoded: an image of more than MAX_PIXELS pixels (a
decompression bomb: 20,000 x 20,000 in a few KB of PNG) is refused without being expanded,
and so is a file of more than MAX_PAGES pages. PDF pages are rendered with pdfium at
ocr.PAGE_DPI. Boxes come back in points (1/72 inch) stacked page under page, as pdfplumber
gives a text layer's words, so that the text-position table reader reads them unchanged.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import numpy as np

from extractors.document import Document
from extractors.errors import CorruptImage, ExtractionError, ImageTooLarge, NoTextFound, TooManyPages
from extractors.formats import IMAGE
from extractors.ocr import PAGE_DPI, OcrBox, read_pages
from extractors.pdf import boxes_page, text_document
from extractors.rawstore import read_pictures

#: Pixels a page image may have (A4 at 600 dpi is 35 million).
MAX_PIXELS = 40_000_000
#: Pages of one file that are OCRed; a report has fewer than twenty.
MAX_PAGES = 40
READER_IMAGE = "image/rapidocr"
READER_HTML = "html/rapidocr"
_POINTS_PER_PIXEL = 72 / PAGE_DPI
#: (height, width) in pixels below which a page's picture is an icon or a logo, not a table: not OCRed.
MIN_PICTURE = (60, 200)


@dataclass(frozen=True)
class ScannedPage:
    """A page's recognised boxes in points from its top-left corner, and its height in points."""

    boxes: list[OcrBox]
    height: float


def _checked_size(path: str, width: int, height: int, what: str) -> None:
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(
            path, f"{what} is {width} x {height} pixels, more than the {MAX_PIXELS:,} nianbao decodes "
            "(a decompression bomb, or a scan at a needlessly high resolution: rescan at 300 dpi)"
        )


def image_file_pages(path: str, data: bytes) -> list[np.ndarray]:
    """The frames of a PNG, JPEG or TIFF file as RGB arrays, each checked before it is decoded."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        frames = []
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if number > MAX_PAGES:
                raise TooManyPages(path, f"more than {MAX_PAGES} pages: not an annual report (they have fewer than twenty)")
            _checked_size(path, *frame.size, f"page {number}")
            frames.append(np.asarray(frame.convert("RGB")))
        return frames
    except Image.DecompressionBombError as exc:  # pillow's own limit, met before ours when opening
        raise ImageTooLarge(path, f"{exc.args[0] if exc.args else exc}: a decompression bomb, or a scan at a "
                            "needlessly high resolution (rescan at 300 dpi)") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptImage(path, f"not a readable image ({type(exc).__name__}: {exc}): the file is damaged or "
                           "not a PNG, JPEG or TIFF; download it again") from exc


def pdf_page_images(path: str, data: bytes, pages: list[int] | None = None) -> list[np.ndarray]:
    """PDF pages (1-based numbers, all by default) rendered at PAGE_DPI as gray arrays."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise CorruptImage(path, f"pdfium cannot open the PDF to render its pages ({exc})") from exc
    try:
        numbers = pages or list(range(1, len(document) + 1))
        if len(numbers) > MAX_PAGES:
            raise TooManyPages(path, f"{len(numbers)} scanned pages, more than the {MAX_PAGES} nianbao OCRs: "
                               "not an annual report (they have fewer than twenty)")
        images = []
        for number in numbers:
            page = document[number - 1]
            width, height = page.get_size()
            scale = PAGE_DPI / 72
            _checked_size(path, int(width * scale), int(height * scale), f"page {number} at {PAGE_DPI} dpi")
            images.append(page.render(scale=scale, grayscale=True).to_numpy().copy())
        return images
    finally:
        document.close()


def ocr_pages(images: list[np.ndarray]) -> list[ScannedPage]:
    """OCR each page; positions converted from pixels at PAGE_DPI to points."""
    k = _POINTS_PER_PIXEL
    return [
        ScannedPage([OcrBox(b.text, b.x0 * k, b.x1 * k, b.top * k, b.bottom * k, b.confidence, b.cell) for b in page.boxes],
                    page.height * k)
        for page in read_pages(images)
    ]


def scanned_document(images: list[np.ndarray], reader: str) -> Document:
    """Page images OCRed and read by text positions, page under page."""
    pages, offset = [], 0.0
    for number, page in enumerate(ocr_pages(images), start=1):
        pages.append(boxes_page(page.boxes, number, offset, page.height))
        offset += page.height
    return text_document(pages, reader)


def read_image_file(path: str, data: bytes) -> Document:
    """A PNG, JPEG or (multi-page) TIFF file: image/rapidocr."""
    document = scanned_document(image_file_pages(path, data), READER_IMAGE)
    if not document.blocks:
        raise NoTextFound(path, "no text found: OCR finds no text in the image (a blank or unreadable scan?)")
    return document


def local_pictures(path: str, pictures: list[tuple[int, str]]) -> list[tuple[int, Path]]:
    """The pictures of an HTML page that are image files beside it (in its directory or below):
    (block index, file). Remote, data: and outside pictures are left out."""
    folder = Path(path).resolve().parent
    found = []
    for index, src in pictures:
        if not src or re.match(r"^[a-z][a-z0-9+.-]*:|^//", src, re.IGNORECASE):
            continue
        file = (folder / unquote(src.split("?")[0].split("#")[0])).resolve()
        if file.is_relative_to(folder) and file.suffix.lower() in IMAGE.suffixes and file.is_file():
            found.append((index, file))
    return found


def crawled_pictures(path: str, pictures: list[tuple[int, str]]) -> list[tuple[int, Path]]:
    """The pictures of a crawled HTML page that the crawl downloaded beside it into the raw store
    (extractors/rawstore.py notes them by src): (block index, file)."""
    downloaded = read_pictures(Path(path))
    return [(index, downloaded[src]) for index, src in pictures if src in downloaded and downloaded[src].is_file()]


def html_with_pictures(path: str, document: Document, pictures: list[tuple[int, Path]]) -> Document:
    """The HTML page with each picture's OCRed paragraphs and rows in its place: html/rapidocr."""
    if len(pictures) > MAX_PAGES:
        raise TooManyPages(path, f"{len(pictures)} pictures, more than the {MAX_PAGES} nianbao OCRs")
    blocks = list(document.blocks)
    for index, file in reversed(pictures):
        try:
            images = image_file_pages(str(file), file.read_bytes())
        except ExtractionError as exc:
            raise type(exc)(path, f"its picture {file.name}: {exc.problem}") from exc
        images = [image for image in images if image.shape[0] >= MIN_PICTURE[0] and image.shape[1] >= MIN_PICTURE[1]]
        if images:
            blocks[index:index] = scanned_document(images, READER_HTML).blocks
    return Document(blocks, reader=READER_HTML, container_title=document.container_title)
