"""The national template, the domain model every stage shares: cell codes, labels, table titles,
template versions, and what a printed cell can say.

It sits below extractors, transforms and warehouse, and imports none of them.
"""

from template.cells import (
    ACTIVE_DISCLOSURE,
    LABELS_EN_CSV,
    MONEY_COLUMNS,
    MONEY_UNIT,
    REQUESTS,
    REVIEW_LITIGATION,
    TABLE_CODES,
    TABLE_TITLES,
    TEMPLATE_CELLS_CSV,
    TEMPLATE_VERSIONS,
    TemplateCell,
    cells_for,
    columns_for,
    english_labels,
    rows_for,
    template_cells,
)
from template.values import (
    AMBIGUOUS,
    BOOKMARK_PATTERN,
    DASHES,
    NUMBER_PATTERN,
    VALUE_KINDS,
    WHITESPACE_PATTERN,
    normalise_printed,
)

__all__ = [
    "ACTIVE_DISCLOSURE", "AMBIGUOUS", "BOOKMARK_PATTERN", "DASHES", "LABELS_EN_CSV", "MONEY_COLUMNS", "MONEY_UNIT", "NUMBER_PATTERN",
    "REQUESTS", "REVIEW_LITIGATION", "TABLE_CODES", "TABLE_TITLES", "TEMPLATE_CELLS_CSV", "TEMPLATE_VERSIONS",
    "TemplateCell", "VALUE_KINDS", "WHITESPACE_PATTERN", "cells_for", "columns_for", "english_labels", "normalise_printed",
    "rows_for", "template_cells",
]
