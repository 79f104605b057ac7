"""A report as a stream of paragraphs and table rows, whatever the file format was.

Every reader (text layouts, HTML, later DOCX and PDF) produces this; the table locator
reads only this. Rows keep their cells in reading order and nothing else: positions are
not trusted, because merged cells shift them differently in every format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from extractors.labels import looks_like_value


# With slots: made a third faster (a text report makes some 65 blocks) and each one object, not two.
@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[str, ...]


class ScoredText(str):
    """A cell's text read by OCR, with its recognition confidence (0-1). It is a str everywhere,
    so the locator handles it like any cell, and the cell it becomes keeps the confidence."""

    confidence: float

    def __new__(cls, text: str, confidence: float) -> ScoredText:
        made = super().__new__(cls, text)
        made.confidence = confidence
        return made


def scored(text: str, confidence: float | None) -> str:
    """The text with its confidence when it has one (OCR), else the plain text."""
    return text if confidence is None else ScoredText(text, confidence)


def confidence_of(text: str) -> float | None:
    return getattr(text, "confidence", None)


Block = Paragraph | Row


@dataclass
class Document:
    blocks: list[Block]
    #: Which reader produced the blocks, recorded so a wrong number can be traced to it.
    reader: str
    #: A title the container carries outside the text (HTML <title>), if any.
    container_title: str | None = None
    #: Pictures an HTML page shows: (index in blocks where it stands, its src).
    pictures: list[tuple[int, str]] = field(default_factory=list)
    paragraphs: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.paragraphs = [b.text for b in self.blocks if isinstance(b, Paragraph)]


# A line that opens a report section ("三、收到和处理…", or the typo "三是…").
SECTION_HEADING = re.compile(r"^\s*[一二三四五六七八九十]{1,2}\s*[、．.是]")


def _is_row_per_line(lines: list[str], joined: str) -> bool:
    """Seed 002's layout: each table row on one line, cells split by tabs.

    In the other layout every cell line holds a single leading tab and nothing else: when the text
    (`joined`, the lines joined by '\n') has as many tabs as lines that start with one, that is every
    tab line, told by two counts instead of a look at each line.
    """
    tabs = joined.count("\t")
    if tabs == joined.count("\n\t") + joined.startswith("\t"):
        return False
    tab_lines = [line for line in lines if "\t" in line]
    multi = sum(1 for line in tab_lines if line.count("\t") > 1 or not line.startswith("\t"))
    return multi * 2 >= len(tab_lines)


def parse_word_export(lines: list[str], joined: str) -> Document:
    """Read the lines of a report exported from Word as plain text (tabs), in either layout.

    `joined` is the lines joined by '\n' (lines as str.splitlines gives them). extractors.text.parse_text
    chooses this for texts with tabs; it reads every other layout too.
    """
    if _is_row_per_line(lines, joined):
        return Document(_rows_per_line(lines), reader="text/row-per-line")
    return Document(_cells_per_line(lines), reader="text/cell-per-line")


def _rows_per_line(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    for line in lines:
        if "\t" in line:
            blocks.append(Row(tuple(line.split("\t"))))
        elif line.strip():
            blocks.append(Paragraph(line.strip()))
    return blocks


def _cells_per_line(lines: list[str]) -> list[Block]:
    """One cell per tab-led line, rows split by blank lines.

    A line without a tab right after a cell line continues that cell (Word wrapped it),
    unless it opens a new section. A lone value line after a row that ended in an empty
    cell is that cell's content (Word put the cell's paragraph after a blank line).
    """
    blocks: list[Block] = []
    row: list[str] | None = None
    for line in lines:
        if line[:1] == "\t":
            cell = line[1:]
            if "\t" in cell:  # cells of one line split by tabs
                if row is None:
                    row = cell.split("\t")
                else:
                    row.extend(cell.split("\t"))
            elif row is None:
                row = [cell]
            else:
                row.append(cell)
        elif not line or line.isspace():
            if row is not None:
                blocks.append(Row(tuple(row)))
                row = None
        elif row is not None and not SECTION_HEADING.match(line):
            row[-1] += line
        else:
            if row is not None:
                blocks.append(Row(tuple(row)))
                row = None
            previous = blocks[-1] if blocks else None
            if isinstance(previous, Row) and previous.cells[-1] == "" and looks_like_value(line):
                blocks[-1] = Row(previous.cells[:-1] + (line,))
            else:
                blocks.append(Paragraph(line.strip()))
    if row is not None:
        blocks.append(Row(tuple(row)))
    return blocks
