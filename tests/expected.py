"""Comparing extracted facts with the hand-read expectations kept under tests/."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from tests.conftest import read_csv

FACT_KEY = ("table_code", "row_code", "col_code")


def expected_facts(path: Path) -> dict[tuple[str, str, str], dict[str, str]]:
    return {tuple(row[k] for k in FACT_KEY): row for row in read_csv(path)}


def fact_differences(facts: pl.DataFrame, expected_csv: Path) -> list[str]:
    """Every cell whose kind, value or printed text differs from the expectation, and any cell
    present on one side only. An empty list means every cell is right.

    raw_text is compared exactly, spaces and all: it is the cell as printed (a no-break space
    around a 0 included), and the expectation holds it so. A cell the report does not print
    (kind 'missing') has no text: its expected raw_text is empty in the CSV."""
    expected = expected_facts(expected_csv)
    actual = {tuple(row[k] for k in FACT_KEY): row for row in facts.iter_rows(named=True)}
    problems = [f"missing from facts: {key}" for key in expected.keys() - actual.keys()]
    problems += [f"not expected: {key}" for key in actual.keys() - expected.keys()]
    for key in expected.keys() & actual.keys():
        want, got = expected[key], actual[key]
        want_value = float(want["value"]) if want["value"] else None
        if got["value_kind"] != want["value_kind"]:
            problems.append(f"{key}: kind {got['value_kind']!r}, expected {want['value_kind']!r}")
        if (got["value"] is None) != (want_value is None) or (
            want_value is not None and abs(got["value"] - want_value) > 1e-9
        ):
            problems.append(f"{key}: value {got['value']!r}, expected {want_value!r}")
        want_text = None if want["value_kind"] == "missing" else want["raw_text"]
        if got["raw_text"] != want_text:
            problems.append(f"{key}: raw_text {got['raw_text']!r}, expected {want_text!r}")
        if got["item"] != want["item"]:
            problems.append(f"{key}: item {got['item']!r}, expected {want['item']!r}")
    return sorted(problems)


def warehouse_state(db: Path) -> dict[str, list[tuple]]:
    """What a run loads, without the columns that name the run or the time."""
    queries = {
        "reports": "select * exclude (run_id, loaded_at) from reports order by all",
        "facts": "select * from facts order by all",
        "checks": "select * from checks order by all",
        "ingest_files": "select * exclude (run_id, updated_at) from ingest_files order by all",
    }
    with duckdb.connect(str(db), read_only=True) as conn:
        return {table: conn.execute(sql).fetchall() for table, sql in queries.items()}
