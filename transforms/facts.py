"""Cells to facts: one row per template cell of each report, with the printed text beside the number.

A cell the template has but the report does not print becomes value_kind 'missing';
a blank cell stays NULL with kind 'blank'; '—', '/', '无' are kind 'dash'; a cell whose
glued digits allow several readings stays NULL with kind 'ambiguous' (its raw_text lists them).
Nothing is filled in or corrected: a blank 总计 stays blank and the checks say so. A cell read by
OCR carries its recognition confidence (NULL for every other reader).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

import polars as pl

from template import AMBIGUOUS, DASHES, NUMBER_PATTERN
from template import (
    ACTIVE_DISCLOSURE,
    MONEY_COLUMNS,
    MONEY_UNIT,
    REQUESTS,
    REVIEW_LITIGATION,
    template_cells,
)

CELL_SCHEMA = {
    "report_id": pl.String,
    "table_code": pl.String,
    "row_code": pl.String,
    "col_code": pl.String,
    "raw_text": pl.String,
    "unit_hint": pl.String,
    "confidence": pl.Float64,
}
REPORT_SCHEMA = {
    "report_id": pl.String,
    "source_path": pl.String,
    "source_url": pl.String,
    "sha256": pl.String,
    "size_bytes": pl.Int64,
    "agency": pl.String,
    "year": pl.Int32,
    "title": pl.String,
    "signature_date": pl.Date,
    "template_version": pl.String,
    "requests_template_version": pl.String,
    "encoding": pl.String,
    "encoding_source": pl.String,
    "declared_encoding": pl.String,
    "reader": pl.String,
    "parser_version": pl.String,
}
FACT_COLUMNS = (
    "report_id", "table_code", "item", "row_code", "col_code", "value", "value_kind", "unit", "raw_text", "confidence",
)
_KEY = ["report_id", "table_code", "row_code", "col_code"]


_CELL = ["table_code", "row_code", "col_code"]


@cache
def template_frame() -> pl.DataFrame:
    """The template's cells, with _order: their rank by (table_code, row_code, col_code), so that
    facts sort by report_id and one integer instead of four strings (4x faster)."""
    frame = pl.DataFrame([cell.__dict__ for cell in template_cells()]).select(
        "template", "table_code", "item", "row_code", "col_code"
    )
    order = frame.select(_CELL).unique().sort(_CELL).with_row_index("_order")
    return frame.join(order, on=_CELL)


def reports_frame(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(list(records), schema=REPORT_SCHEMA)


def cells_frame(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(list(records), schema=CELL_SCHEMA)


def expected_cells(reports: pl.DataFrame) -> pl.DataFrame:
    """Every template cell each report should print: table A by its own version, table B by
    its （六） rows, table C the same in both versions; _order is the cell's rank in the template."""
    template = template_frame()
    versions = reports.select(
        "report_id",
        pl.col("template_version").alias(ACTIVE_DISCLOSURE),
        pl.col("requests_template_version").alias(REQUESTS),
        pl.lit("2021").alias(REVIEW_LITIGATION),
    ).unpivot(index="report_id", variable_name="table_code", value_name="template")
    return versions.join(template, on=["table_code", "template"]).drop("template")


def _normalised_text() -> pl.Expr:
    return (
        pl.col("raw_text")
        .str.normalize("NFKC")
        .str.replace_all(r"\s", "")
        .str.replace_all(r"\[bookmark:[^\]]*\]", "")
    )


def parse_values(frame: pl.DataFrame) -> pl.DataFrame:
    """raw_text -> value_kind, value and unit, as expressions over the whole frame."""
    text = pl.col("_text")
    is_money = pl.col("col_code").is_in(list(MONEY_COLUMNS))
    printed_unit = text.str.extract(r"(万元|元)$", 1)
    unit = pl.coalesce(printed_unit, pl.col("unit_hint"), pl.lit(MONEY_UNIT))
    number = text.str.replace_all(r"[,，]", "").str.replace("−", "-").str.extract(r"^([-+]?(?:\d+(?:\.\d*)?|\.\d+))", 1)
    number = number.cast(pl.Float64, strict=False)
    return (
        frame.with_columns(_text=_normalised_text())
        .with_columns(
            value_kind=pl.when(pl.col("raw_text").is_null())
            .then(pl.lit("missing"))
            .when(pl.col("raw_text").str.starts_with(AMBIGUOUS))
            .then(pl.lit("ambiguous"))
            .when(text == "")
            .then(pl.lit("blank"))
            .when(text.is_in(list(DASHES)))
            .then(pl.lit("dash"))
            .when(text.str.contains(NUMBER_PATTERN))
            .then(pl.lit("number"))
            .otherwise(pl.lit("text")),
        )
        .with_columns(
            value=pl.when(pl.col("value_kind") != "number")
            .then(None)
            .when(is_money & (unit == "元"))
            .then(number / 10_000)
            .otherwise(number),
            unit=pl.when(is_money).then(pl.lit(MONEY_UNIT)).otherwise(None),
        )
        .drop("_text")
    )


def build_facts(reports: pl.DataFrame, cells: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(facts, cells the template has no place for). The second is for a check, never dropped silently."""
    expected = expected_cells(reports)
    joined = expected.join(cells, on=_KEY, how="left")
    facts = parse_values(joined).select(*FACT_COLUMNS, "_order").sort("report_id", "_order").drop("_order")
    outside = cells.join(expected, on=_KEY, how="anti")
    return facts, outside
