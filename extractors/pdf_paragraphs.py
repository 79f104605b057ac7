"""Text lines outside tables joined into paragraphs: a line that reaches the right margin continues
on the next line (also across a page break), so headings stay separate paragraphs."""

from __future__ import annotations

from collections.abc import Iterable

from extractors.document import SECTION_HEADING, Paragraph
from extractors.labels import normalise_label, table_of_heading
from extractors.pdf_boxes import ASCII_END, ASCII_START, Box


def is_heading(text: str) -> bool:
    return table_of_heading(text) is not None or bool(SECTION_HEADING.match(text))


def paragraphs(lines: list[Box], margins: dict[int, tuple[float, float]]) -> list[Paragraph]:
    """Lines to paragraphs: a line that reaches the right margin continues on the next one, unless
    that one is indented or a heading; the same across a page break."""
    paragraphs: list[str] = []
    last: Box | None = None
    for line in lines:
        if last is not None and _continues(last, line, margins):
            separator = " " if ASCII_END.search(paragraphs[-1]) and ASCII_START.match(line.text) else ""
            paragraphs[-1] += separator + line.text
        else:
            paragraphs.append(line.text)
        last = line
    return [Paragraph(text) for text in paragraphs if text.strip()]


def _continues(a: Box, b: Box, margins: dict[int, tuple[float, float]]) -> bool:
    _, right = margins[a.page]
    left, _ = margins[b.page]
    reaches_right = a.x1 >= right - 1.5 * a.height
    not_indented = b.x0 <= left + 0.8 * b.height
    if b.page == a.page:
        close = b.top - a.bottom <= 1.5 * max(a.height, b.height)
    else:
        close = b.page == a.page + 1
    return reaches_right and not_indented and close and not is_heading(normalise_label(b.text))


def margins_of(lines: Iterable[Box]) -> dict[int, tuple[float, float]]:
    margins: dict[int, tuple[float, float]] = {}
    for line in lines:
        left, right = margins.get(line.page, (line.x0, line.x1))
        margins[line.page] = (min(left, line.x0), max(right, line.x1))
    return margins
