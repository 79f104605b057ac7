"""How fast are the analyst tables? The benchmark of issue 15.

Builds a warehouse of N reports directly in DuckDB (every template cell of each report's version,
random counts; agencies in real counties of the region library, publishing over five years with
gaps), or copies an existing one (--copy, e.g. one `benchmarks/ingest.py` loaded; --multiply 10 then
copies its reports ten times over with new ids, e.g. a 10,000-report ingest into 100,000), then measures:
- refresh_analyst_tables: the first, full build of agencies, changes, metrics and region_metrics, and
  the refresh a nightly run does before it publishes after loading 500 reports (their agencies only),
  and the rewrite of `changes` in order that a refresh does once appended rows pass REORDER_SHARE;
- the analyst queries on changes, metrics, region_metrics, missing_reports and the wide view, on a
  read-only connection: the first run and the median of the next five;
- optionally (--export) `nianbao export --format parquet` of everything, with the process's peak memory.

Run from the project root:  .venv/bin/python benchmarks/analyst.py --reports 100000
The real 100,000 (issue 17), from an ingest of 10,000 text reports, queries only:
    nianbao synth --format text --count 10000 --out /tmp/text10k && nianbao ingest /tmp/text10k --db /tmp/w10k.duckdb
    .venv/bin/python benchmarks/analyst.py --copy /tmp/w10k.duckdb --multiply 10 --typical-only --no-reorder
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from template import template_cells  # noqa: E402
from transforms.regions import ancestors, regions  # noqa: E402
from warehouse.analyst import REFRESH_MISSING_REPORTS, refresh_analyst_tables, reorder_changes  # noqa: E402
from warehouse.sql import one_row  # noqa: E402
from warehouse.store import connect  # noqa: E402
from warehouse.wide import rebuild_wide_tables  # noqa: E402

YEARS = range(2019, 2024)
#: Share of agency-years without a report, so that missing_reports has something to find.
GAPS = 0.1
QUERIES = {
    "changes: the 100 largest rises in new requests, 2023": """
        select agency, adcode, value, previous_value, change, change_pct from changes
        where year = 2023 and table_code = 'requests' and row_code = 'new_received' and col_code = 'total'
        order by change desc nulls last limit 100""",
    "changes: every cell of one agency, 2023": """
        select table_code, row_code, col_code, value, previous_value, change from changes
        where agency_id = (select min(agency_id) from agencies) and year = 2023""",
    "metrics: the 100 highest denial rates, 2023": """
        select agency, province, city, numerator, denominator, value from metrics
        where year = 2023 and metric = 'denial_rate' and denominator > 0
        order by value desc limit 100""",
    "metrics: every metric of one province's agencies, 2023": """
        select metric, count(*), avg(value), median(value) from metrics
        where year = 2023 and province = '河南省' group by metric order by metric""",
    "region_metrics: denial rate per province and year": """
        select region, year, value, reports from region_metrics
        where level = 'province' and metric = 'denial_rate' order by region, year""",
    "region_metrics: every metric of every county, 2023": """
        select adcode, region, metric, value, reports from region_metrics
        where level = 'county' and year = 2023 order by adcode, metric""",
    "missing_reports: agencies that stopped, by province and year": """
        select province, missing_year, count(*) from missing_reports group by all order by all""",
    "requests_wide: per-agency totals, 2023": """
        select agency, count(*) as reports, sum(new_received__total) as received,
               sum(granted__total) as granted, sum(total_handled__total) as handled
        from requests_wide where year = 2023
        group by agency order by received desc nulls last""",
    "facts_labelled: one cell by province and year": """
        select year, province, sum(value) as received, count(*) as reports from facts_labelled
        where table_code = 'requests' and row_code = 'new_received' and col_code = 'total'
        group by all order by all""",
    "facts_labelled: denial reasons by year": """
        select year, row_code, any_value(row_label_en) as reason, sum(value) as requests, count(*) as reports
        from facts_labelled
        where table_code = 'requests' and row_code like 'denied.%' and col_code = 'total'
        group by year, row_code order by year, row_code""",
    "failed_checks: reports failing a check": """
        select agency, year, source_path, rule, scope, detail
        from failed_checks order by agency, year, rule, scope""",
    "requests_by_row: one agency's table B, 2023": """
        select row_code, row_label_zh, natural_person, total from requests_by_row
        where agency_id = (select min(agency_id) from reports where year = 2023) and year = 2023 order by row_order""",
    "active_disclosure_wide: fees of one province, by year": """
        select year, count(*), sum(administrative_fees__amount_10k_yuan) from active_disclosure_wide
        where province = '河南省' group by year order by year""",
}
REPEATS = 5
NIGHT = 500
#: Reports per batch of the flow (flows/batching.py's DEFAULT_BATCH_FILES): a built warehouse's facts are
#: written a batch at a time in cell order, as load_batch writes them.
BATCH_REPORTS = 500
#: The views over the loaded tables that analysts query most (issue 17's five typical queries).
TYPICAL = ("requests_wide", "facts_labelled", "failed_checks", "missing_reports", "requests_by_row")
#: Check results per report, and the share of them that fail (failed_checks).
CHECKS_PER_REPORT = 20
FAILING = 0.02


def _regions_frame() -> pl.DataFrame:
    """Every county of the region library with its province and city: where the fake agencies are."""
    rows = []
    for region in regions().values():
        if region.level != "county":
            continue
        chain = {r.level: r.name for r in ancestors(region)}
        rows.append((region.adcode, chain.get("province"), chain.get("city"), region.name))
    return pl.DataFrame(rows, schema=["adcode", "province", "city", "county"], orient="row").with_row_index("region_no")


def build(db: Path, reports: int) -> None:
    """A warehouse of `reports` reports of ~reports/4.5 agencies over five years, every cell a random count."""
    agencies = int(reports / len(YEARS) / (1 - GAPS)) + 1
    cells = pl.DataFrame([c.__dict__ for c in template_cells()]).select("template", "table_code", "item", "row_code",
                                                                         "col_code")
    with connect(db) as conn:
        conn.register("_regions", _regions_frame().to_arrow())
        conn.register("_cells", cells.to_arrow())
        conn.execute(f"""
            insert into reports by name
            with candidates as (
                select a, y, hash(a, y) % 1000 as draw from range({agencies}) t(a), range({min(YEARS)}, {max(YEARS) + 1}) u(y)
            )
            select printf('%016x', hash('report', a, y)) as report_id, 'bench/' || a || '/' || y || '.html' as source_path,
                   printf('%064x', hash(a, y)) as sha256, 100000 as size_bytes,
                   g.county || (['教育局', '财政局', '人民政府', '人民政府办公室', '卫生健康委员会'])[a % 5 + 1] as agency,
                   y as year, case when y >= 2021 then '2021' else '2019' end as template_version,
                   case when y >= 2021 then '2021' else '2019' end as requests_template_version,
                   'bench' as reader, 'bench' as parser_version, 'bench' as run_id, now()::timestamp as loaded_at,
                   'source-' || (a % 20) as source, printf('%016x', hash('agency', a)) as agency_id,
                   g.adcode || '||' || a as agency_key, '局' as agency_kind, 'county' as admin_level,
                   g.adcode, g.province, g.city, g.county, 'name' as region_method
            from candidates c join _regions g on g.region_no = c.a % (select count(*) from _regions)
            where c.draw >= {int(GAPS * 1000)}
            limit {reports}""")
        for start in range(0, reports, BATCH_REPORTS):  # each batch's facts in cell order, as load_batch writes them
            conn.execute(f"""
                insert into facts by name
                select r.report_id, c.table_code, c.item, c.row_code, c.col_code,
                       floor(random() * 40)::double as value, 'number' as value_kind, i.cell_id
                from (select * from reports where rowid >= {start} and rowid < {start + BATCH_REPORTS}) r
                join _cells c on c.template = case when c.table_code = 'active_disclosure'
                                                   then r.template_version else r.requests_template_version end
                join cell_codes i using (table_code, row_code, col_code)
                order by i.cell_id""")
        conn.execute(f"""
            insert into checks by name
            select r.report_id, 'rule_' || k as rule, 'scope_' || (k % 3) as scope,
                   hash(r.report_id, k) % 1000 >= {int(FAILING * 1000)} as passed, 10.0 as lhs, 10.0 as rhs,
                   'bench' as detail
            from reports r, range({CHECKS_PER_REPORT}) t(k)""")
        conn.execute("checkpoint")


def multiply(db: Path, times: int) -> None:
    """Copy every report of the warehouse `times - 1` more times (its facts, checks and files with it), with new
    report ids, agencies and paths: an ingest of 10,000 real reports becomes a warehouse of 100,000, each copy's
    facts in the order the ingest stored them."""
    with connect(db) as conn:
        conn.execute("create temp table _originals as select report_id from reports")
        for k in range(1, times):
            conn.execute("create or replace temp table _ids as select report_id, "
                         "left(md5(report_id || '/' || $k), 16) as new_id from _originals", {"k": k})
            conn.execute("""insert into reports by name select r.* replace (i.new_id as report_id,
                                r.source_path || '#' || $k as source_path, md5(r.sha256 || $k) as sha256,
                                left(md5(r.agency_id || '/' || $k), 16) as agency_id, r.agency_key || '#' || $k as agency_key)
                            from reports r join _ids i using (report_id)""", {"k": k})
            for table in ("facts", "checks"):
                conn.execute(f"insert into {table} by name select t.* replace (i.new_id as report_id) "
                             f"from {table} t join _ids i using (report_id)")
            conn.execute("""insert into ingest_files by name select f.* replace (i.new_id as report_id,
                                f.path || '#' || $k as path, md5(f.sha256 || $k) as sha256)
                            from ingest_files f join _ids i using (report_id)""", {"k": k})
        conn.execute("checkpoint")


def _timed(conn: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, float, float, int]:
    """First run and median of the next REPEATS in wall ms, and the median's CPU ms (every DuckDB thread)."""
    runs, cpu = [], []
    for _ in range(1 + REPEATS):
        started, started_cpu = time.perf_counter(), time.process_time()
        rows = conn.execute(sql).fetchall()
        runs.append(1000 * (time.perf_counter() - started))
        cpu.append(1000 * (time.process_time() - started_cpu))
    return runs[0], statistics.median(runs[1:]), statistics.median(cpu[1:]), len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/nianbao-bench-analyst"))
    parser.add_argument("--copy", type=Path, help="benchmark a copy of this warehouse instead of building one")
    parser.add_argument("--multiply", type=int, default=1,
                        help="copy the warehouse's reports this many times over (with --copy: 10 makes 100,000 of 10,000)")
    parser.add_argument("--export", action="store_true", help="also time `nianbao export --format parquet`")
    parser.add_argument("--no-reorder", action="store_true", help="skip timing the rewrite of changes in order")
    parser.add_argument("--keep", action="store_true", help="reuse the warehouse an earlier run built in --work")
    parser.add_argument("--typical-only", action="store_true",
                        help="skip the refreshes and time only the queries on the loaded tables' views (TYPICAL)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    db = args.work / "analyst.duckdb"
    if not (args.keep and db.exists()):
        db.unlink(missing_ok=True)
    started = time.perf_counter()
    if db.exists():
        pass
    elif args.copy:
        shutil.copyfile(args.copy, db)
        if args.multiply > 1:
            multiply(db, args.multiply)
    else:
        build(db, args.reports)
    print(f"warehouse ready in {time.perf_counter() - started:.1f} s: {db} ({db.stat().st_size / 2**20:.0f} MB)")
    with connect(db) as conn:  # what a migration to schema 6 does once; a load writes its own reports' rows
        started, started_cpu = time.perf_counter(), time.process_time()
        rebuild_wide_tables(conn)
        print(f"wide tables written for every report: {time.perf_counter() - started:.1f} s "
              f"({time.process_time() - started_cpu:.1f} s CPU)", flush=True)
        if args.typical_only:
            conn.execute(REFRESH_MISSING_REPORTS)
    if not args.typical_only:
        refresh_and_time(db)
    print(f"| query | first (ms) | median of {REPEATS} (ms) | median CPU (ms) | rows |\n|---|---:|---:|---:|---:|")
    with connect(db, read_only=True) as conn:
        for name, sql in QUERIES.items():
            if args.typical_only and name.split(":")[0] not in TYPICAL:
                continue
            first, median, cpu, rows = _timed(conn, sql)
            print(f"| {name} | {first:.0f} | {median:.0f} | {cpu:.0f} | {rows:,} |", flush=True)
    if not args.no_reorder:
        with connect(db) as conn:
            started = time.perf_counter()
            reorder_changes(conn)
            print(f"rewrite of changes in order: {time.perf_counter() - started:.1f} s")
    if args.export:
        export(db, args.work / "export")


def refresh_and_time(db: Path) -> None:
    """The first, full refresh of the analyst tables, then a night's."""
    with connect(db) as conn:
        started = time.perf_counter()
        refresh_analyst_tables(conn)
        refresh = time.perf_counter() - started
        conn.execute("checkpoint")
        # A night that reloads NIGHT reports: their agencies' rows are recomputed, the rest kept.
        conn.execute(f"update reports set run_id = 'night' where report_id in "
                     f"(select report_id from reports using sample {NIGHT} rows (reservoir, 7))")
        started = time.perf_counter()
        refresh_analyst_tables(conn, "night")
        nightly = time.perf_counter() - started
        conn.execute("checkpoint")
        sizes = one_row(conn, "select (select count(*) from reports), (select count(*) from facts), "
                              "(select count(*) from agencies), (select count(*) from changes), "
                              "(select count(*) from metrics), (select count(*) from region_metrics)")
    print("reports {:,}, facts {:,}, agencies {:,}, changes {:,}, metrics {:,}, region_metrics {:,}".format(*sizes))
    print(f"refresh_analyst_tables, first (everything): {refresh:.1f} s; "
          f"after a night that loaded {NIGHT} reports: {nightly:.1f} s", flush=True)


def export(db: Path, out: Path) -> None:
    """`nianbao export --format parquet` of everything, timed, with its peak memory."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("nianbao")), "export", "--format", "parquet", "--out", str(out),
                    "--db", str(db)], check=True, stdout=subprocess.DEVNULL)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"nianbao export --format parquet: {time.perf_counter() - started:.1f} s, peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
