"""Warehouses for the report's tests and benchmark: empty, one sample report, or one report's rows copied
into many report ids with SQL (10,000 reports in seconds instead of an ingest of 10,000 files).

The regions are set here the way the analyst layer has them (reports.adcode, province), so
the report can be tested with and without them.
"""

from __future__ import annotations

from pathlib import Path

from flows.pipeline import process_batch
from tests.conftest import SAMPLES
from warehouse.store import connect, load_batch

#: 平顶山市教育体育局: table B has numbers (14 requests received in 2023), so its charts draw bars.
SAMPLE = SAMPLES / "002_54cd1b08fa028caf.txt"
SAMPLE_ADCODE, SAMPLE_PROVINCE = "410400", "河南省"
#: (adcode, province) given to the copies in turn; None is an agency whose region could not be resolved.
REGIONS = [("410400", "河南省"), ("410100", "河南省"), ("140924", "山西省"), ("230502", "黑龙江省"),
           ("150824", "内蒙古自治区"), (None, None)]


def empty_warehouse(db: Path) -> Path:
    with connect(db):
        pass
    return db


def one_report(db: Path) -> Path:
    """The sample ingested through the library, as `nianbao ingest` would load it."""
    with connect(db) as conn:
        load_batch(conn, process_batch([str(SAMPLE)]), "run-1")
    return db


def without_regions(db: Path) -> None:
    """Reports whose agencies resolved to no region (an older load, or names no region library knows)."""
    with connect(db) as conn:
        conn.execute("update reports set adcode = null, province = null, city = null, county = null")


def add_regions(db: Path) -> None:
    """Regions as the analyst layer gives them: the sample's agency is in 410400, the copies cycle REGIONS."""
    regions = ", ".join(f"({i}, {_sql(code)}, {_sql(name)})" for i, (code, name) in enumerate(REGIONS))
    with connect(db) as conn:
        conn.execute(f"create temp table regions as select * from (values {regions}) v(i, adcode, province)")
        conn.execute(
            "update reports set adcode = g.adcode, province = g.province from regions g "
            "where g.i = hash(reports.report_id) % ?", [len(REGIONS)])
        conn.execute("update reports set adcode = ?, province = ? where source_path = ?",
                     [SAMPLE_ADCODE, SAMPLE_PROVINCE, str(SAMPLE)])


def _sql(value: str | None) -> str:
    return "null" if value is None else f"'{value}'"


def many_reports(db: Path, count: int) -> Path:
    """`count` copies of the sample report: 400 agencies over 2019-2024, table B scaled by 1-5 and with
    denials, table C with corrections, every 10th copy failing a check, and failed files and crawls to chart."""
    one_report(db)
    with connect(db) as conn:
        original = conn.execute("select report_id from reports").fetchone()[0]
        conn.execute("create temp table copies as select i from range(?) t(i)", [count])
        conn.execute(
            "insert into reports select r.* replace (r.report_id || '-' || c.i as report_id, "
            "r.agency || '第' || (c.i % 400) || '分局' as agency, 2019 + c.i % 6 as year, "
            "r.source_path || '#' || c.i as source_path) from reports r, copies c")
        conn.execute(
            "insert into facts select f.* replace (f.report_id || '-' || c.i as report_id, case "
            "when f.table_code = 'requests' and f.row_code like 'denied.%' then (c.i + length(f.row_code)) % 4 "
            "when f.table_code = 'requests' then f.value * (1 + c.i % 5) "
            "when f.table_code = 'review_litigation' and f.col_code = 'upheld' then c.i % 3 "
            "when f.table_code = 'review_litigation' and f.col_code = 'corrected' then c.i % 2 "
            "when f.table_code = 'review_litigation' and f.col_code = 'total' then c.i % 3 + c.i % 2 "
            "else f.value end as value) from facts f, copies c")
        conn.execute(
            "insert into checks select k.* replace (k.report_id || '-' || c.i as report_id, "
            "k.passed and not (c.i % 10 = 0 and k.rule = 'requests_balance' and k.scope = 'total') as passed) "
            "from checks k, copies c")
        for table in ("checks", "facts", "reports"):
            conn.execute(f"delete from {table} where report_id = ?", [original])
        conn.execute(
            "insert into ingest_files (path, sha256, size_bytes, status, reason, error, report_id, parser_version, "
            "run_id, updated_at) select 'bad/' || i || '.html', 'x', 10, 'failed', "
            "['not_a_report', 'undecodable', 'truncated_table'][1 + i % 3], 'bad/' || i || '.html: test', "
            "null, '1', 'run-1', now() from range(30) t(i)")
        # Two sources, two crawls each: the last crawls (0 and 1) had three outcomes, the day before's only failures.
        conn.execute(
            "insert into fetches (crawl_id, source, url, kind, outcome, fetched_at) "
            "select 'crawl-' || (i % 4), ['huaian', 'pingdingshan'][1 + i % 2], 'http://example.gov.cn/' || i, 'report', "
            "case when i % 4 < 2 then ['downloaded', 'not_modified', 'refused'][1 + (i // 4) % 3] else 'failed' end, "
            "now() - to_days((i % 4) // 2) from range(200) t(i)")
    return db
