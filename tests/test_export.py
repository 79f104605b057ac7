"""nianbao export: Parquet partitioned by year, CSV with integer counts, XLSX with Chinese headers."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.pipeline import process_batch
from tests.conftest import SAMPLES
from warehouse import export
from warehouse.analyst import refresh_analyst_tables
from warehouse.store import connect, load_batch

_NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("export") / "w.duckdb"
    with connect(db) as conn:
        load_batch(conn, process_batch(sorted(str(p) for p in SAMPLES.glob("*.txt"))), "run-1")
        refresh_analyst_tables(conn)
    return db


def _column(reference: str) -> int:
    """B7 -> 1: a row's cells are placed by their reference, since empty cells are not written."""
    index = 0
    for letter in re.match(r"[A-Z]+", reference).group():
        index = index * 26 + ord(letter) - 64
    return index - 1


def _row(row: ElementTree.Element) -> list[str]:
    cells = {_column(cell.get("r")): "".join(cell.itertext()) for cell in row.findall("x:c", _NS)}
    return [cells.get(i, "") for i in range(max(cells) + 1)] if cells else []


def _sheets(path: Path) -> dict[str, list[list[str]]]:
    """Sheet name -> rows of cell texts, read from the XLSX's XML (inline strings and numbers)."""
    with zipfile.ZipFile(path) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        names = [sheet.get("name") for sheet in workbook.iter(f"{{{_NS['x']}}}sheet")]
        sheets = {}
        for number, name in enumerate(names, start=1):
            root = ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{number}.xml"))
            sheets[name] = [_row(row) for row in root.iter(f"{{{_NS['x']}}}row")]
    return sheets


def test_parquet_is_partitioned_by_year_and_reads_back_whole(samples_db, tmp_path):
    with connect(samples_db, read_only=True) as conn:
        info = export.export_warehouse(conn, "parquet", tmp_path)
        facts = conn.execute("select count(*) from facts").fetchone()[0]
    years = sorted(p.name for p in (tmp_path / "facts_labelled").iterdir())
    read = duckdb.sql(f"select count(*), count(distinct year) from read_parquet('{tmp_path}/facts_labelled/*/*.parquet', "
                      "hive_partitioning = true)").fetchone()
    assert years == ["year=2020", "year=2023", "year=2024"]
    assert read == (facts, 3)
    assert (tmp_path / "agencies.parquet").exists()
    assert {name for name, _, _ in info.tables} == set(export.EXPORTED)


def test_csv_writes_counts_as_integers(samples_db, tmp_path):
    with connect(samples_db, read_only=True) as conn:
        export.export_warehouse(conn, "csv", tmp_path)
    with (tmp_path / "requests_wide.csv").open(encoding="utf-8", newline="") as handle:
        rows = {row["agency"]: row for row in csv.DictReader(handle)}
    with (tmp_path / "facts_labelled.csv").open(encoding="utf-8", newline="") as handle:
        values = {row["value"] for row in csv.DictReader(handle)}
    assert rows["平顶山市教育体育局"]["new_received__total"] == "14"
    assert "14" in values and not any(re.fullmatch(r"\d+\.0", v) for v in values)


def test_xlsx_has_a_sheet_per_table_with_chinese_headers(samples_db, tmp_path):
    with connect(samples_db, read_only=True) as conn:
        export.export_warehouse(conn, "xlsx", tmp_path)
    sheets = _sheets(tmp_path / "nianbao.xlsx")
    assert list(sheets) == list(export.EXPORTED)
    agencies = sheets["agencies"]
    assert agencies[0][:4] == ["机关编号", "机关名称", "曾用名称", "行政区划代码"]
    assert len(agencies) == 6
    wide = sheets["requests_wide"]
    column = wide[0].index("一、本年新收政府信息公开申请数量 / 总计")
    assert sorted(row[column] for row in wide[1:]) == ["0", "0", "0", "0", "14"]


def test_a_table_longer_than_a_sheet_continues_on_the_next(samples_db, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "_XLSX_MAX_ROWS", 400)
    with connect(samples_db, read_only=True) as conn:
        info = export.export_warehouse(conn, "xlsx", tmp_path, tables=("facts_labelled",))
    sheets = _sheets(tmp_path / "nianbao.xlsx")
    rows = dict((name, count) for name, count, _ in info.tables)["facts_labelled"]
    assert list(sheets) == ["facts_labelled", "facts_labelled_2", "facts_labelled_3"]
    assert sum(len(sheet) - 1 for sheet in sheets.values()) == rows
    assert all(sheet[0][1] == "机关名称" for sheet in sheets.values())


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_a_wide_view_exported_is_whole(samples_db, tmp_path, fmt):
    with connect(samples_db, read_only=True) as conn:
        info = export.export_warehouse(conn, fmt, tmp_path, tables=("requests_wide",))
        expected = sorted(conn.execute("select report_id, new_received__total from requests_wide").fetchall())
    if fmt == "csv":
        with (tmp_path / "requests_wide.csv").open(encoding="utf-8", newline="") as handle:
            found = sorted((row["report_id"], int(row["new_received__total"])) for row in csv.DictReader(handle))
    elif fmt == "parquet":
        found = sorted(duckdb.sql("select report_id, new_received__total from "
                                  f"read_parquet('{tmp_path}/requests_wide/*/*.parquet')").fetchall())
    else:
        rows = _sheets(tmp_path / "nianbao.xlsx")["requests_wide"]
        column = rows[0].index("一、本年新收政府信息公开申请数量 / 总计")
        found = sorted((row[0], int(row[column])) for row in rows[1:])
    assert info.tables[0][1] == 5
    assert found == expected


def test_the_export_command(samples_db, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["export", "--format", "csv", "--out", str(tmp_path), "--db", str(samples_db)])
    assert result.exit_code == 0, result.output
    assert "requests_wide" in result.output and (tmp_path / "changes.csv").exists()
    bad = runner.invoke(app, ["export", "--format", "json", "--out", str(tmp_path), "--db", str(samples_db)])
    assert bad.exit_code == 2 and "is not one of parquet, csv, xlsx" in bad.output


def test_sql_prints_whole_numbers_as_integers(samples_db):
    result = CliRunner().invoke(app, ["sql", "select value from facts_labelled where agency = '平顶山市教育体育局' "
                                      "and row_code = 'new_received' and col_code = 'total'", "--db", str(samples_db)])
    assert result.exit_code == 0, result.output
    assert "14" in result.output and "14.0" not in result.output
