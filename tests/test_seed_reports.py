"""Every cell of every table of the five sample reports, against values read from the files by hand."""

from __future__ import annotations

import pytest

from flows.pipeline import process_batch
from tests.conftest import SAMPLES, SEED_EXPECTED, read_csv
from tests.expected import fact_differences

SEED_METADATA = {row["file"]: row for row in read_csv(SEED_EXPECTED / "metadata.csv")}


@pytest.fixture(scope="module")
def seed_batch():
    return process_batch([str(SAMPLES / name) for name in sorted(SEED_METADATA)])


def test_every_sample_report_loads(seed_batch):
    assert seed_batch.files["status"].to_list() == ["loaded"] * 5
    assert seed_batch.files["error"].to_list() == [None] * 5


@pytest.mark.parametrize("name", sorted(SEED_METADATA))
def test_every_cell_matches_the_hand_read_values(seed_batch, name):
    report_id = seed_batch.files.filter(seed_batch.files["path"].str.ends_with(name))["report_id"].item()
    facts = seed_batch.facts.filter(seed_batch.facts["report_id"] == report_id)
    assert fact_differences(facts, SEED_EXPECTED / name.replace(".txt", ".facts.csv")) == []


@pytest.mark.parametrize("name", sorted(SEED_METADATA))
def test_report_metadata_matches(seed_batch, name):
    expected = SEED_METADATA[name]
    report = seed_batch.reports.filter(seed_batch.reports["source_path"].str.ends_with(name)).row(0, named=True)
    assert report["agency"] == expected["agency"]
    assert report["year"] == int(expected["year"])
    assert report["template_version"] == expected["template_version"]
    assert report["requests_template_version"] == expected["requests_template_version"]
    assert (report["signature_date"].isoformat() if report["signature_date"] else "") == expected["signature_date"]
    assert report["encoding"] == "utf-8"
    assert len(report["sha256"]) == 64


def test_sample_reports_pass_every_check(seed_batch):
    failed = seed_batch.checks.filter(~seed_batch.checks["passed"])
    assert failed.height == 0, failed.to_dicts()


def test_the_two_text_layouts_are_told_apart(seed_batch):
    readers = dict(zip(seed_batch.reports["source_path"].str.split("/").list.last(), seed_batch.reports["reader"]))
    assert readers["002_54cd1b08fa028caf.txt"] == "text/row-per-line"
    assert readers["000_e27b873d04397b06.txt"] == "text/cell-per-line"
