"""The analyst layer: agencies and their regions, year-on-year changes, metrics, coverage, template order."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from extractors.files import SourceRef
from flows.pipeline import process_batch
from flows.sources import SourcesFileError, load_sources, tag_sources
from template import rows_for
from tests.conftest import SAMPLES
from transforms.agencies import place_agency
from warehouse import analyst, wide
from warehouse.analyst import CHANGES_ORDER, refresh_analyst_tables
from warehouse.cell_codes import number_cells
from warehouse.schema import SCHEMA_VERSION
from warehouse.sql import one_row, scalar, transaction
from warehouse.store import connect, load_batch

SAMPLE_CODES = {
    "繁峙县教育科技局": "140924",
    "尖山区教体局": "230502",
    "平顶山市教育体育局": "410400",
    "萝北县教育局": "230421",
    "乌拉特中旗教育局": "150824",
}
NEW_RECEIVED_002 = "一、本年新收政府信息公开申请数量\t\t14\t0\t0\t0\t0\t0\t14"


def _variant(sample: str, target: Path, agency_from: str, agency_to: str, *, year: tuple[str, str] | None = None,
             new_received: int | None = None) -> Path:
    """A sample report re-titled for another agency name (and year), optionally with other new requests."""
    text = (SAMPLES / sample).read_text(encoding="utf-8").replace(agency_from, agency_to)
    if year:
        text = text.replace(*year)
    if new_received is not None:
        text = text.replace(NEW_RECEIVED_002, NEW_RECEIVED_002.replace("14", str(new_received)))
    target.write_text(text, encoding="utf-8")
    return target


def _load(db: Path, refs: list) -> None:
    with connect(db) as conn:
        load_batch(conn, process_batch(refs), "run-1")
        refresh_analyst_tables(conn)


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("analyst") / "w.duckdb"
    _load(db, sorted(str(p) for p in SAMPLES.glob("*.txt")))
    return db


def test_the_sample_agencies_resolve_to_their_gbt2260_codes(samples_db):
    with connect(samples_db, read_only=True) as conn:
        found = dict(conn.execute("select agency, adcode from reports").fetchall())
        regions = conn.execute(
            "select province, city, county, admin_level, region_method from reports where agency = '萝北县教育局'"
        ).fetchone()
        agencies = conn.execute("select count(*), count(distinct agency_id) from agencies").fetchone()
    assert found == SAMPLE_CODES
    assert regions == ("黑龙江省", "鹤岗市", "萝北县", "county", "name")
    assert agencies == (5, 5)


def test_two_name_variants_in_two_years_are_one_agency_with_both_years_in_changes(tmp_path):
    sample = "002_54cd1b08fa028caf.txt"
    first = _variant(sample, tmp_path / "a.txt", "平顶山市教育体育局", "洪泽区人民政府（淮安市）")
    second = _variant(sample, tmp_path / "b.txt", "平顶山市教育体育局", "淮安市洪泽区人民政府",
                      year=("2023", "2024"), new_received=20)
    db = tmp_path / "w.duckdb"
    _load(db, [str(first), str(second)])
    with connect(db, read_only=True) as conn:
        ids = conn.execute("select distinct agency_id, adcode from reports").fetchall()
        agency = conn.execute(
            "select name, names, adcode, county, admin_level, kind, first_year, last_year, reports from agencies"
        ).fetchall()
        change = conn.execute(
            "select year, value, previous_value, change, change_pct from changes "
            "where table_code = 'requests' and row_code = 'new_received' and col_code = 'total' order by year"
        ).fetchall()
        missing = conn.execute("select count(*) from missing_reports").fetchone()[0]
    assert len(ids) == 1 and ids[0][1] == "320813"
    assert agency == [("淮安市洪泽区人民政府", ["洪泽区人民政府(淮安市)", "淮安市洪泽区人民政府"], "320813", "洪泽区",
                       "county", "人民政府", 2023, 2024, 2)]
    assert change == [(2023, 14.0, None, None, None), (2024, 20.0, 14.0, 6.0, 42.86)]
    assert missing == 0


def test_an_ambiguous_name_stays_null_with_its_reason_unless_the_source_or_the_text_says_where(tmp_path):
    report = _variant("000_e27b873d04397b06.txt", tmp_path / "c.txt", "繁峙县教育科技局", "朝阳区教育局")
    undecided = process_batch([SourceRef(str(report))]).reports.row(0, named=True)
    declared = process_batch([SourceRef(str(report), source="长春", region="吉林省长春市")]).reports.row(0, named=True)
    assert undecided["adcode"] is None and undecided["province"] is None
    assert "ambiguous: 朝阳区 is 北京市朝阳区 (110105) or 吉林省长春市朝阳区 (220104)" in undecided["region_reason"]
    assert (declared["adcode"], declared["city"], declared["region_method"], declared["source"]) == (
        "220104", "长春市", "declared", "长春")
    from_text = place_agency("朝阳区教育局", None, "根据北京市政务公开工作要点，现将年度报告公布如下")
    assert (from_text["adcode"], from_text["region_method"]) == ("110105", "text")
    assert place_agency("教育局", None, "")["region_reason"].startswith("no_region_in_name")


def test_traditional_characters_and_full_width_brackets_make_the_same_agency():
    simplified = place_agency("洪泽区人民政府（淮安市）", None, "")
    traditional = place_agency("淮安市洪澤區人民政府", None, "")
    assert simplified["agency_id"] == traditional["agency_id"]
    assert traditional["adcode"] == "320813"
    township = place_agency("繁峙县砂河镇人民政府", None, "")
    assert (township["township"], township["admin_level"], township["adcode"]) == ("砂河镇", "township", "140924")


def test_a_sources_file_declares_a_region_per_source_and_refuses_one_it_cannot_place(tmp_path):
    (tmp_path / "reports").mkdir()
    good = tmp_path / "good.toml"
    good.write_text('[[sources]]\nname = "cc"\npath = "reports"\nregion = "吉林省长春市"\n', encoding="utf-8")
    source = load_sources(good)[0]
    assert source.region == "吉林省长春市"
    from flows.plan import PlannedFile
    tagged = tag_sources([PlannedFile(str(tmp_path / "reports" / "x.txt"), "", 0)], [source], {})
    assert (tagged[0].source, tagged[0].region) == ("cc", "吉林省长春市")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\npath = "reports"\nregion = "朝阳区"\n', encoding="utf-8")
    with pytest.raises(SourcesFileError, match=r"bad.toml: \[\[sources\]\] entry 1: region '朝阳区' must name one region"):
        load_sources(bad)


def test_metrics_and_their_regional_roll_up(samples_db):
    with connect(samples_db, read_only=True) as conn:
        metrics = dict(conn.execute(
            "select metric, value from metrics where agency = '平顶山市教育体育局'").fetchall())
        facts = dict(conn.execute(
            "select row_code, value from facts f join reports r using (report_id) "
            "where r.agency = '平顶山市教育体育局' and table_code = 'requests' and col_code = 'total'").fetchall())
        henan = conn.execute(
            "select region, value, reports from region_metrics "
            "where level = 'province' and adcode = '410000' and metric = 'requests_per_report'").fetchall()
        heilongjiang = conn.execute(
            "select year, value, reports from region_metrics "
            "where level = 'province' and adcode = '230000' and metric = 'requests_per_report' order by year").fetchall()
        keys = {row[0] for row in conn.execute("select key from metric_dictionary").fetchall()}
    handled = facts["total_handled"]
    assert handled == 14
    assert metrics["disclosure_rate"] == pytest.approx((facts["granted"] + facts["partially_granted"]) / handled)
    assert metrics["not_held_rate"] == pytest.approx(facts["unable.not_held"] / handled)
    assert metrics["requests_per_report"] == 14
    assert metrics["review_correction_rate"] is None  # no reviews: 0 / 0 is no rate
    assert henan == [("河南省", 14.0, 1)]
    assert heilongjiang == [(2020, 0.0, 1), (2024, 0.0, 1)]
    assert keys == set(metrics)


def _by_codes(conn, sql: str) -> str:
    """The metrics' placeholders as tests of the facts' three codes, as the sums were written before cell ids."""
    def codes(match) -> str:
        table, row, col = match.groups()
        return f"table_code = '{table}' and row_code {'like' if '%' in row else '='} '{row}' and col_code = '{col}'"
    return analyst._CELL_PLACEHOLDER.sub(codes, sql)


def test_the_metrics_sum_the_facts_their_cell_ids_name_as_their_codes_would(tmp_path, monkeypatch):
    """The metrics' sums test each fact's cell_id (warehouse/analyst.py's `_cell`); a denial reason that no
    template has, numbered after the rest when it is loaded, is one of the 'denied.%' rows all the same."""
    db = tmp_path / "w.duckdb"
    _load(db, sorted(str(p) for p in SAMPLES.glob("*.txt")))
    with connect(db) as conn:
        report = conn.execute("select report_id from reports where agency = '平顶山市教育体育局'").fetchone()[0]
        number_cells(conn, pl.DataFrame({"table_code": ["requests"], "row_code": ["denied.other_reason"],
                                         "col_code": ["total"]}).to_arrow())
        conn.execute("insert into facts by name select * replace ('denied.other_reason' as row_code, 3.0 as value, "
                     "(select cell_id from cell_codes where row_code = 'denied.other_reason') as cell_id) from facts "
                     "where report_id = ? and row_code = 'denied.state_secret' and col_code = 'total'", [report])
        refresh_analyst_tables(conn)
        by_id = conn.execute("select * from metrics order by all").fetchall()
        denied = conn.execute("select numerator from metrics where report_id = ? and metric = 'denial_rate'",
                              [report]).fetchone()[0]
        monkeypatch.setattr(analyst, "_cells_by_id", _by_codes)
        refresh_analyst_tables(conn)
        by_codes = conn.execute("select * from metrics order by all").fetchall()
    assert denied == 3.0  # the sample denies nothing; the stray reason's 3 counts
    assert by_id == by_codes and len(by_id) == 8 * len(SAMPLE_CODES)

def test_a_run_refreshes_only_its_agencies_and_ends_as_a_full_refresh(tmp_path):
    db = tmp_path / "w.duckdb"
    _load(db, sorted(str(p) for p in SAMPLES.glob("*.txt")))
    later = _variant("002_54cd1b08fa028caf.txt", tmp_path / "2024.txt", "平顶山市教育体育局", "平顶山市教育体育局",
                     year=("2023", "2024"), new_received=30)
    tables = ("agencies", "changes", "metrics", "region_metrics")
    with connect(db) as conn:
        load_batch(conn, process_batch([str(later)]), "run-2")
        refresh_analyst_tables(conn, "run-2")
        incremental = {t: conn.execute(f"select * from {t} order by all").fetchall() for t in tables}
        refresh_analyst_tables(conn)
        full = {t: conn.execute(f"select * from {t} order by all").fetchall() for t in tables}
        change = conn.execute(
            "select previous_value, change from changes where agency = '平顶山市教育体育局' and year = 2024 "
            "and table_code = 'requests' and row_code = 'new_received' and col_code = 'total'").fetchall()
    assert incremental == full
    assert change == [(14.0, 16.0)]


def _stored_order(conn) -> tuple[list, list]:
    """changes as stored (by rowid) and as sorted in CHANGES_ORDER, as (year, block, cell, agency) keys."""
    key = f"{CHANGES_ORDER}, rowid"
    stored = conn.execute(f"select {CHANGES_ORDER} from changes order by rowid").fetchall()
    return stored, conn.execute(f"select {CHANGES_ORDER} from changes order by {key}").fetchall()


def test_changes_is_stored_in_agency_blocks_and_an_incremental_refresh_keeps_it_so(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    _load(db, sorted(str(p) for p in SAMPLES.glob("*.txt")))
    later = _variant("002_54cd1b08fa028caf.txt", tmp_path / "2024.txt", "平顶山市教育体育局", "平顶山市教育体育局",
                     year=("2023", "2024"), new_received=30)
    with connect(db) as conn:
        stored, ordered = _stored_order(conn)
        assert stored == ordered and len(stored) > 500
        load_batch(conn, process_batch([str(later)]), "run-2")
        # Under the share, the agency's rows (both its years) are appended as a sorted run after the rest.
        monkeypatch.setattr(analyst, "REORDER_SHARE", 1.0)
        refresh_analyst_tables(conn, "run-2")
        agency_rows = conn.execute("select count(*) from changes where agency = '平顶山市教育体育局'").fetchone()[0]
        unordered = conn.execute("select unordered_rows from analyst_order where table_name = 'changes'").fetchone()
        tail = conn.execute(f"select agency, {CHANGES_ORDER} from changes order by rowid offset "
                            f"(select count(*) - {agency_rows} from changes)").fetchall()
        assert unordered == (agency_rows,)
        assert {row[0] for row in tail} == {"平顶山市教育体育局"} and [r[1:] for r in tail] == sorted(r[1:] for r in tail)
        # Past the share (that agency is a third of the rows), the table is rewritten in order.
        monkeypatch.setattr(analyst, "REORDER_SHARE", 0.25)
        refresh_analyst_tables(conn, "run-2")
        stored, ordered = _stored_order(conn)
        unordered = conn.execute("select unordered_rows from analyst_order where table_name = 'changes'").fetchone()
        # A warehouse whose changes predates the order (no count) is rewritten at its next refresh.
        conn.execute("delete from analyst_order")
        monkeypatch.setattr(analyst, "REORDER_SHARE", 1.0)
        refresh_analyst_tables(conn, "run-2")
        upgraded = conn.execute("select unordered_rows from analyst_order where table_name = 'changes'").fetchone()
        stored_upgraded, ordered_upgraded = _stored_order(conn)
    assert stored == ordered
    assert unordered == (0,)
    assert upgraded == (0,)
    assert stored_upgraded == ordered_upgraded


def test_a_full_build_written_slice_by_slice_stores_the_same_changes_in_the_same_order(tmp_path, monkeypatch):
    """A large build writes changes one slice of (year, agency block)s at a time, to bound its memory: the table
    must be the one a single statement writes, row for row and in the stored order."""
    samples = sorted(str(p) for p in SAMPLES.glob("*.txt"))
    later = _variant("002_54cd1b08fa028caf.txt", tmp_path / "2024.txt", "平顶山市教育体育局", "平顶山市教育体育局",
                     year=("2023", "2024"), new_received=30)
    tables = {}
    for name, bytes_per_report in (("one statement", 1), ("sliced", 2**50)):  # a slice of all, or of one report
        monkeypatch.setattr(analyst, "CHANGE_BYTES_PER_REPORT", bytes_per_report)
        _load(tmp_path / f"{bytes_per_report}.duckdb", [*samples, str(later)])
        with connect(tmp_path / f"{bytes_per_report}.duckdb") as conn:
            slices = conn.execute("select count(distinct (year, left(agency_id, 1))) from changes").fetchone()[0]
            with_previous = conn.execute("select count(*) from changes where previous_value is not null").fetchone()[0]
            tables[name] = conn.execute("select *, rowid from changes order by rowid").fetchall()
    assert slices > 1 and with_previous > 0
    assert len(tables["one statement"]) > 500
    assert tables["sliced"] == tables["one statement"]


class _SliceSpy:
    """A connection that records, before `_pairs` is dropped, how many reports each slice of the build held."""

    def __init__(self, conn):
        self.conn, self.slices = conn, []

    def execute(self, sql, *args):
        if sql == "drop table _pairs":
            self.slices = self.conn.execute("select count(*) from _pairs group by slice order by slice").fetchall()
        return self.conn.execute(sql, *args)


def test_the_changes_slices_are_sized_by_duckdbs_memory_limit(tmp_path, monkeypatch):
    """Each slice holds about memory limit / CHANGE_BYTES_PER_REPORT reports, a (year, agency block) never split:
    under a limit for one report a slice, one slice per block; under a limit for all of them, one slice."""
    _load(tmp_path / "w.duckdb", sorted(str(p) for p in SAMPLES.glob("*.txt")))
    monkeypatch.setattr(analyst, "CHANGE_BYTES_PER_REPORT", 40 * 2**20)
    sizes = {}
    with connect(tmp_path / "w.duckdb") as conn:
        reports = scalar(conn, "select count(*) from agency_reports")
        blocks = conn.execute("select count(*) from agency_reports group by year, left(agency_id, 1) "
                              "order by year, left(agency_id, 1)").fetchall()
        for limit in ("64MB", "1GB"):  # 61 MiB: one report a slice; 954 MiB: 23
            conn.execute(f"set memory_limit = '{limit}'")
            spy = _SliceSpy(conn)
            with transaction(conn):
                conn.execute(analyst.AFFECTED, {"run_id": None})
                analyst._insert_changes(spy)
            sizes[limit] = spy.slices
    assert len(blocks) > 1 and reports < 23
    assert sizes == {"64MB": blocks, "1GB": [(reports,)]}


def test_missing_reports_lists_an_agency_that_stopped_publishing(tmp_path):
    sample = "002_54cd1b08fa028caf.txt"
    reports = [
        _variant(sample, tmp_path / "a2022.txt", "平顶山市教育体育局", "平顶山市财政局", year=("2023", "2022")),
        _variant(sample, tmp_path / "a2023.txt", "平顶山市教育体育局", "平顶山市财政局"),
        _variant(sample, tmp_path / "b2022.txt", "平顶山市教育体育局", "平顶山市民政局", year=("2023", "2022")),
    ]
    db = tmp_path / "w.duckdb"
    _load(db, [SourceRef(str(p), source="pds") for p in reports])
    with connect(db, read_only=True) as conn:
        missing = conn.execute("select agency, source, adcode, last_year, missing_year from missing_reports").fetchall()
    assert missing == [("平顶山市民政局", "pds", "410400", 2022, 2023)]


def test_by_row_views_and_the_dictionary_carry_template_order_and_labels(samples_db):
    with connect(samples_db, read_only=True) as conn:
        rows = conn.execute(
            "select row_code, row_label_zh, total from requests_by_row where agency = '平顶山市教育体育局' order by row_order"
        ).fetchall()
        review = conn.execute(
            "select row_code, row_label_zh from review_litigation_by_row where agency = '萝北县教育局' order by row_order"
        ).fetchall()
        active = conn.execute(
            "select count(*) from active_disclosure_by_row where agency = '萝北县教育局' and row_order is null"
        ).fetchone()[0]
        types = dict(conn.execute(
            "select column_name, data_type from information_schema.columns where table_name = 'requests_wide'"
        ).fetchall())
        fee_type = conn.execute(
            "select data_type from information_schema.columns "
            "where table_name = 'active_disclosure_wide' and column_name = 'administrative_fees__amount_10k_yuan'"
        ).fetchone()[0]
    assert [code for code, _, _ in rows] == list(rows_for("2021", "requests"))
    assert rows[0] == ("new_received", "一、本年新收政府信息公开申请数量", 14)
    assert [code for code, _ in review] == ["review", "litigation_direct", "litigation_after_review"]
    assert active == 0
    assert types["new_received__total"] == "BIGINT" and fee_type == "DOUBLE"


def test_a_warehouse_from_before_the_analyst_layer_is_migrated(tmp_path):
    db = tmp_path / "old.duckdb"
    with connect(db) as conn:
        conn.execute("alter table reports drop column agency_id; alter table cell_dictionary drop column row_order; "
                     "update schema_info set schema_version = 4")
    from warehouse import store
    store._ENSURED.clear()
    with connect(db) as conn:
        version = conn.execute("select schema_version from schema_info").fetchone()[0]
        columns = {r[0] for r in conn.execute("select column_name from information_schema.columns "
                                               "where table_name in ('reports', 'cell_dictionary')").fetchall()}
        ordered = conn.execute("select count(*) from cell_dictionary where row_order is null").fetchone()[0]
    assert version == SCHEMA_VERSION
    assert {"agency_id", "adcode", "row_order"} <= columns
    assert ordered == 0


@pytest.mark.usefixtures("prefect_server")
def test_an_ingest_places_reports_by_their_source_region_and_publishes_the_analyst_tables(tmp_path):
    from typer.testing import CliRunner

    from flows.cli import app

    (tmp_path / "changchun").mkdir()
    _variant("000_e27b873d04397b06.txt", tmp_path / "changchun" / "c.txt", "繁峙县教育科技局", "朝阳区教育局")
    (tmp_path / "sources.toml").write_text(
        '[[sources]]\nname = "changchun"\npath = "changchun"\nregion = "220100"\n', encoding="utf-8")
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(app, ["ingest", "--sources", str(tmp_path / "sources.toml"), "--db", str(db)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with connect(db, read_only=True) as conn:
        placed = conn.execute("select source, adcode, city, region_method from reports").fetchall()
        published = conn.execute("select (select count(*) from agencies), (select count(*) from metrics), "
                                 "(select count(*) > 0 from changes)").fetchone()
    assert placed == [("changchun", "220104", "长春市", "declared")]
    assert published == (1, 8, True)


@pytest.mark.slow
def test_the_refresh_runs_under_the_writers_memory_limit_and_fits_in_it(tmp_path, monkeypatch):
    """3,000 reports (600,000 facts) refreshed in 128 MB: joined to every fact in one statement, the changes
    of that many reports ran out of it (and of 256 MB at 10,000), and the refresh used to lift the limit."""
    import duckdb

    from benchmarks.analyst import build
    from warehouse import store

    monkeypatch.setenv(store.MEMORY_LIMIT_VARIABLE, "128MB")
    db = tmp_path / "w.duckdb"
    build(db, 3_000)
    limits = []
    monkeypatch.setattr(analyst, "sync_wide_rows", lambda conn: limits.append(
        scalar(conn, "select current_setting('memory_limit')")) or wide.sync_wide_rows(conn))
    insert_changes = analyst._insert_changes
    monkeypatch.setattr(analyst, "_insert_changes", lambda conn: limits.append(
        scalar(conn, "select current_setting('memory_limit')")) or insert_changes(conn))
    with connect(db) as conn:
        refresh_analyst_tables(conn)
        conn.execute("update reports set run_id = 'night' where report_id in "
                     "(select report_id from reports using sample 300 rows (reservoir, 7))")
        refresh_analyst_tables(conn, "night")
        changes, facts, failed, failing = one_row(conn, """select
            (select count(*) from changes),
            (select count(*) from facts where report_id in (select report_id from agency_reports)),
            (select count(*) from failed_checks), (select count(*) from checks where not passed)""")
    refresh, writers = (scalar(duckdb.connect(), f"set memory_limit = '{limit}'; select current_setting('memory_limit')")
                        for limit in (analyst.REFRESH_MEMORY_LIMIT, "128MB"))
    assert limits == [refresh, writers] * 2  # the changes under the refresh's limit, then the wide rows, full and incremental
    assert changes == facts > 500_000 and failed == failing > 0


def test_the_analyst_tables_refresh_under_the_lower_limit_and_the_wide_rows_under_the_writers(tmp_path, monkeypatch):
    """REFRESH_MEMORY_LIMIT is in force while changes are written (their slices sized by it), with no automatic
    checkpoint (one under it ran out of memory on the wide tables); the writers' limit and checkpoint threshold
    as the wide rows start (they lower the limit to their own: tests/test_publish_memory.py) and after the refresh, and the writers' limit for the rewrite of `changes` in order (a
    sort of the whole table). A writers' limit below REFRESH_MEMORY_LIMIT is kept."""
    import duckdb

    def shown(limit: str) -> str:
        return scalar(duckdb.connect(), f"set memory_limit = '{limit}'; select current_setting('memory_limit')")

    def settings(conn) -> tuple[str, str]:
        return one_row(conn, "select current_setting('memory_limit'), current_setting('checkpoint_threshold')")

    def spy(name: str, function):
        def recorded(conn, *args):
            seen.append((name, *settings(conn)))
            return function(conn, *args)
        return recorded

    seen: list[tuple[str, str, str]] = []
    monkeypatch.setattr(analyst, "_insert_changes", spy("changes", analyst._insert_changes))
    monkeypatch.setattr(analyst, "sync_wide_rows", spy("wide", wide.sync_wide_rows))
    monkeypatch.setattr(analyst, "reorder_changes", spy("reorder", analyst.reorder_changes))
    _load(tmp_path / "w.duckdb", sorted(str(p) for p in SAMPLES.glob("*.txt")))
    with connect(tmp_path / "w.duckdb") as conn:
        conn.execute("set checkpoint_threshold = '64MB'")
        threshold = settings(conn)[1]
        seen.clear()
        for writers in ("256MB", "64MB"):
            conn.execute(f"set memory_limit = '{writers}'")
            refresh_analyst_tables(conn)
            seen.append(("after", *settings(conn)))
        conn.execute("set memory_limit = '256MB'; delete from analyst_order")  # changes unordered: rewritten
        refresh_analyst_tables(conn, "run-1")
    held_off = scalar(duckdb.connect(), "set checkpoint_threshold = '1TB'; select current_setting('checkpoint_threshold')")
    assert analyst.REFRESH_MEMORY_LIMIT == "96MB"
    assert seen == [("changes", shown("96MB"), held_off), ("wide", shown("256MB"), threshold),
                    ("after", shown("256MB"), threshold),
                    ("changes", shown("64MB"), held_off), ("wide", shown("64MB"), threshold),
                    ("after", shown("64MB"), threshold),
                    ("changes", shown("96MB"), held_off), ("reorder", shown("256MB"), held_off),
                    ("wide", shown("256MB"), threshold)]

