"""The comparison every reader's test relies on (tests/expected.py) catches a column shift on the real
Huai'an report and a cell whose printed text was trimmed: the faults the nearly all-zero samples hide."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tests.conftest import ROOT, SEED_EXPECTED, read_csv
from tests.expected import fact_differences

HUAIAN_FACTS = ROOT / "tests" / "data" / "real" / "huaian-city-government-2024.facts.csv"
SEED_WITH_SPACES = SEED_EXPECTED / "000_e27b873d04397b06.facts.csv"


def facts_as_read(expected_csv: Path) -> pl.DataFrame:
    """The facts a perfect reader gives for a hand-read CSV: its rows, with values as numbers."""
    rows = read_csv(expected_csv)
    return pl.DataFrame(
        {
            **{name: [row[name] for row in rows] for name in ("table_code", "item", "row_code", "col_code",
                                                             "value_kind", "raw_text")},
            "value": [float(row["value"]) if row["value"] else None for row in rows],
        }
    )


def with_columns_renamed(facts: pl.DataFrame, table: str, renamed: dict[str, str]) -> pl.DataFrame:
    """The facts with table `table`'s cells moved to other columns: what a reader that misaligns does."""
    moved = pl.col("col_code").replace(renamed)
    return facts.with_columns(col_code=pl.when(pl.col("table_code") == table).then(moved).otherwise("col_code"))


def test_the_real_facts_read_perfectly_show_no_difference():
    assert fact_differences(facts_as_read(HUAIAN_FACTS), HUAIAN_FACTS) == []


def test_two_swapped_columns_of_table_b_are_caught_in_every_row_where_they_differ():
    facts = facts_as_read(HUAIAN_FACTS)
    swapped = with_columns_renamed(facts, "requests", {"natural_person": "commercial_enterprise",
                                                       "commercial_enterprise": "natural_person"})
    differences = fact_differences(swapped, HUAIAN_FACTS)

    requests = facts.filter(pl.col("table_code") == "requests")
    by_column = requests.pivot("col_code", index="row_code", values="value")
    rows_that_differ = by_column.filter(pl.col("natural_person") != pl.col("commercial_enterprise"))["row_code"]
    assert rows_that_differ.len() == 23  # of table B's 25 rows; the other two print 0 in both
    assert len(differences) == 4 * rows_that_differ.len()  # value and raw_text, in each of the two cells
    assert "('requests', 'new_received', 'natural_person'): value 53.0, expected 3001.0" in differences
    assert "('requests', 'new_received', 'commercial_enterprise'): raw_text '3001', expected '53'" in differences


def test_the_same_swap_passes_unseen_on_four_of_the_five_samples():
    """Why the real report is needed: the samples print zeros in both columns, or in all of them."""
    swap = {"natural_person": "commercial_enterprise", "commercial_enterprise": "natural_person"}
    unseen = [path.name[:3] for path in sorted(SEED_EXPECTED.glob("*.facts.csv"))
              if fact_differences(with_columns_renamed(facts_as_read(path), "requests", swap), path) == []]
    assert unseen == ["000", "001", "003", "004"]


def test_a_shift_by_one_column_is_caught_in_each_table():
    facts = facts_as_read(HUAIAN_FACTS)
    shifts = {
        "active_disclosure": {"issued": "repealed", "repealed": "in_force", "in_force": "issued"},
        "requests": {"natural_person": "commercial_enterprise", "commercial_enterprise": "research_institution",
                     "research_institution": "social_welfare_org", "social_welfare_org": "legal_service_agency",
                     "legal_service_agency": "other_org", "other_org": "total", "total": "natural_person"},
        "review_litigation": {"upheld": "corrected", "corrected": "other_result", "other_result": "pending",
                              "pending": "total", "total": "upheld"},
    }
    for table, shift in shifts.items():
        differences = fact_differences(with_columns_renamed(facts, table, shift), HUAIAN_FACTS)
        assert differences, table
        assert all(line.startswith(f"('{table}', ") for line in differences), table
    assert "('active_disclosure', 'regulations', 'repealed'): value 1.0, expected 0.0" in fact_differences(
        with_columns_renamed(facts, "active_disclosure", shifts["active_disclosure"]), HUAIAN_FACTS)


def test_a_printed_text_trimmed_of_its_spaces_is_caught():
    # Seed 000 prints many of its zeros with a no-break space before or after: ' 0', '0 '.
    printed = facts_as_read(SEED_WITH_SPACES)
    assert printed.filter(pl.col("raw_text").str.contains("\u00a0")).height == 175
    trimmed = printed.with_columns(raw_text=pl.col("raw_text").str.strip_chars())
    differences = fact_differences(trimmed, SEED_WITH_SPACES)
    assert len(differences) == 175
    assert all(": raw_text '0', expected " in line for line in differences)


def test_a_space_added_to_a_printed_number_is_caught():
    facts = facts_as_read(HUAIAN_FACTS)
    spaced = facts.with_columns(
        raw_text=pl.when((pl.col("row_code") == "new_received") & (pl.col("col_code") == "natural_person"))
        .then(pl.lit(" 3001"))
        .otherwise("raw_text")
    )
    assert fact_differences(spaced, HUAIAN_FACTS) == [
        "('requests', 'new_received', 'natural_person'): raw_text ' 3001', expected '3001'"
    ]
