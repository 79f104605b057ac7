"""The template's own arithmetic (勾稽关系) and the row and group totals, checked per report.

A failure is recorded, never fixed: the facts keep the printed numbers. Blank, dash and
missing cells count as 0, so a blank 总计 beside filled parts fails and an all-blank
group passes. A comparison with an ambiguous operand (glued digits that allow several
readings) is not made: its outcome is unknown, and cell_ambiguous fails for the table instead.
"""

from __future__ import annotations

import polars as pl

from warehouse.template import REQUESTS, REVIEW_LITIGATION

CHECK_COLUMNS = ("report_id", "rule", "scope", "passed", "lhs", "rhs", "detail")
RULES = {
    "requests_balance": "收到和处理: 一 + 二 = （七）总计 + 四, per applicant column",
    "requests_row_total": "收到和处理: 总计 = 自然人 + the five 法人或其他组织 columns, per row",
    "requests_handled_total": "收到和处理: （七）总计 = （一）+（二）+ every sub-row of （三）to（六）, per column",
    "review_litigation_total": "复议诉讼: 总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结, per group",
    "cells_present": "every template cell of the table is printed, per table",
    "cells_in_template": "every printed cell has a place in the template, per table",
    "cell_ambiguous": "every printed cell reads one way (glued digits can allow several), per table",
}
_TOLERANCE = 1e-6
_HANDLED_ROWS = ("granted", "partially_granted", "other")
_HANDLED_SECTIONS = ("denied.", "unable.", "not_processed.", "other.")


def _compare(frame: pl.DataFrame, rule: str, scope: str, lhs_label: str, rhs_label: str) -> pl.DataFrame:
    """One row per scope whose operands are all known (no ambiguous cell among them)."""
    return frame.filter(~pl.col("blind")).select(
        "report_id",
        pl.lit(rule).alias("rule"),
        pl.col(scope).alias("scope"),
        ((pl.col("lhs") - pl.col("rhs")).abs() < _TOLERANCE).alias("passed"),
        "lhs",
        "rhs",
        pl.format(f"{lhs_label} = {{}}, {rhs_label} = {{}}", pl.col("lhs"), pl.col("rhs")).alias("detail"),
    )


def _is_handled_part(row_code: pl.Expr) -> pl.Expr:
    return row_code.is_in(_HANDLED_ROWS) | pl.any_horizontal([row_code.str.starts_with(p) for p in _HANDLED_SECTIONS])


def run_checks(facts: pl.DataFrame, outside: pl.DataFrame) -> pl.DataFrame:
    numbers = facts.with_columns(v=pl.col("value").fill_null(0.0), blind=pl.col("value_kind") == "ambiguous")
    requests = numbers.filter(pl.col("table_code") == REQUESTS)
    row, col, v, blind = pl.col("row_code"), pl.col("col_code"), pl.col("v"), pl.col("blind")
    balance_rows = ["new_received", "carried_over", "total_handled", "carried_forward"]

    balance = requests.group_by("report_id", "col_code").agg(
        lhs=v.filter(row.is_in(["new_received", "carried_over"])).sum(),
        rhs=v.filter(row.is_in(["total_handled", "carried_forward"])).sum(),
        blind=blind.filter(row.is_in(balance_rows)).any(),
    )
    row_total = requests.group_by("report_id", "row_code").agg(
        lhs=v.filter(col == "total").sum(),
        rhs=v.filter(col != "total").sum(),
        blind=blind.any(),
    )
    handled = requests.group_by("report_id", "col_code").agg(
        lhs=v.filter(row == "total_handled").sum(),
        rhs=v.filter(_is_handled_part(row)).sum(),
        blind=blind.filter((row == "total_handled") | _is_handled_part(row)).any(),
    )
    review = (
        numbers.filter(pl.col("table_code") == REVIEW_LITIGATION)
        .group_by("report_id", "row_code")
        .agg(lhs=v.filter(col == "total").sum(), rhs=v.filter(col != "total").sum(), blind=blind.any())
    )
    ambiguous = facts.group_by("report_id", "table_code").agg(
        cells=pl.format("{}/{}", "row_code", "col_code").filter(pl.col("value_kind") == "ambiguous"),
    )
    present = facts.group_by("report_id", "table_code").agg(
        missing=(pl.col("value_kind") == "missing").sum(),
        missing_cells=pl.format("{}/{}", "row_code", "col_code").filter(pl.col("value_kind") == "missing"),
    )
    in_template = (
        facts.select("report_id", "table_code").unique()
        .join(
            outside.group_by("report_id", "table_code").agg(cells=pl.format("{}/{}", "row_code", "col_code")),
            on=["report_id", "table_code"],
            how="left",
        )
    )
    return pl.concat(
        [
            _compare(balance, "requests_balance", "col_code", "一+二", "（七）+四"),
            _compare(row_total, "requests_row_total", "row_code", "总计", "sum of columns"),
            _compare(handled, "requests_handled_total", "col_code", "（七）总计", "sum of （一）to（六）"),
            _compare(review, "review_litigation_total", "row_code", "总计", "sum of results"),
            present.select(
                "report_id",
                pl.lit("cells_present").alias("rule"),
                pl.col("table_code").alias("scope"),
                (pl.col("missing") == 0).alias("passed"),
                pl.lit(None, pl.Float64).alias("lhs"),
                pl.lit(None, pl.Float64).alias("rhs"),
                pl.when(pl.col("missing") > 0)
                .then(pl.format("not printed: {}", pl.col("missing_cells").list.join(", ")))
                .otherwise(pl.lit("all template cells printed"))
                .alias("detail"),
            ),
            in_template.select(
                "report_id",
                pl.lit("cells_in_template").alias("rule"),
                pl.col("table_code").alias("scope"),
                pl.col("cells").is_null().alias("passed"),
                pl.lit(None, pl.Float64).alias("lhs"),
                pl.lit(None, pl.Float64).alias("rhs"),
                pl.when(pl.col("cells").is_null())
                .then(pl.lit("every printed cell is a template cell"))
                .otherwise(pl.format("printed but not in the template: {}", pl.col("cells").list.join(", ")))
                .alias("detail"),
            ),
            ambiguous.select(
                "report_id",
                pl.lit("cell_ambiguous").alias("rule"),
                pl.col("table_code").alias("scope"),
                (pl.col("cells").list.len() == 0).alias("passed"),
                pl.lit(None, pl.Float64).alias("lhs"),
                pl.lit(None, pl.Float64).alias("rhs"),
                pl.when(pl.col("cells").list.len() == 0)
                .then(pl.lit("every cell reads one way"))
                .otherwise(pl.format("glued digits allow several readings: {}", pl.col("cells").list.join(", ")))
                .alias("detail"),
            ),
        ]
    ).sort("report_id", "rule", "scope")
