"""The wide tables written at publish give what the views pivoted per query gave; one schema per table.

The reference queries below are the views of schema 5 (pivots of facts at query time), kept here to
compare the tables against.
"""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import duckdb
import polars as pl
import pytest

from flows.pipeline import FILE_SCHEMA, process_batch
from template import MONEY_COLUMNS, TEMPLATE_VERSIONS, cells_for, template_cells
from tests.conftest import SAMPLES
from tests.test_analyst import _variant
from transforms.agencies import PLACE_SCHEMA
from transforms.facts import FACT_COLUMNS, REPORT_SCHEMA
from warehouse import store, tables
from warehouse.analyst import refresh_analyst_tables
from warehouse.cell_codes import number_cells
from warehouse.schema import SCHEMA_VERSION
from warehouse.store import KNOWN_FILE_COLUMNS, RUN_COUNTS, connect, load_batch, record_fetches
from warehouse.tables import FrameMismatch
from warehouse.wide import BY_ROW_VIEWS, WIDE_VIEWS, cells_table


def _typed(column: str, col_code: str) -> str:
    if col_code in MONEY_COLUMNS:
        return column
    return f"case when {column} = trunc({column}) then cast({column} as bigint) end as {column}"


def old_wide_view(table_code: str) -> str:
    pairs = dict.fromkeys((c.row_code, c.col_code) for c in template_cells() if c.table_code == table_code)
    name = {pair: f"{pair[0].replace('.', '_')}__{pair[1]}" for pair in pairs}
    pivoted = ", ".join(f"max(f.value) filter (where f.row_code = '{r}' and f.col_code = '{c}') as {name[r, c]}"
                        for r, c in pairs)
    typed = ", ".join(_typed(name[r, c], c) for r, c in pairs)
    return f"""select report_id, agency_id, agency, year, adcode, province, city, county, template_version,
    requests_template_version, {typed}
from (select r.report_id, r.year, any_value(r.agency_id) as agency_id, any_value(r.agency) as agency,
             any_value(r.adcode) as adcode, any_value(r.province) as province, any_value(r.city) as city,
             any_value(r.county) as county, any_value(r.template_version) as template_version,
             any_value(r.requests_template_version) as requests_template_version, {pivoted}
      from reports r left join facts f on f.report_id = r.report_id and f.table_code = '{table_code}'
      group by r.report_id, r.year)"""


def old_by_row_view(table_code: str, version_column: str) -> str:
    columns = dict.fromkeys(c.col_code for v in reversed(TEMPLATE_VERSIONS) for c in cells_for(v, table_code))
    pivoted = ", ".join(f"max(f.value) filter (where f.col_code = '{col}') as {col}" for col in columns)
    typed = ", ".join(_typed(col, col) for col in columns)
    return f"""select report_id, agency_id, agency, year, template, item, row_code, row_order, row_label_zh,
    row_label_en, {typed}
from (select r.report_id, r.agency_id, r.agency, r.year, r.{version_column} as template, f.item, f.row_code,
             d.row_order, d.row_label_zh, d.row_label_en, {pivoted}
      from facts f join reports r using (report_id)
      left join (select distinct template, row_code, row_order, row_label_zh, row_label_en
                 from cell_dictionary where table_code = '{table_code}') d
             on d.template = r.{version_column} and d.row_code = f.row_code
      where f.table_code = '{table_code}'
      group by all)"""


OLD_MISSING_REPORTS = """
with latest as (select coalesce(source, '') as source_key, max(year) as latest_year from reports group by 1)
select a.agency_id, a.agency, a.source, a.adcode, a.province, a.city, a.county, a.admin_level,
       a.year as last_year, a.year + 1 as missing_year, a.report_id as last_report_id
from agency_reports a
join latest l on l.source_key = coalesce(a.source, '')
where a.year < l.latest_year
  and not exists (select 1 from agency_reports b where b.agency_id = a.agency_id and b.year = a.year + 1)"""


def assert_tables_equal_the_old_views(conn: duckdb.DuckDBPyConnection) -> int:
    """Every wide and by-row view, and missing_reports, equal to the schema-5 query; returns rows compared."""
    compared = 0
    pairs = [(view, old_wide_view(code)) for code, view in WIDE_VIEWS.items()]
    pairs += [(view, old_by_row_view(code, column)) for code, (view, column) in BY_ROW_VIEWS.items()]
    pairs += [("missing_reports", OLD_MISSING_REPORTS)]
    for view, old in pairs:
        new_relation, old_relation = conn.sql(f"select * from {view}"), conn.sql(old)
        assert new_relation.columns == old_relation.columns, view
        assert new_relation.dtypes == old_relation.dtypes, view
        new_rows = conn.execute(f"select * from {view} order by all").fetchall()
        old_rows = conn.execute(f"select * from ({old}) order by all").fetchall()
        assert new_rows == old_rows, view
        compared += len(new_rows)
    return compared


def _sample_paths() -> list[str]:
    return sorted(str(p) for p in SAMPLES.glob("*.txt"))


@pytest.fixture
def variants(tmp_path: Path) -> list[Path]:
    """The samples as two years of one agency and a lone year of another: missing_reports finds a gap."""
    sample = "002_54cd1b08fa028caf.txt"
    return [
        _variant(sample, tmp_path / "a.txt", "平顶山市教育体育局", "淮安市洪泽区人民政府"),
        _variant(sample, tmp_path / "b.txt", "平顶山市教育体育局", "淮安市洪泽区人民政府", year=("2023", "2024"),
                 new_received=20),
        _variant(sample, tmp_path / "c.txt", "平顶山市教育体育局", "淮安市教育局", year=("2023", "2022")),
    ]


def test_the_tables_written_at_publish_equal_the_views_pivoted_per_query(tmp_path, variants):
    db = tmp_path / "w.duckdb"
    with connect(db) as conn:
        load_batch(conn, process_batch(_sample_paths()), "run-1")
        load_batch(conn, process_batch([str(p) for p in variants]), "run-1")
        refresh_analyst_tables(conn, "run-1")
        compared = assert_tables_equal_the_old_views(conn)
        wide_rows = conn.execute(f"select count(*) from {cells_table('requests_wide')}").fetchone()[0]
        gaps = conn.execute("select agency, missing_year from missing_reports order by all").fetchall()
    assert wide_rows == 8
    assert compared > 8 * 3 + 8 * 20
    assert ("淮安市教育局", 2023) in gaps


def test_a_cell_printed_twice_a_fractional_count_and_an_empty_value_are_written_as_the_views_pivoted_them(tmp_path):
    """The wide rows are placed in arrays, not pivoted: the largest of two items' values, a count with a
    fraction NULL, money with one kept, an empty value NULL, as the schema-5 views gave."""
    with connect(tmp_path / "w.duckdb") as conn:
        load_batch(conn, process_batch(_sample_paths()), "run-1")
        # report_id comes from the path: pick a report that prints every cell changed below, wherever the samples are
        report = conn.execute("select min(report_id) from facts where row_code = 'administrative_fees' "
                              "and col_code = 'amount_10k_yuan' and report_id in (select report_id from facts "
                              "where row_code = 'carried_over')").fetchone()[0]
        of_report = "report_id = ? and table_code = 'requests'"
        conn.execute(f"insert into facts select * replace ('second' as item, value + 7 as value) from facts "
                     f"where {of_report} and row_code = 'new_received' and col_code = 'total'", [report])
        conn.execute(f"update facts set value = 2.5 where {of_report} and row_code = 'granted' and col_code = 'total'",
                     [report])
        conn.execute(f"update facts set value = null where {of_report} and row_code = 'carried_over'", [report])
        conn.execute("update facts set value = 1.25 where report_id = ? and row_code = 'administrative_fees' "
                     "and col_code = 'amount_10k_yuan'", [report])
        printed = conn.execute(f"select value from facts where {of_report} and row_code = 'new_received' "
                               "and col_code = 'total' and item <> 'second'", [report]).fetchone()[0]
        refresh_analyst_tables(conn, "run-1")
        assert_tables_equal_the_old_views(conn)
        written = conn.execute("select r.new_received__total, r.granted__total, r.carried_over__total, "
                               "a.administrative_fees__amount_10k_yuan from requests_wide r "
                               "join active_disclosure_wide a using (report_id) where report_id = ?", [report]).fetchone()
    assert written == (printed + 7, None, None, 1.25)


def test_facts_are_placed_in_the_wide_rows_by_cell_id_and_a_cell_of_no_column_is_left_out(tmp_path):
    """The wide rows read each fact's cell_id and take its codes from cell_codes (warehouse/wide.py): a cell
    that no template has (numbered after the rest) and another table's cell with a wide column's row and
    column codes are in no wide column, as in the views pivoted per query."""
    with connect(tmp_path / "w.duckdb") as conn:
        load_batch(conn, process_batch(_sample_paths()), "run-1")
        report = conn.execute("select min(report_id) from reports").fetchone()[0]
        strays = pl.DataFrame({"report_id": [report] * 2, "table_code": ["requests", "active_disclosure"],
                               "item": ["", ""], "row_code": ["no_such_row", "granted"], "col_code": ["total"] * 2,
                               "value": [99.0, 98.0], "value_kind": ["number"] * 2, "unit": [None, None],
                               "raw_text": ["99", "98"], "confidence": [None, None]})
        conn.register("_strays", strays.to_arrow())
        number_cells(conn, strays.select("table_code", "row_code", "col_code").to_arrow())
        conn.execute("insert into facts by name select s.*, c.cell_id from _strays s "
                     "join cell_codes c using (table_code, row_code, col_code)")
        refresh_analyst_tables(conn, "run-1")
        assert_tables_equal_the_old_views(conn)
        granted = conn.execute("select granted__total from requests_wide where report_id = ?", [report]).fetchone()[0]
        printed = conn.execute("select value from facts where report_id = ? and table_code = 'requests' "
                               "and row_code = 'granted' and col_code = 'total'", [report]).fetchone()[0]
        by_row = conn.execute("select total from requests_by_row where report_id = ? and row_code = 'no_such_row'",
                              [report]).fetchall()
    assert granted == printed != 98
    assert by_row == [(99,)]  # a by-row table keeps a row that no template has, as its view did


def test_a_changed_report_replaces_its_wide_rows_and_a_report_written_by_sql_gets_them_at_refresh(tmp_path, variants):
    db = tmp_path / "w.duckdb"
    with connect(db) as conn:
        load_batch(conn, process_batch(_sample_paths() + [str(variants[0])]), "run-1")
        variants[0].write_text(variants[0].read_text(encoding="utf-8").replace("\t\t14\t", "\t\t15\t", 1),
                               encoding="utf-8")
        load_batch(conn, process_batch([str(variants[0])]), "run-2")
        refresh_analyst_tables(conn, "run-2")
        received = conn.execute("select new_received__natural_person from requests_wide "
                                "where agency = '淮安市洪泽区人民政府'").fetchall()
        # A report copied by SQL (as a benchmark builds its warehouse) gets its wide rows at the refresh too.
        conn.execute("insert into reports by name select * replace ('copy' as report_id, 'copy.txt' as source_path) "
                     "from reports where agency = '淮安市洪泽区人民政府'")
        conn.execute("insert into facts by name select * replace ('copy' as report_id) from facts "
                     "where report_id = (select report_id from reports where source_path = ?)", [str(variants[0])])
        conn.execute("delete from reports where agency = '萝北县教育局'")
        refresh_analyst_tables(conn, "run-2")
        assert_tables_equal_the_old_views(conn)
        copied = conn.execute("select new_received__natural_person from requests_wide where report_id = 'copy'").fetchall()
        orphans = conn.execute(f"select count(*) from {cells_table('requests_by_row')} "
                               "where report_id not in (select report_id from reports)").fetchone()[0]
    assert received == [(15,)]
    assert copied == [(15,)]
    assert orphans == 0


def test_a_schema_5_warehouse_migrates_its_views_to_tables(tmp_path):
    db = tmp_path / "old.duckdb"
    with connect(db) as conn:
        load_batch(conn, process_batch(_sample_paths()), "run-1")
        refresh_analyst_tables(conn)
        # Back to schema 5: the wide and by-row views pivoted facts, missing_reports was a view, no *_cells.
        for code, view in WIDE_VIEWS.items():
            conn.execute(f"drop view {view}; drop table {cells_table(view)}")
            conn.execute(f"create view {view} as {old_wide_view(code)}")
        for code, (view, column) in BY_ROW_VIEWS.items():
            conn.execute(f"drop view {view}; drop table {cells_table(view)}")
            conn.execute(f"create view {view} as {old_by_row_view(code, column)}")
        conn.execute(f"drop table missing_reports; create view missing_reports as {OLD_MISSING_REPORTS}")
        conn.execute("update schema_info set schema_version = 5")
    store._ENSURED.clear()
    with connect(db) as conn:
        version = conn.execute("select schema_version from schema_info").fetchone()[0]
        kinds = dict(conn.execute("select table_name, table_type from information_schema.tables "
                                  "where table_name in ('missing_reports', 'requests_wide_cells', 'requests_wide')").fetchall())
        assert_tables_equal_the_old_views(conn)
        rows = conn.execute("select count(*) from requests_wide_cells").fetchone()[0]
    assert version == SCHEMA_VERSION
    assert kinds == {"missing_reports": "BASE TABLE", "requests_wide_cells": "BASE TABLE", "requests_wide": "VIEW"}
    assert rows == 5


@pytest.mark.parametrize("frame, column", [("reports", "agency_id"), ("facts", "value"), ("checks", "detail"),
                                           ("files", "url")])
def test_a_batch_frame_without_a_column_of_its_table_is_refused_and_loads_nothing(tmp_path, frame, column):
    batch = process_batch(_sample_paths())
    setattr(batch, frame, getattr(batch, frame).drop(column))
    db = tmp_path / "w.duckdb"
    with connect(db) as conn:
        with pytest.raises(FrameMismatch, match=f"lacks {column}: "):
            load_batch(conn, batch, "run-1")
        loaded = conn.execute("select (select count(*) from reports) + (select count(*) from ingest_files)").fetchone()[0]
    assert loaded == 0


def test_a_column_of_another_type_or_unknown_to_the_table_is_refused(tmp_path):
    batch = process_batch(_sample_paths())
    batch.reports = batch.reports.with_columns(year=pl.col("year").cast(pl.String), colour=pl.lit("red"))
    with connect(tmp_path / "w.duckdb") as conn, pytest.raises(FrameMismatch) as error:
        load_batch(conn, batch, "run-1")
    assert "has columns the table does not (colour)" in str(error.value)
    assert "year is String, not Int32" in str(error.value)


def test_a_fetch_record_without_a_column_is_refused(tmp_path):
    record = {name: None for name in tables.FETCHES} | {"crawl_id": "c", "source": "s", "url": "https://a.gov.cn/",
                                                        "kind": "listing", "outcome": "failed",
                                                        "fetched_at": "2026-12-01T02:00:00"}
    with connect(tmp_path / "w.duckdb") as conn:
        record_fetches(conn, [record])
        with pytest.raises(FrameMismatch, match="lacks etag"):
            record_fetches(conn, [{k: v for k, v in record.items() if k != "etag"}])
        assert conn.execute("select url, outcome, fetched_at::varchar from fetches").fetchall() == [
            ("https://a.gov.cn/", "failed", "2026-12-01 02:00:00")]


def test_every_copy_of_a_tables_columns_agrees_with_warehouse_tables():
    from extractors import crawl
    from extractors.fetch import FetchResult

    assert tuple(FACT_COLUMNS) == tuple(tables.loaded_schema("facts"))  # cell_id is set by the load
    batch = process_batch(sorted(str(path) for path in SAMPLES.iterdir())[:1])
    assert tuple(batch.checks.columns) == tuple(tables.CHECKS)  # what run_checks makes, not a copy of its names
    assert {**REPORT_SCHEMA, **PLACE_SCHEMA} == {
        name: kind for name, kind in tables.loaded_schema("reports").items() if name != "source"}
    assert FILE_SCHEMA == tables.loaded_schema("ingest_files")
    record = crawl._record("c", "s", "report", FetchResult(url="https://a.gov.cn/", outcome="downloaded"), None, None)
    assert set(record) - {"event"} == set(tables.FETCHES)
    assert set(KNOWN_FILE_COLUMNS) <= set(tables.INGEST_FILES)
    assert set(RUN_COUNTS) <= set(tables.RUNS)
    assert [f.name for f in fields(store.LoadBatch)] == ["reports", "facts", "checks", "files"]


def test_the_duckdb_memory_limit_of_writers_is_set_and_can_be_changed(tmp_path, monkeypatch):
    def limit_of(setting: str) -> str:
        return duckdb.connect().execute(f"set memory_limit = '{setting}'; select current_setting('memory_limit')").fetchone()[0]

    monkeypatch.delenv(store.MEMORY_LIMIT_VARIABLE, raising=False)
    with connect(tmp_path / "w.duckdb") as conn:
        default = conn.execute("select current_setting('memory_limit')").fetchone()[0]
        refresh_analyst_tables(conn)  # runs under it (tests/test_analyst.py)
        after_refresh = conn.execute("select current_setting('memory_limit')").fetchone()[0]
    monkeypatch.setenv(store.MEMORY_LIMIT_VARIABLE, "1GB")
    with connect(tmp_path / "w.duckdb") as conn:
        changed = conn.execute("select current_setting('memory_limit')").fetchone()[0]
    assert store.DEFAULT_MEMORY_LIMIT == "256MB"
    assert default == limit_of("256MB") and changed == limit_of("1GB")
    assert after_refresh == default
    assert os.environ[store.MEMORY_LIMIT_VARIABLE] == "1GB"
