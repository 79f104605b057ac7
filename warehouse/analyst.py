"""The analyst layer: agencies, year-on-year changes, derived metrics and their regional roll-ups, coverage.

The cross-report tables (agencies, changes, metrics, region_metrics, missing_reports, failed_check_rows)
are rebuilt by refresh_analyst_tables once per run, just before it is published, so that a query on them
reads a small, sorted table instead of joining every fact of every year. One report stands for an agency in a
year (agency_reports, a view: the latest loaded, when a year has several).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import polars as pl

from warehouse.sql import memory_limit_at_most, memory_limit_bytes, registered, scalar, size_set_to, transaction
from warehouse.wide import sync_wide_rows


@dataclass(frozen=True)
class Metric:
    key: str
    name_zh: str
    name_en: str
    formula: str
    unit: str
    numerator: str
    denominator: str


def _cell(table: str, row: str, col: str = "total") -> str:
    """The sum of a report's facts of a cell (of the cells whose row_code is LIKE `row`, when it holds a %).
    The refresh turns the placeholder into those cells' ids (`_cells_by_id`): a test of each fact's cell_id,
    not of its three codes, in each of the metrics' some 30 sums."""
    return f"coalesce(sum(value) filter (where [cells {table} {row} {col}]), 0)"


#: A `_cell` placeholder: table_code, row_code (a LIKE pattern when it holds a %), col_code.
_CELL_PLACEHOLDER = re.compile(r"\[cells (\S+) (\S+) (\S+)\]")


_ORG_COLUMNS = ("commercial_enterprise", "research_institution", "social_welfare_org", "legal_service_agency", "other_org")
_HANDLED = _cell("requests", "total_handled")
METRICS = (
    Metric("disclosure_rate", "公开率", "Disclosure rate", "(（一）予以公开 + （二）部分公开) / （七）总计", "ratio",
           f"{_cell('requests', 'granted')} + {_cell('requests', 'partially_granted')}", _HANDLED),
    Metric("denial_rate", "不予公开率", "Denial rate", "（三）不予公开 (1-8) / （七）总计", "ratio",
           _cell("requests", "denied.%"), _HANDLED),
    Metric("not_held_rate", "本机关不掌握率", "Information-not-held rate", "（四）1.本机关不掌握相关政府信息 / （七）总计",
           "ratio", _cell("requests", "unable.not_held"), _HANDLED),
    Metric("legal_person_share", "法人或其他组织申请占比", "Share of new requests from legal persons and organisations",
           "一、本年新收: 法人或其他组织 (five columns) / 总计", "ratio",
           " + ".join(_cell("requests", "new_received", c) for c in _ORG_COLUMNS), _cell("requests", "new_received")),
    Metric("carry_forward_rate", "结转率", "Carry-forward rate", "四、结转下年度继续办理 / (一、本年新收 + 二、上年结转)",
           "ratio", _cell("requests", "carried_forward"),
           f"{_cell('requests', 'new_received')} + {_cell('requests', 'carried_over')}"),
    Metric("review_correction_rate", "行政复议纠错率", "Administrative review correction rate",
           "行政复议 结果纠正 / 总计", "ratio", _cell("review_litigation", "review", "corrected"),
           _cell("review_litigation", "review")),
    Metric("litigation_correction_rate", "行政诉讼纠错率", "Litigation correction rate",
           "行政诉讼 结果纠正 / 总计 (未经复议直接起诉 + 复议后起诉)", "ratio",
           f"{_cell('review_litigation', 'litigation_direct', 'corrected')} + "
           f"{_cell('review_litigation', 'litigation_after_review', 'corrected')}",
           f"{_cell('review_litigation', 'litigation_direct')} + {_cell('review_litigation', 'litigation_after_review')}"),
    Metric("requests_per_report", "每份报告新收申请数", "New requests per report", "一、本年新收 总计 / reports",
           "requests per report", _cell("requests", "new_received"), "1"),
)

#: The checks that fail (2% of 2 M at 100,000 reports), kept apart so that `failed_checks` joins those to
#: `reports` instead of reading every check. Rewritten whole at every publish: one scan of `checks`.
_FAILED_CHECK_ROWS = "failed_check_rows as select * from checks where not passed"

TABLES = f"""
create table if not exists metric_dictionary (
    key varchar primary key, name_zh varchar, name_en varchar, formula varchar, unit varchar
);
create table if not exists agencies (
    agency_id varchar primary key, name varchar, names varchar[], adcode varchar, province varchar, city varchar,
    county varchar, township varchar, admin_level varchar, kind varchar, region_method varchar,
    region_reason varchar, sources varchar[], first_year integer, last_year integer, reports integer
);
create table if not exists changes (
    agency_id varchar, agency varchar, adcode varchar, year integer, table_code varchar, item varchar,
    row_code varchar, col_code varchar, value double, previous_value double, change double, change_pct double,
    report_id varchar, previous_report_id varchar
);
create table if not exists metrics (
    report_id varchar, agency_id varchar, agency varchar, year integer, source varchar, adcode varchar,
    province varchar, city varchar, county varchar, metric varchar, numerator double, denominator double,
    value double
);
create table if not exists analyst_order (
    table_name varchar primary key, unordered_rows bigint
);
create table if not exists missing_reports (
    agency_id varchar, agency varchar, source varchar, adcode varchar, province varchar, city varchar,
    county varchar, admin_level varchar, last_year integer, missing_year integer, last_report_id varchar
);
create table if not exists region_metrics (
    level varchar, adcode varchar, region varchar, province varchar, city varchar, county varchar, year integer,
    metric varchar, numerator double, denominator double, value double, reports integer
);
create table if not exists {_FAILED_CHECK_ROWS};
"""

VIEWS = """
create or replace view failed_checks as
select r.agency, r.year, r.source_path, c.*
from failed_check_rows c join reports r using (report_id);

create or replace view agency_reports as
select * from reports
where agency_id is not null
qualify row_number() over (partition by agency_id, year order by loaded_at desc nulls last, report_id) = 1;
"""

#: Agencies whose next year's report is missing, while their source has reports of a later year. From
#: reports alone (100,000 rows, not their facts), so it is rewritten whole at every publish.
REFRESH_MISSING_REPORTS = """
delete from missing_reports;
insert into missing_reports
with latest as (select coalesce(source, '') as source_key, max(year) as latest_year from reports group by 1)
select a.agency_id, a.agency, a.source, a.adcode, a.province, a.city, a.county, a.admin_level,
       a.year as last_year, a.year + 1 as missing_year, a.report_id as last_report_id
from agency_reports a
join latest l on l.source_key = coalesce(a.source, '')
where a.year < l.latest_year
  and not exists (select 1 from agency_reports b where b.agency_id = a.agency_id and b.year = a.year + 1)
order by a.province, missing_year;
"""

REFRESH_FAILED_CHECKS = f"create or replace table {_FAILED_CHECK_ROWS}"

REFRESH_AGENCIES = """
delete from agencies;
insert into agencies
select agency_id,
       arg_max(agency, year) as name,
       list(distinct agency order by agency) as names,
       arg_max(adcode, year) as adcode, arg_max(province, year) as province, arg_max(city, year) as city,
       arg_max(county, year) as county, arg_max(township, year) as township,
       arg_max(admin_level, year) as admin_level, arg_max(agency_kind, year) as kind,
       arg_max(region_method, year) as region_method, arg_max(region_reason, year) as region_reason,
       list(distinct source order by source) filter (where source is not null) as sources,
       min(year) as first_year, max(year) as last_year, count(*) as reports
from reports where agency_id is not null
group by agency_id;
"""

#: The agencies a refresh recomputes: every one, or those of the reports a run loaded (and the agencies
#: those reports stood for before, in case a re-extracted report changed agency).
AFFECTED = """
create or replace temp table _affected as
select agency_id from reports where agency_id is not null and (cast($run_id as varchar) is null or run_id = cast($run_id as varchar))
union
select agency_id from changes where cast($run_id as varchar) is not null
   and (report_id in (select report_id from reports where run_id = cast($run_id as varchar))
        or previous_report_id in (select report_id from reports where run_id = cast($run_id as varchar)))
union
select agency_id from metrics where cast($run_id as varchar) is not null
   and report_id in (select report_id from reports where run_id = cast($run_id as varchar));
"""

#: The order `changes` is stored in: each year's rows in 16 blocks of agencies (the first hex digit of
#: agency_id), each block by cell. DuckDB's min/max zone maps then skip most row groups both for one agency's
#: cells (its year and block) and for one cell across agencies (its year, then a few rows in each block);
#: ordered by cell alone, a question about one agency read the whole year (BENCHMARKS.md).
CHANGES_ORDER = "year, left(agency_id, 1), table_code, row_code, col_code, agency_id"
#: An incremental refresh appends its agencies' rows in that order after the rest, a run of their own that
#: every query on one agency also reads; when such rows pass this share of the table, it is rewritten in order.
REORDER_SHARE = 0.25

DELETE_CHANGES = "delete from changes where agency_id in (select agency_id from _affected)"


#: The affected agencies' reports, each with its previous year's (null when there is none) and the slice of
#: the build it is written in: slices are runs of (year, agency block), the first two keys of CHANGES_ORDER,
#: of about $per_slice reports (the (year, block)s that start within one multiple of it: a (year, block) is
#: never split), numbered in that order, so that slices written one after another store CHANGES_ORDER.
PAIRS = """
create or replace temp table _pairs as
with chosen as (select agency_id, agency, adcode, year, report_id, left(agency_id, 1) as block from agency_reports
                where agency_id in (select agency_id from _affected)),
blocks as (select year, block, count(*) as reports from chosen group by all),
slices as (select year, block,
                  (sum(reports) over (order by year nulls last, block rows unbounded preceding) - reports)
                  // $per_slice as slice
           from blocks)
select c.agency_id, c.agency, c.adcode, c.year, c.report_id, p.report_id as previous_report_id, s.slice
from chosen c
join slices s on s.year is not distinct from c.year and s.block = c.block
left join chosen p on p.agency_id = c.agency_id and p.year = c.year - 1
"""

#: One slice's changes, sorted. The facts of its reports and of their previous years' are chosen first
#: (semi-joins on report_id), so that no join builds a hash table of every fact; the reports without a
#: previous year (most of a first build) are not joined to previous facts at all.
INSERT_CHANGES = f"""
insert into changes
select * from (
with x as (select * from _pairs where slice = $slice),
current_facts as (select * from facts where report_id in (select report_id from x)),
previous_facts as (select * from facts where report_id in (select previous_report_id from x)),
pairs as (select * from x where previous_report_id is not null)
select x.agency_id, x.agency, x.adcode, x.year, f.table_code, f.item, f.row_code, f.col_code, f.value,
       p.value as previous_value, f.value - p.value as change,
       case when p.value <> 0 then round((f.value - p.value) / abs(p.value) * 100, 2) end as change_pct,
       x.report_id, x.previous_report_id
from pairs x
join current_facts f on f.report_id = x.report_id
left join previous_facts p on p.report_id = x.previous_report_id and p.table_code = f.table_code
                          and p.row_code = f.row_code and p.col_code = f.col_code
union all
select x.agency_id, x.agency, x.adcode, x.year, f.table_code, f.item, f.row_code, f.col_code, f.value,
       null, null, null, x.report_id, x.previous_report_id
from x join current_facts f on f.report_id = x.report_id
where x.previous_report_id is null
)
order by {CHANGES_ORDER};
"""
#: DuckDB memory a slice of the build takes per report (about 200 facts, each sorted with its 14 columns,
#: and the previous year's facts to join): the slices are sized by the connection's memory limit so that
#: each sorts in memory. At 2,000 text reports (7% with a previous year) slices of 1,000 fitted in 128 MB and
#: one of 1,919 did not; reports with a previous year take more (its facts' hash table), hence the margin.
CHANGE_BYTES_PER_REPORT = 256 * 2**10


def _insert_changes(conn: duckdb.DuckDBPyConnection) -> int:
    """Write the changes of the affected agencies in CHANGES_ORDER, one slice sized by DuckDB's memory limit
    at a time (sorting every fact of a 100,000-report warehouse in one statement peaked at 12 GB, and one
    statement of 2,000 reports spilled its sort under 256 MB); the number of rows written."""
    per_slice = max(1, memory_limit_bytes(conn) // CHANGE_BYTES_PER_REPORT)
    conn.execute(PAIRS, {"per_slice": per_slice})
    slices = [row[0] for row in conn.execute("select distinct slice from _pairs order by slice").fetchall()]
    written = sum(scalar(conn, INSERT_CHANGES, {"slice": n}) for n in slices)
    conn.execute("drop table _pairs")
    return written


REFRESH_REGION_METRICS = """
delete from region_metrics;
insert into region_metrics
with levels as (
    select 'province' as level, substr(adcode, 1, 2) || '0000' as code, province as region, province,
           null as city, null as county, year, metric, numerator, denominator
    from metrics where adcode is not null
    union all
    select 'city', substr(adcode, 1, 4) || '00', city, province, city, null, year, metric, numerator, denominator
    from metrics where city is not null
    union all
    select 'county', adcode, county, province, city, county, year, metric, numerator, denominator
    from metrics where county is not null
)
select level, code as adcode, any_value(region), any_value(province), any_value(city), any_value(county), year,
       metric, sum(numerator), sum(denominator),
       case when sum(denominator) <> 0 then sum(numerator) / sum(denominator) end, count(*)
from levels
group by level, code, year, metric
order by metric, year, level, code;
"""


#: The ids of the cells each `_cell` placeholder of `_metric_cells` (n, table_code, row_code, col_code) names.
_METRIC_CELL_IDS = """
select p.n, list(c.cell_id order by c.cell_id)
from _metric_cells p join cell_codes c
  on c.table_code = p.table_code and c.col_code = p.col_code
 and (c.row_code = p.row_code or (contains(p.row_code, '%') and c.row_code like p.row_code))
group by p.n
"""


def _cells_by_id(conn: duckdb.DuckDBPyConnection, sql: str) -> str:
    """`sql` with each `_cell` placeholder replaced by a test of cell_id against the ids cell_codes gives the
    cells it names (one query for all of them): the same facts as their codes name, since every fact's
    cell_id is set by its load."""
    named = list(dict.fromkeys(_CELL_PLACEHOLDER.findall(sql)))
    placeholders = pl.DataFrame(named, schema=["table_code", "row_code", "col_code"], orient="row").with_row_index("n")
    with registered(conn, "_metric_cells", placeholders.to_arrow()):
        found = dict(conn.execute(_METRIC_CELL_IDS).fetchall())
    tests = {key: (f"cell_id in ({', '.join(map(str, found[n]))})" if n in found else "false")
             for n, key in enumerate(named)}
    return _CELL_PLACEHOLDER.sub(lambda match: tests[match.groups()], sql)


def _refresh_metrics_sql(conn: duckdb.DuckDBPyConnection) -> str:
    per_report = _cells_by_id(conn, ",\n".join(
        f"    {{'metric': '{m.key}', 'numerator': {m.numerator}, 'denominator': {m.denominator}}}" for m in METRICS
    ))
    return f"""
delete from metrics where agency_id in (select agency_id from _affected);
insert into metrics
with chosen as (select report_id from agency_reports where agency_id in (select agency_id from _affected)),
sums as (
    select report_id, [
{per_report}
    ] as values
    from facts
    where report_id in (select report_id from chosen) and table_code in ('requests', 'review_litigation')
    group by report_id
),
flat as (select report_id, unnest(values) as m from sums)
select a.report_id, a.agency_id, a.agency, a.year, a.source, a.adcode, a.province, a.city, a.county,
       m.metric, m.numerator, m.denominator,
       case when m.denominator <> 0 then m.numerator / m.denominator end
from flat join agency_reports a using (report_id)
order by m.metric, a.year, a.adcode;
"""


def ensure_analyst_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(TABLES)
    conn.execute(VIEWS)
    conn.execute("delete from metric_dictionary")
    conn.executemany("insert into metric_dictionary values (?, ?, ?, ?, ?)",
                     [(m.key, m.name_zh, m.name_en, m.formula, m.unit) for m in METRICS])


def _keep_changes_ordered(conn: duckdb.DuckDBPyConnection, appended: int | None, reorder_limit: str) -> None:
    """Count the rows an incremental refresh appended out of order (`appended`; None after a full refresh,
    which wrote every row in order) and rewrite `changes` in CHANGES_ORDER once they pass REORDER_SHARE
    (at once in a warehouse whose `changes` was written before this order, which has no count). The rewrite,
    one sort of the whole table, runs under `reorder_limit` (the writers'): under the refresh's 128 MB it ran
    out of memory at 10,000 reports."""
    counted = conn.execute("select unordered_rows from analyst_order where table_name = 'changes'").fetchone()
    unordered = 0 if appended is None or counted is None else counted[0] + appended
    if (appended is not None and counted is None  # changes was written before this order existed
            or unordered > REORDER_SHARE * scalar(conn, "select count(*) from changes")):
        with size_set_to(conn, "memory_limit", reorder_limit):
            reorder_changes(conn)
    else:
        conn.execute("insert or replace into analyst_order values ('changes', ?)", [unordered])


def reorder_changes(conn: duckdb.DuckDBPyConnection) -> None:
    """Rewrite `changes` in CHANGES_ORDER (the rows appended by incremental refreshes put back in place)."""
    conn.execute(f"create or replace table changes as select * from changes order by {CHANGES_ORDER}")
    conn.execute("insert or replace into analyst_order values ('changes', 0)")


#: DuckDB's memory for the analyst tables' refresh (the writers' limit, NIANBAO_DUCKDB_MEMORY_LIMIT, when that
#: is lower). Lowering the limit evicts what the loads left cached, and the changes' slices are sized by it.
#: No checkpoint may run under it: one writes every table with pending rows, and the wide cells tables' some
#: 530 columns (a block each) ran out of 192 MB, which DuckDB cannot survive (BENCHMARKS.md). So the refresh
#: holds automatic checkpoints off; the next (at the writers' limit, or the close) writes its rows, and the
#: wide rows are written under their own limit (warehouse/wide.py). A full refresh of 100,000 reports replayed
#: in a new process: 154 -> 362 MB under 128 MB, 155 -> 312 under 96 MB for 6 CPU s more (46 against 41 s
#: for `changes`: its slices hold 384 reports instead of 512); at 2,000 text reports no difference showed.
REFRESH_MEMORY_LIMIT = "96MB"


@contextmanager
def _under_refresh_memory_limit(conn: duckdb.DuckDBPyConnection) -> Iterator[str]:
    """The connection's DuckDB memory limit lowered to REFRESH_MEMORY_LIMIT inside the block (never raised) and
    no automatic checkpoint there, then both restored; yields the limit it had (the writers')."""
    with (size_set_to(conn, "checkpoint_threshold", "1TB"),
          memory_limit_at_most(conn, REFRESH_MEMORY_LIMIT) as writers):
        yield writers


def refresh_analyst_tables(conn: duckdb.DuckDBPyConnection, run_id: str | None = None) -> None:
    """Rebuild agencies, region_metrics, missing_reports and failed_check_rows, changes and metrics of the
    agencies whose reports the run `run_id` loaded (of every agency without run_id, or when metrics is still
    empty), in one transaction; then the wide rows of the reports that have none (warehouse/wide.py: those the
    run loaded), a slice of reports per transaction.

    A night that loads a few hundred reports into a warehouse of 100,000 recomputes only their agencies'
    rows; the first refresh of a warehouse computes everything once (see BENCHMARKS.md). The analyst tables are
    refreshed under REFRESH_MEMORY_LIMIT and the wide rows under the connection's limit (the writers'
    NIANBAO_DUCKDB_MEMORY_LIMIT, warehouse/store.py): every statement is written to fit in it (slices sized by
    the limit, facts chosen by report before they are joined) or to spill.
    """
    with _under_refresh_memory_limit(conn) as writers:
        _refresh_analyst_tables(conn, run_id, writers)
    sync_wide_rows(conn)


def _refresh_analyst_tables(conn: duckdb.DuckDBPyConnection, run_id: str | None, writers_limit: str) -> None:
    """Everything but the wide rows, in one transaction."""
    with transaction(conn):
        if run_id is not None and scalar(conn, "select count(*) = 0 from metrics"):
            run_id = None
        conn.execute(AFFECTED, {"run_id": run_id})
        conn.execute(REFRESH_AGENCIES)
        conn.execute(DELETE_CHANGES)
        appended = _insert_changes(conn)
        _keep_changes_ordered(conn, appended if run_id is not None else None, writers_limit)
        for statement in (_refresh_metrics_sql(conn), REFRESH_REGION_METRICS, REFRESH_MISSING_REPORTS,
                          REFRESH_FAILED_CHECKS):
            conn.execute(statement)
        conn.execute("drop table _affected")
