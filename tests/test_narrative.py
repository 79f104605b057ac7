"""The narrative check: what the text says against what the tables print."""

from __future__ import annotations

import polars as pl

from flows.pipeline import process_batch
from tests.conftest import SAMPLES
from transforms.narrative import RULE, narrative_checks, narrative_claims

FACT_COLUMNS = {"report_id": pl.String, "table_code": pl.String, "row_code": pl.String, "col_code": pl.String,
                "value": pl.Float64}


def _facts(report_id: str, new: float, carried: float = 0, handled: float | None = None, review: float = 0,
           direct: float = 0, after_review: float = 0) -> pl.DataFrame:
    rows = [
        ("requests", "new_received", new), ("requests", "carried_over", carried),
        ("requests", "total_handled", new + carried if handled is None else handled), ("requests", "carried_forward", 0),
        ("review_litigation", "review", review), ("review_litigation", "litigation_direct", direct),
        ("review_litigation", "litigation_after_review", after_review),
    ]
    return pl.DataFrame([(report_id, t, r, "total", v) for t, r, v in rows], schema=FACT_COLUMNS, orient="row")


def _check(text: str, facts: pl.DataFrame) -> list[tuple]:
    narratives = pl.DataFrame({"report_id": [facts["report_id"][0]], "text": [text]})
    return narrative_checks(narratives, facts).select("scope", "passed", "lhs", "rhs").rows()


def test_a_text_that_contradicts_table_b_fails_with_its_sentence():
    text = "一、总体情况\n2023年，本机关共受理政府信息公开申请 17 件，均已按期答复。"
    checks = narrative_checks(pl.DataFrame({"report_id": ["r"], "text": [text]}), _facts("r", new=95))
    assert checks.select("rule", "scope", "passed", "lhs", "rhs").rows() == [(RULE, "new_received", False, 17.0, 95.0)]
    assert checks["detail"][0] == (
        "the text says 17 in «2023年，本机关共受理政府信息公开申请 17 件，均已按期答复»; the table says 95 (一、本年新收 总计)"
    )


def test_agreeing_numbers_pass_and_received_may_include_the_carried_over():
    text = ("全年新收政府信息公开申请12件，上年结转3件，办结15件。本年度共收到申请15件。"
            "发生行政复议1起，行政诉讼2件。")
    assert _check(text, _facts("r", new=12, carried=3, review=1, direct=1, after_review=1)) == [
        ("carried_over", True, 3.0, 3.0),
        ("litigation", True, 2.0, 2.0),
        ("new_received", True, 12.0, 12.0),
        ("new_received", True, 15.0, 12.0),
        ("review", True, 1.0, 1.0),
        ("total_handled", True, 15.0, 15.0),
    ]


def test_a_stated_zero_is_a_claim_and_other_years_or_parts_are_not():
    assert _check("本年度未收到政府信息公开申请。未发生行政复议和行政诉讼案件。", _facts("r", new=4)) == [
        ("litigation", True, 0.0, 0.0),
        ("new_received", False, 0.0, 4.0),
        ("review", True, 0.0, 0.0),
    ]
    not_claims = "收到申请数量较上年减少5件。其中自然人申请3件。2022年收到申请数量同比增长10件。申请公开率为100%。"
    assert narrative_claims(pl.DataFrame({"report_id": ["r"], "text": [not_claims]})).is_empty()


def test_the_five_samples_raise_no_false_alarm():
    checks = process_batch(sorted(str(p) for p in SAMPLES.glob("*.txt"))).checks.filter(pl.col("rule") == RULE)
    assert checks.filter(~pl.col("passed")).is_empty()
    assert sorted(checks.select("scope", "lhs").rows()) == [("new_received", 0.0), ("new_received", 14.0),
                                                            ("total_handled", 14.0)]


def test_a_report_whose_text_disagrees_with_its_table_is_flagged(tmp_path):
    sample = (SAMPLES / "002_54cd1b08fa028caf.txt").read_text(encoding="utf-8")
    report = tmp_path / "disagrees.txt"
    report.write_text(sample.replace("依申请公开 14 件", "依申请公开 17 件"), encoding="utf-8")
    checks = process_batch([str(report)]).checks.filter((pl.col("rule") == RULE) & ~pl.col("passed"))
    assert checks.select("scope", "lhs", "rhs").rows() == [("new_received", 17.0, 14.0), ("total_handled", 17.0, 14.0)]
    assert "全年收到并办结政府信息公开依申请公开 17 件" in checks["detail"][0]


def test_a_real_report_states_four_numbers_that_its_tables_print():
    real = SAMPLES.parents[1] / "tests" / "fixtures" / "real" / "huaian-city-government-2024.pdf"
    checks = process_batch([str(real)]).checks.filter(pl.col("rule") == RULE)
    assert sorted(checks.select("scope", "passed", "lhs").rows()) == [
        ("carried_over", True, 34.0), ("litigation", True, 46.0), ("new_received", True, 3119.0), ("review", True, 351.0),
    ]
