"""Why a file could not become a report. Each message names the file and what is wrong with it."""

from __future__ import annotations


class ExtractionError(Exception):
    """A file that cannot be read as a report. It is recorded as failed and nothing of it is loaded."""

    #: Short machine-readable reason, stored beside the message in ingest_files.
    reason = "extraction_error"

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class EmptyFile(ExtractionError):
    reason = "empty_file"

    def __init__(self, path: str) -> None:
        super().__init__(path, "the file is empty (0 bytes)")


class UndecodableFile(ExtractionError):
    reason = "undecodable"


class TruncatedFile(ExtractionError):
    """Bytes that stop part way through a character: the end of the file is missing."""

    reason = "truncated_file"


class NotAReport(ExtractionError):
    reason = "not_a_report"


class TableNotFound(ExtractionError):
    reason = "table_not_found"


class ValuesNotNumbers(ExtractionError):
    """A table's rows are there, but where its numbers should be the file prints something else."""

    reason = "values_not_numbers"


class TruncatedTable(ExtractionError):
    reason = "truncated_table"


class TableLayoutError(ExtractionError):
    reason = "table_layout"


class MissingMetadata(ExtractionError):
    reason = "missing_metadata"


class UnreadableContainer(ExtractionError):
    """A .docx that is not a zip, a .pdf that is not a PDF, a container whose parts are broken."""

    reason = "unreadable_container"


class UnsafeArchive(ExtractionError):
    """A zip (DOCX) that would expand past the limits: a zip bomb, an oversized part, too many parts."""

    reason = "unsafe_archive"


class EncryptedFile(ExtractionError):
    reason = "encrypted"


class ConverterMissing(ExtractionError):
    """A format that needs an external converter (LibreOffice for .doc) that is not installed."""

    reason = "converter_missing"


class ConversionFailed(ExtractionError):
    reason = "conversion_failed"


class CorruptImage(ExtractionError):
    """An image (or a PDF page to render) that cannot be decoded."""

    reason = "corrupt_image"


class ImageTooLarge(ExtractionError):
    """An image with more pixels than OCR decodes: a decompression bomb or a needlessly fine scan."""

    reason = "image_too_large"


class TooManyPages(ExtractionError):
    reason = "too_many_pages"


class NoTextFound(ExtractionError):
    """A scan in which OCR finds no text at all (blank pages)."""

    reason = "no_text_found"
