"""The template's own arithmetic (勾稽关系) and the row and group totals, checked per report.

A failure is recorded, never fixed: the facts keep the printed numbers. Blank, dash and
missing cells count as 0, so a blank 总计 beside filled parts fails and an all-blank
group passes. A comparison with an ambiguous operand (glued digits that allow several
readings) is not made: its outcome is unknown, and cell_ambiguous fails for the table instead.

Each arithmetic rule is a set of terms: cells with a sign (+1 on the left side, -1 on the
right), grouped by a scope; the rule holds when the signed sum is zero. The same terms tell,
for a cell read by OCR, which value would make its failed checks pass: such a cell, and one
read with low confidence, is flagged (rules ocr_*), never corrected.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from template import REQUESTS, REVIEW_LITIGATION, template_cells

#: Below this recognition confidence an OCRed cell is flagged for a human to read.
OCR_MIN_CONFIDENCE = 0.9
_TOLERANCE = 1e-6
_KEY = ["report_id", "table_code", "row_code", "col_code"]
_HANDLED_ROWS = ("granted", "partially_granted", "other")
_HANDLED_SECTIONS = ("denied.", "unable.", "not_processed.", "other.")


def _is_handled_part(row_code: pl.Expr) -> pl.Expr:
    return row_code.is_in(_HANDLED_ROWS) | pl.any_horizontal([row_code.str.starts_with(p) for p in _HANDLED_SECTIONS])


def arithmetic_terms(facts: pl.DataFrame) -> pl.DataFrame:
    """One row per cell per arithmetic rule it takes part in: rule, scope, sign (+1 left, -1 right), v, and
    blind when the cell is ambiguous; _scope numbers the (rule, scope) pairs, to group by one integer.

    Which cells take part where depends on the cell alone, so it is worked out once on the template's
    cells (_rule_terms) and joined to the facts, instead of filtering the facts once per rule."""
    numbers = facts.select(*_KEY, v=pl.col("value").fill_null(0.0), blind=pl.col("value_kind") == "ambiguous")
    return numbers.join(_rule_terms(), on=_KEY[1:], maintain_order="left")


@cache
def _rule_terms() -> pl.DataFrame:
    """table_code, row_code, col_code -> rule, scope, sign and _scope, for every template cell in an arithmetic rule."""
    cells = pl.DataFrame([(c.table_code, c.row_code, c.col_code) for c in template_cells()], orient="row",
                         schema=_KEY[1:]).unique()
    requests = cells.filter(pl.col("table_code") == REQUESTS)
    row, col = pl.col("row_code"), pl.col("col_code")

    def terms(frame: pl.DataFrame, rule: str, scope: str, left: pl.Expr, right: pl.Expr) -> pl.DataFrame:
        return frame.filter(left | right).select(
            *_KEY[1:], pl.lit(rule).alias("rule"), pl.col(scope).alias("scope"),
            pl.when(left).then(1.0).otherwise(-1.0).alias("sign"),
        )

    terms_ = pl.concat([
        terms(requests, "requests_balance", "col_code",
              row.is_in(["new_received", "carried_over"]), row.is_in(["total_handled", "carried_forward"])),
        terms(requests, "requests_row_total", "row_code", col == "total", col != "total"),
        terms(requests, "requests_handled_total", "col_code", row == "total_handled", _is_handled_part(row)),
        terms(cells.filter(pl.col("table_code") == REVIEW_LITIGATION), "review_litigation_total", "row_code",
              col == "total", col != "total"),
    ])
    return terms_.join(_scopes(terms_), on=["rule", "scope"])


def _scopes(terms: pl.DataFrame) -> pl.DataFrame:
    """rule, scope and _scope (an integer naming the pair), with the words of each side of the rule."""
    labels = pl.DataFrame(list(_SIDES.items()), orient="row", schema=["rule", "sides"])
    return (
        terms.select("rule", "scope").unique().sort("rule", "scope").with_row_index("_scope")
        .join(labels, on="rule")
        .select("rule", "scope", "_scope", lhs_label=pl.col("sides").list.get(0), rhs_label=pl.col("sides").list.get(1))
    )


@cache
def _scope_labels() -> pl.DataFrame:
    """_scope -> rule, scope and the words of the rule's two sides, worked out once."""
    return _rule_terms().select("_scope", "rule", "scope").unique().join(
        _scopes(_rule_terms()).select("_scope", "lhs_label", "rhs_label"), on="_scope"
    )


#: The words of each arithmetic rule's two sides, for its detail.
_SIDES = {
    "requests_balance": ["一+二", "（七）+四"],
    "requests_row_total": ["总计", "sum of columns"],
    "requests_handled_total": ["（七）总计", "sum of （一）to（六）"],
    "review_litigation_total": ["总计", "sum of results"],
}


def _arithmetic(terms: pl.DataFrame) -> pl.DataFrame:
    """One row per report and scope whose operands are all known (no ambiguous cell among them)."""
    left = pl.col("sign") > 0
    sums = (
        terms.with_columns(lv=pl.when(left).then(pl.col("v")).otherwise(0.0), rv=pl.when(left).then(0.0).otherwise(pl.col("v")))
        .group_by("report_id", "_scope")
        .agg(lhs=pl.col("lv").sum(), rhs=pl.col("rv").sum(), blind=pl.col("blind").any())
        .filter(~pl.col("blind"))
    )
    return sums.join(_scope_labels(), on="_scope").select(
        "report_id",
        "rule",
        "scope",
        ((pl.col("lhs") - pl.col("rhs")).abs() < _TOLERANCE).alias("passed"),
        "lhs",
        "rhs",
        pl.format("{} = {}, {} = {}", "lhs_label", "lhs", "rhs_label", "rhs").alias("detail"),
    )


def _ocr_flags(facts: pl.DataFrame, terms: pl.DataFrame, results: pl.DataFrame) -> pl.DataFrame:
    """OCRed cells to check by eye: read with low confidence, or the one cell whose correction
    (to `suggested`) makes every failed check it is in pass while it is in no passing check."""
    cell = pl.format("{}/{}/{}", "table_code", "row_code", "col_code")
    low = facts.filter(pl.col("confidence") < OCR_MIN_CONFIDENCE).select(
        "report_id",
        pl.lit("ocr_low_confidence").alias("rule"),
        cell.alias("scope"),
        pl.lit(False).alias("passed"),
        pl.col("confidence").alias("lhs"),
        pl.lit(OCR_MIN_CONFIDENCE).alias("rhs"),
        pl.format("read by OCR as '{}' with confidence {}: read the printed cell", "raw_text",
                  pl.col("confidence").round(3)).alias("detail"),
    )
    ocred = facts.filter(pl.col("confidence").is_not_null()).select(*_KEY, "raw_text", "confidence")
    candidates = (
        terms.join(ocred.select(_KEY), on=_KEY)
        .join(results.select("report_id", "rule", "scope", "passed", "lhs", "rhs"), on=["report_id", "rule", "scope"])
        .with_columns(suggested=pl.col("v") - pl.col("sign") * (pl.col("lhs") - pl.col("rhs")))
        .group_by(_KEY)
        .agg(
            pl.col("passed").any().alias("in_passing"),
            pl.col("suggested").min().alias("low"),
            pl.col("suggested").max().alias("high"),
            pl.col("v").first(),
            pl.col("rule").filter(~pl.col("passed")).sort().str.join(", ").alias("rules"),
        )
        .filter(~pl.col("in_passing") & ((pl.col("high") - pl.col("low")).abs() < _TOLERANCE) & (pl.col("low") >= 0))
        .join(ocred, on=_KEY)
    )
    fits = candidates.select(
        "report_id",
        pl.lit("ocr_correction_fits").alias("rule"),
        cell.alias("scope"),
        pl.lit(False).alias("passed"),
        pl.col("v").alias("lhs"),
        pl.col("low").alias("rhs"),
        pl.format("read by OCR as '{}' (confidence {}); {} would make {} pass: read the printed cell",
                  pl.col("raw_text").fill_null(""), pl.col("confidence").round(3), pl.col("low"), "rules").alias("detail"),
    )
    return pl.concat([low, fits])


def run_checks(facts: pl.DataFrame, outside: pl.DataFrame) -> pl.DataFrame:
    terms = arithmetic_terms(facts)
    cell = pl.format("{}/{}", "row_code", "col_code")
    # One pass over the facts per report and table: the cells not printed and the ambiguous ones.
    tables = facts.group_by("report_id", "table_code").agg(
        missing=(pl.col("value_kind") == "missing").sum(),
        missing_cells=cell.filter(pl.col("value_kind") == "missing"),
        ambiguous_cells=cell.filter(pl.col("value_kind") == "ambiguous"),
    )
    ambiguous = tables.select("report_id", "table_code", cells="ambiguous_cells")
    in_template = (
        tables.select("report_id", "table_code")
        .join(
            outside.group_by("report_id", "table_code").agg(cells=pl.format("{}/{}", "row_code", "col_code")),
            on=["report_id", "table_code"],
            how="left",
        )
    )
    arithmetic = _arithmetic(terms)
    return pl.concat(
        [
            arithmetic,
            _ocr_flags(facts, terms, arithmetic),
            tables.select(
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
