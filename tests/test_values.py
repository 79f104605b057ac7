"""Printed cell text to value_kind, value and unit: nothing filled in, nothing dropped."""

from __future__ import annotations

import polars as pl
import pytest

from transforms.facts import parse_values


def parse(raw: str | None, col_code: str = "natural_person", unit_hint: str | None = None) -> tuple:
    frame = pl.DataFrame(
        {"raw_text": [raw], "col_code": [col_code], "unit_hint": [unit_hint]},
        schema={"raw_text": pl.String, "col_code": pl.String, "unit_hint": pl.String},
    )
    row = parse_values(frame).row(0, named=True)
    return row["value_kind"], row["value"], row["unit"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", ("number", 0.0, None)),
        ("\u00a00", ("number", 0.0, None)),
        ("0 ", ("number", 0.0, None)),
        ("１２", ("number", 12.0, None)),
        ("　４", ("number", 4.0, None)),
        ("1,234", ("number", 1234.0, None)),
        ("-2", ("number", -2.0, None)),
        ("－3", ("number", -3.0, None)),
        ("7件", ("number", 7.0, None)),
        ("", ("blank", None, None)),
        ("\u00a0", ("blank", None, None)),
        ("—", ("dash", None, None)),
        ("/", ("dash", None, None)),
        ("无", ("dash", None, None)),
        ("-", ("dash", None, None)),
        ("见附件", ("text", None, None)),
        (None, ("missing", None, None)),
    ],
)
def test_count_cells(raw, expected):
    assert parse(raw) == expected


def test_money_in_yuan_is_normalised_to_wan_yuan():
    assert parse("251000元", "procurement_amount") == ("number", 25.1, "万元")


def test_money_keeps_long_decimals_in_wan_yuan():
    assert parse("3.567891", "amount_10k_yuan") == ("number", 3.567891, "万元")


def test_a_header_declaring_yuan_converts_bare_numbers():
    assert parse("50000", "amount_10k_yuan", unit_hint="元") == ("number", 5.0, "万元")


def test_a_printed_unit_beats_the_header():
    assert parse("2万元", "amount_10k_yuan", unit_hint="元") == ("number", 2.0, "万元")


@pytest.mark.parametrize(
    "printed",
    [
        "（三）不予公开", "[bookmark: _GoBack]0", "０ ", "行政 许可\u3000", "［bookmark：_GoBack］12",
        "1\x1c2", "\u00a0\t—\n", "[bookmark: x ]不予 [bookmark:y]处理", "㈢ 无法提供",
    ],
)
def test_labels_and_facts_normalise_printed_text_the_same_way(printed):
    """One normalisation, one order (NFKC, whitespace, bookmarks) for the extractors' labels and the facts' texts."""
    from extractors.labels import normalise_label
    from template import normalise_printed
    from transforms.facts import normalised_printed

    in_polars = pl.select(normalised_printed(pl.lit(printed))).item()
    assert normalise_label(printed) == normalise_printed(printed) == in_polars


def test_a_full_width_bookmark_is_dropped_like_a_half_width_one():
    from template import normalise_printed

    assert normalise_printed("［bookmark：_GoBack］12") == normalise_printed("[bookmark: _GoBack]12") == "12"
