"""A PDF read from its ruled grid: text lines as paragraphs, ruled tables as rows (pdf/pdfplumber-grid).

A table that continues on the next page continues the same rows; a header the continuation
repeats is dropped.
"""

from __future__ import annotations

from extractors.document import Block, Row
from extractors.labels import looks_like_value, normalise_label
from extractors.pdf_boxes import Box, merge_boxes
from extractors.pdf_pages import GridTable, Page
from extractors.pdf_paragraphs import margins_of, paragraphs
from extractors.pdf_rows import Cell, to_rows


def grid_rows(tables: list[GridTable]) -> list[Row]:
    """Tables one after the other with no text between them: one table, perhaps continued over
    pages. A header the continuation repeats is dropped."""
    first = tables[0]
    header = [tuple(normalise_label(t) for _, t in row) for row in first.rows]
    rows: list[list[Cell]] = []
    for table in tables:
        table_rows = table.rows
        if table is not first and table.page != first.page:
            repeated = 0
            while (
                repeated < min(len(table_rows), len(header))
                and tuple(normalise_label(t) for _, t in table_rows[repeated]) == header[repeated]
                and not any(normalise_label(t) and looks_like_value(t) for _, t in table_rows[repeated])
            ):
                repeated += 1
            table_rows = table_rows[repeated:]
        rows.extend([Cell((table.columns, j), text) for j, text in row] for row in table_rows)
    return to_rows(rows)


def grid_document(pages: list[Page]) -> list[Block]:
    items: list[tuple[float, object]] = []
    for page in pages:
        items.extend((line[0].top, merge_boxes(line)) for line in page.lines)
        items.extend((table.top, table) for table in page.tables)
    items.sort(key=lambda item: item[0])
    margins = margins_of(item for _, item in items if isinstance(item, Box))
    blocks: list[Block] = []
    run: list = []
    for _, item in items + [(float("inf"), None)]:
        if run and (item is None or type(item) is not type(run[-1])):
            blocks.extend(paragraphs(run, margins) if isinstance(run[0], Box) else grid_rows(run))
            run = []
        if item is not None:
            run.append(item)
    return blocks
