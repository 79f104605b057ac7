"""Positioned text of a PDF page (a text layer's words, or OCR's boxes): lines, and lines cut into cells.

Boxes carry document-wide tops (pages stack one under the other), so that a table continued over a
page break reads as one run of lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from extractors.labels import looks_like_value, normalise_label

ASCII_END = re.compile(r"[A-Za-z0-9]$")
ASCII_START = re.compile(r"^[A-Za-z0-9]")

@dataclass
class Box:
    """Text with its position; top/bottom are document-wide (pdfplumber's doctop), so pages stack."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    page: int
    #: Recognition confidence of OCRed text; None for a text layer's words.
    confidence: float | None = None
    #: For OCRed text, the ruled table cell it was found in (0 outside tables); None for a text layer.
    cell: int | None = None

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def join_words(words: Sequence[Box]) -> str:
    """Words of one line, in x order: a visible gap between Latin letters or digits keeps a space."""
    text = ""
    previous: Box | None = None
    for word in words:
        if previous is not None and word.x0 - previous.x1 > 0.25 * word.height and (
            ASCII_END.search(text) or ASCII_START.match(word.text)
        ):
            text += " "
        text += word.text
        previous = word
    return text


def least_confidence(boxes: Iterable[Box]) -> float | None:
    """The least confidence of OCRed parts: a cell is as doubtful as its worst glyphs."""
    return min((b.confidence for b in boxes if b.confidence is not None), default=None)


def merge_boxes(boxes: Sequence[Box]) -> Box:
    ordered = sorted(boxes, key=lambda b: b.x0)
    return Box(
        text=join_words(ordered),
        x0=min(b.x0 for b in boxes),
        x1=max(b.x1 for b in boxes),
        top=min(b.top for b in boxes),
        bottom=max(b.bottom for b in boxes),
        page=boxes[0].page,
        confidence=least_confidence(boxes),
        cell=boxes[0].cell,
    )


def group_lines(words: Iterable[Box]) -> list[list[Box]]:
    """Words sharing most of their height form a line; lines in top-to-bottom order."""
    lines: list[list[Box]] = []
    extents: list[tuple[float, float]] = []
    for word in sorted(words, key=lambda w: (w.top, w.x0)):
        for index in range(len(lines) - 1, max(len(lines) - 4, -1), -1):
            top, bottom = extents[index]
            overlap = min(bottom, word.bottom) - max(top, word.top)
            if overlap >= 0.5 * min(word.height, bottom - top):
                lines[index].append(word)
                extents[index] = (min(top, word.top), max(bottom, word.bottom))
                break
        else:
            lines.append([word])
            extents.append((word.top, word.bottom))
    return [sorted(line, key=lambda w: w.x0) for line in lines]


def cut_line(line: Sequence[Box], gap: float = 1.0) -> list[Box]:
    """A line cut into cells where the gap between words is wider than `gap` character heights; a
    number is cut from the words beside it at a quarter of that (a label filling its cell can end
    a few points before the number in the next one). OCRed words in two ruled cells are two cells."""
    segments: list[list[Box]] = []
    for word in line:
        if segments:
            previous = segments[-1][-1]
            if previous.cell and word.cell and previous.cell != word.cell:
                segments.append([word])
                continue
            numeric = is_number(word.text) or is_number(previous.text)
            if word.x0 - previous.x1 <= (0.25 if numeric else 1.0) * gap * word.height:
                segments[-1].append(word)
                continue
        segments.append([word])
    return [merge_boxes(s) for s in segments]


def is_number(text: str) -> bool:
    return bool(normalise_label(text)) and looks_like_value(text)
