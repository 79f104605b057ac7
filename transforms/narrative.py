"""Does the report's text say the numbers its tables print? The check `narrative_matches_table`.

A report that writes 受理政府信息公开申请17件 while its table B prints 95 new requests contradicts itself.
The text is cut into sentences and clauses; a clause that states a count of one kind (requests received,
carried over, handled, carried forward, reviews, lawsuits) in the usual wording is a claim, compared with
the table cells that kind may mean (共收到 may or may not include the requests carried over from last year:
both are accepted). Clauses about other years or about parts (较上年, 同比, 其中, 自然人) are not claims, so
that only a plain contradiction fails. Every claim is one check row, its sentence in the detail.
"""

from __future__ import annotations

import polars as pl

from template import REQUESTS, REVIEW_LITIGATION

RULE = "narrative_matches_table"
_N = r"([0-9][0-9,]*)\s*(?:件|宗|个|起|条|次)"
_GAP = r"[^0-9]{0,20}?"
#: claim -> (the clause pattern, its number in group 1; or a pattern meaning zero).
CLAIMS: dict[str, tuple[str, str | None]] = {
    "new_received": (rf"(?:收到|受理|接收|新收|接到){_GAP}申请{_GAP}{_N}",
                     r"(?:未|没有|无)(?:收到|受理|接到)[^0-9]{0,20}申请"),
    "carried_over": (rf"上一?年度?结转{_GAP}{_N}", None),
    "total_handled": (rf"(?:办结|办理完毕|答复完毕){_GAP}{_N}", None),
    "carried_forward": (rf"结转(?:至|到)?下一?年度?{_GAP}{_N}", None),
    "review": (rf"行政复议{_GAP}{_N}", r"(?:未|没有|无)(?:发生|收到|被提起|被申请|出现)?[^0-9]{0,12}行政复议"),
    "litigation": (rf"行政诉讼{_GAP}{_N}", r"(?:未|没有|无)(?:发生|收到|被提起|出现)?[^0-9]{0,12}行政诉讼"),
}
#: Clauses that talk about another year, a change or a part are not claims about this year's totals.
_NOT_A_CLAIM = r"较|同比|去年|上年(?:度)?(?:同期|增|减|的)|增长|下降|增加|减少|其中|自然人|法人|企业|占|%|％|率"
#: claim -> the table cells it may mean (sums of (table, row, col) cells); it passes if it equals any.
ACCEPTED: dict[str, tuple[tuple[tuple[str, str, str], ...], ...]] = {
    "new_received": (((REQUESTS, "new_received", "total"),),
                     ((REQUESTS, "new_received", "total"), (REQUESTS, "carried_over", "total"))),
    "carried_over": (((REQUESTS, "carried_over", "total"),),),
    "total_handled": (((REQUESTS, "total_handled", "total"),),),
    "carried_forward": (((REQUESTS, "carried_forward", "total"),),),
    "review": (((REVIEW_LITIGATION, "review", "total"),),),
    "litigation": (((REVIEW_LITIGATION, "litigation_direct", "total"), (REVIEW_LITIGATION, "litigation_after_review", "total")),
                   ((REVIEW_LITIGATION, "litigation_direct", "total"),),
                   ((REVIEW_LITIGATION, "litigation_after_review", "total"),)),
}
_LABELS = {
    "new_received": "一、本年新收 总计",
    "carried_over": "二、上年结转 总计",
    "total_handled": "（七）总计",
    "carried_forward": "四、结转下年度继续办理 总计",
    "review": "行政复议 总计",
    "litigation": "行政诉讼 总计 (未经复议直接起诉 + 复议后起诉)",
}
CHECK_SCHEMA = {"report_id": pl.String, "rule": pl.String, "scope": pl.String, "passed": pl.Boolean,
                "lhs": pl.Float64, "rhs": pl.Float64, "detail": pl.String}


def narrative_claims(narratives: pl.DataFrame) -> pl.DataFrame:
    """report_id, claim, stated, sentence: every count the text states, one row per clause and kind."""
    clauses = (
        narratives.select("report_id", sentence=pl.col("text").str.split("\n"))
        .explode("sentence")
        .with_columns(pl.col("sentence").str.split("。"))
        .explode("sentence")
        .with_columns(pl.col("sentence").str.strip_chars())
        .filter(pl.col("sentence").str.len_chars() > 0)
        .with_columns(clause=pl.col("sentence").str.replace_all("[；;，,！!？?:：]", "\n").str.split("\n"))
        .explode("clause")
        .filter(~pl.col("clause").str.contains(_NOT_A_CLAIM))
    )
    found = []
    for claim, (pattern, zero) in CLAIMS.items():
        stated = pl.col("clause").str.extract(pattern, 1).str.replace_all(",", "").cast(pl.Float64, strict=False)
        if zero is not None:
            stated = pl.when(pl.col("clause").str.contains(zero)).then(pl.lit(0.0)).otherwise(stated)
        found.append(clauses.select("report_id", "sentence", pl.lit(claim).alias("claim"), stated.alias("stated")))
    return pl.concat(found).drop_nulls("stated").unique(maintain_order=True)


def _table_values(facts: pl.DataFrame) -> pl.DataFrame:
    """report_id, claim, accepted (list of the values the claim may equal), shown (the first of them).

    Every sum of every claim in one pass over the facts (a column each), then one frame per claim."""
    cells = facts.select("report_id", "table_code", "row_code", "col_code", v=pl.col("value").fill_null(0.0))
    sums = {}
    for claim, options in ACCEPTED.items():
        for i, option in enumerate(options):
            wanted = pl.any_horizontal(
                [(pl.col("table_code") == t) & (pl.col("row_code") == r) & (pl.col("col_code") == c) for t, r, c in option]
            )
            sums[f"{claim}/{i}"] = pl.col("v").filter(wanted).sum()
    per_report = cells.group_by("report_id").agg(**sums)
    return pl.concat([
        per_report.select(
            "report_id", shown=pl.col(f"{claim}/0"), accepted=pl.concat_list([f"{claim}/{i}" for i in range(len(options))]),
            claim=pl.lit(claim),
        )
        for claim, options in ACCEPTED.items()
    ])


def narrative_checks(narratives: pl.DataFrame, facts: pl.DataFrame) -> pl.DataFrame:
    """One check row per claim the text makes: passed when the stated number is one the table allows."""
    claims = narrative_claims(narratives)
    if claims.is_empty():
        return pl.DataFrame(schema=CHECK_SCHEMA)
    joined = claims.join(_table_values(facts), on=["report_id", "claim"], how="inner")
    label = pl.col("claim").replace_strict(_LABELS)
    return joined.select(
        "report_id",
        pl.lit(RULE).alias("rule"),
        pl.col("claim").alias("scope"),
        pl.col("accepted").list.contains(pl.col("stated")).alias("passed"),
        pl.col("stated").alias("lhs"),
        pl.col("shown").alias("rhs"),
        pl.format("the text says {} in «{}»; the table says {} ({})",
                  pl.col("stated").cast(pl.Int64), "sentence", pl.col("shown").cast(pl.Int64), label).alias("detail"),
    ).sort("report_id", "scope", "lhs")
