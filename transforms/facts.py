"""Cells to facts: one row per template cell of each report, with the printed text beside the number.

A cell the template has but the report does not print becomes value_kind 'missing';
a blank cell stays NULL with kind 'blank'; '—', '/', '无' are kind 'dash'; a cell whose
glued digits allow several readings stays NULL with kind 'ambiguous' (its raw_text lists them).
Nothing is filled in or corrected: a blank 总计 stays blank and the checks say so. A cell read by
OCR carries its recognition confidence (NULL for every other reader).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

import polars as pl

from template import (
    ACTIVE_DISCLOSURE,
    AMBIGUOUS,
    BOOKMARK_PATTERN,
    DASHES,
    MONEY_COLUMNS,
    MONEY_UNIT,
    NUMBER_PATTERN,
    REQUESTS,
    REVIEW_LITIGATION,
    WHITESPACE_PATTERN,
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


_CELL = ["table_code", "row_code", "col_code"]


@cache
def template_frame() -> pl.DataFrame:
    """The template's cells, with _order: their rank by (table_code, row_code, col_code), so that
    facts are ordered by report_id and one integer, and a printed cell is named by that integer."""
    frame = pl.DataFrame([cell.__dict__ for cell in template_cells()]).select(
        "template", "table_code", "item", "row_code", "col_code"
    )
    order = frame.select(_CELL).unique().sort(_CELL).with_row_index("_order")
    return frame.join(order, on=_CELL)


def reports_frame(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(list(records), schema=REPORT_SCHEMA)


def cells_frame(columns: Mapping[str, Sequence[Any]]) -> pl.DataFrame:
    """The printed cells from their columns (extractors.report.cell_columns), named as CELL_SCHEMA names them."""
    return pl.DataFrame(columns, schema=CELL_SCHEMA)


def expected_cells(reports: pl.DataFrame) -> pl.DataFrame:
    """Every template cell each report should print: table A by its own version, table B by
    its （六） rows, table C the same in both versions; _order is the cell's rank in the template.

    In the facts' order, by report_id and _order, without sorting them: the reports (a few hundred
    rows) are sorted, and each one's cells follow in template order."""
    versions = reports.select(
        "report_id",
        pl.col("template_version").alias(ACTIVE_DISCLOSURE),
        pl.col("requests_template_version").alias(REQUESTS),
        pl.lit("2021").alias(REVIEW_LITIGATION),
    ).unpivot(index="report_id", variable_name="table_code", value_name="template").sort("report_id", "table_code")
    return versions.join(_template_in_order(), on=["table_code", "template"], maintain_order="left_right").drop("template")


@cache
def _template_in_order() -> pl.DataFrame:
    return template_frame().sort("_order")


@cache
def _cell_ranks() -> pl.DataFrame:
    """Each template cell's _order, to name a printed cell by one integer instead of three strings."""
    return template_frame().select(*_CELL, "_order").unique()


def normalised_printed(text: pl.Expr) -> pl.Expr:
    """template.normalise_printed as a polars expression: the same steps in the same order."""
    return text.str.normalize("NFKC").str.replace_all(WHITESPACE_PATTERN, "").str.replace_all(BOOKMARK_PATTERN, "")


def parse_values(frame: pl.DataFrame) -> pl.DataFrame:
    """raw_text -> value_kind, value and unit, as expressions over the whole frame.

    What a text says is worked out once per distinct text (a batch's 100,000 cells print a few
    thousand texts: '0' most of all) and joined back; the unit and value then per cell."""
    text = normalised_printed(pl.col("raw_text"))
    texts = frame.select(pl.col("raw_text").unique()).with_columns(_text=text).select(
        "raw_text",
        _kind=pl.when(pl.col("raw_text").is_null())
        .then(pl.lit("missing"))
        .when(pl.col("raw_text").str.starts_with(AMBIGUOUS))
        .then(pl.lit("ambiguous"))
        .when(pl.col("_text") == "")
        .then(pl.lit("blank"))
        .when(pl.col("_text").is_in(list(DASHES)))
        .then(pl.lit("dash"))
        .when(pl.col("_text").str.contains(NUMBER_PATTERN))
        .then(pl.lit("number"))
        .otherwise(pl.lit("text")),
        _printed_unit=pl.col("_text").str.extract(r"(万元|元)$", 1),
        _number=pl.col("_text").str.replace_all(r"[,，]", "").str.replace("−", "-")
        .str.extract(r"^([-+]?(?:\d+(?:\.\d*)?|\.\d+))", 1).cast(pl.Float64, strict=False),
    )
    is_money = pl.col("col_code").is_in(list(MONEY_COLUMNS))
    unit = pl.coalesce(pl.col("_printed_unit"), pl.col("unit_hint"), pl.lit(MONEY_UNIT))
    return (
        frame.join(texts, on="raw_text", how="left", nulls_equal=True, maintain_order="left")
        .with_columns(
            value_kind=pl.col("_kind"),
            value=pl.when(pl.col("_kind") != "number")
            .then(None)
            .when(is_money & (unit == "元"))
            .then(pl.col("_number") / 10_000)
            .otherwise(pl.col("_number")),
            unit=pl.when(is_money).then(pl.lit(MONEY_UNIT)).otherwise(None),
        )
        .drop("_kind", "_printed_unit", "_number")
    )


def build_facts(reports: pl.DataFrame, cells: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(facts, cells the template has no place for). The second is for a check, never dropped silently.

    A printed cell is named by its _order, so that the join with the expected cells is on one
    string and one integer, and keeps their order (report_id, _order), so that nothing is sorted."""
    expected = expected_cells(reports)
    ranked = cells.join(_cell_ranks(), on=_CELL, how="left", maintain_order="left")
    printed = ranked.select("report_id", "_order", "raw_text", "unit_hint", "confidence")
    joined = expected.join(printed, on=["report_id", "_order"], how="left", maintain_order="left")
    facts = parse_values(joined).select(*FACT_COLUMNS)
    outside = ranked.join(expected.select("report_id", "_order"), on=["report_id", "_order"], how="anti",
                          maintain_order="left").drop("_order")
    return facts, outside
