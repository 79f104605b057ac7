"""A synthetic report before any file format: title lines, paragraphs and tables, signature.

Every renderer (text, HTML, and DOCX when the project reads it) turns this one structure
into bytes, so all formats of a report say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from corpus.grid import Table


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class TableBlock:
    table: Table
    #: Which statistical table: active, requests or review (text layouts differ by table).
    name: str


Block = Paragraph | TableBlock


@dataclass(frozen=True)
class Content:
    agency: str
    #: The government site that publishes the report (HTML chrome and <title>).
    site: str
    year: int
    title_form: str
    title_lines: list[str]
    blocks: list[Block]
    #: The section headings among the paragraphs (renderers set them bold).
    headings: frozenset[str]
    signature_lines: list[str]
