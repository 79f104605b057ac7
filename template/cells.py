"""The national template: every cell of both versions, with the codes the warehouse uses.

template_cells.csv is the single source of the codes, labels_en.csv of their English labels. Every
stage (extractors, transforms, the warehouse's views) speaks in these codes, never in positions.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TEMPLATE_CELLS_CSV = Path(__file__).with_name("template_cells.csv")
LABELS_EN_CSV = Path(__file__).with_name("labels_en.csv")

TEMPLATE_VERSIONS = ("2019", "2021")
ACTIVE_DISCLOSURE = "active_disclosure"
REQUESTS = "requests"
REVIEW_LITIGATION = "review_litigation"
TABLE_CODES = (ACTIVE_DISCLOSURE, REQUESTS, REVIEW_LITIGATION)

TABLE_TITLES = {
    ACTIVE_DISCLOSURE: "主动公开政府信息情况",
    REQUESTS: "收到和处理政府信息公开申请情况",
    REVIEW_LITIGATION: "政府信息公开行政复议、行政诉讼情况",
}

# Money columns are normalised to the template's unit, 万元 (10,000 yuan).
MONEY_COLUMNS = frozenset({"amount_10k_yuan", "procurement_amount"})
MONEY_UNIT = "万元"


@dataclass(frozen=True)
class TemplateCell:
    template: str
    table_code: str
    item: str
    row_code: str
    row_label: str
    col_code: str
    col_label: str


@cache
def template_cells() -> tuple[TemplateCell, ...]:
    with TEMPLATE_CELLS_CSV.open(encoding="utf-8", newline="") as handle:
        return tuple(TemplateCell(**row) for row in csv.DictReader(handle))


@cache
def cells_for(template: str, table_code: str) -> tuple[TemplateCell, ...]:
    """The cells of one table in one template version, in template order."""
    return tuple(c for c in template_cells() if c.template == template and c.table_code == table_code)


@cache
def columns_for(template: str, table_code: str, item: str = "") -> tuple[str, ...]:
    """Column codes of a table (or of one article-20 item of table A), in template order."""
    seen: dict[str, None] = {}
    for cell in cells_for(template, table_code):
        if cell.item == item:
            seen.setdefault(cell.col_code)
    return tuple(seen)


@cache
def rows_for(template: str, table_code: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for cell in cells_for(template, table_code):
        seen.setdefault(cell.row_code)
    return tuple(seen)


@cache
def english_labels() -> dict[tuple[str, str], str]:
    """English label of a code, keyed by (kind, code): the warehouse's dictionary prints them beside the Chinese."""
    with LABELS_EN_CSV.open(encoding="utf-8", newline="") as handle:
        return {(row["kind"], row["code"]): row["label_en"] for row in csv.DictReader(handle)}
