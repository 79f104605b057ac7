"""What the HTML report shows, as SQL over the warehouse: one small aggregate per chart.

Every chart reads a few dozen rows at most, whatever the size of the warehouse, so the page stays small.
The region parts exist only when some report has a region (reports.adcode and reports.province).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from template import REQUESTS, REVIEW_LITIGATION

REGION_COLUMNS = ("adcode", "province")
TOP_AGENCIES = 20
FAILING_ROWS_SHOWN = 500
UNKNOWN_YEAR = "年份不明"
UNKNOWN_REGION = "地区不明"
#: Table C's three groups, in template order.
CORRECTION_GROUPS = ("review", "litigation_direct", "litigation_after_review")
#: Table B's （一）to（六）, in template order.
OUTCOMES = ("granted", "partially_granted", "denied", "unable", "not_processed", "other")
_ADCODE = re.compile(r"\d{6}")


class ReportError(ValueError):
    """A report that cannot be written as asked. The message says what to do; `reason` is machine-readable."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class Selection:
    """Which reports the report-based charts cover. Files and crawl charts always cover the whole warehouse."""

    year: int | None = None
    region: str | None = None  # a GB/T 2260 code: 410000 selects the province, 410400 the city

    @property
    def adcode_prefix(self) -> str | None:
        """The digits every adcode inside the region starts with (trailing 00 pairs are 'the whole of')."""
        if self.region is None:
            return None
        prefix = self.region
        while prefix.endswith("00") and len(prefix) > 2:
            prefix = prefix[:-2]
        return prefix


@dataclass
class ReportData:
    """The rows of every chart, as (label, …, value) tuples in the order they are drawn."""

    selection: Selection
    region_columns: bool
    reports: int
    facts: int
    last_run: tuple | None
    reports_per_year: list[tuple] = field(default_factory=list)
    reports_per_region_year: list[tuple] = field(default_factory=list)
    failed_files_by_reason: list[tuple] = field(default_factory=list)
    crawl_outcomes: list[tuple] = field(default_factory=list)
    requests_per_year: list[tuple] = field(default_factory=list)
    requests_per_region: list[tuple] = field(default_factory=list)
    outcome_mix: list[tuple] = field(default_factory=list)
    top_agencies: list[tuple] = field(default_factory=list)
    denial_reasons: list[tuple] = field(default_factory=list)
    correction_rates: list[tuple] = field(default_factory=list)
    failed_checks_by_rule: list[tuple] = field(default_factory=list)
    failing_reports: list[tuple] = field(default_factory=list)
    failing_rows_total: int = 0


def has_region_columns(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether the report shows regions: the columns exist (the analyst layer) and some agency resolved, or
    there is no report yet."""
    found = {
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns where table_name = 'reports' and table_schema = 'main'"
        ).fetchall()
    }
    if not set(REGION_COLUMNS) <= found:
        return False
    row = conn.execute("select count(*) = 0 or count(province) > 0 from reports").fetchone()
    return bool(row and row[0])


def _check_warehouse(conn: duckdb.DuckDBPyConnection, db_name: str) -> None:
    tables = {row[0] for row in conn.execute(
        "select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
    missing = {"reports", "facts", "checks", "ingest_files", "fetches"} - tables
    if missing:
        raise ReportError(
            "not_a_warehouse",
            f"{db_name}: not a nianbao warehouse (no table {', '.join(sorted(missing))}); "
            "give the file `nianbao ingest --db` writes",
        )


def _checked_selection(selection: Selection, region_columns: bool, db_name: str) -> None:
    if selection.region is None:
        return
    if not _ADCODE.fullmatch(selection.region):
        raise ReportError(
            "bad_region",
            f"--region {selection.region!r} is not a six-digit GB/T 2260 code such as 410000 (a province) or 410400 (a city)",
        )
    if not region_columns:
        raise ReportError(
            "no_regions",
            f"{db_name}: none of its reports has a region (reports.province is empty: their agencies' names did "
            "not resolve, see reports.region_reason); leave out --region",
        )


def _selected_reports(selection: Selection, region_columns: bool) -> tuple[str, list]:
    """A `selected` CTE of the chosen reports, and its parameters."""
    conditions: list[str] = []
    params: list[object] = []
    if selection.year is not None:
        conditions.append("year = ?")
        params.append(selection.year)
    if selection.region is not None:
        conditions.append("adcode like ?")
        params.append(f"{selection.adcode_prefix}%")
    region = ", adcode, coalesce(province, ?) as region" if region_columns else ""
    where = f" where {' and '.join(conditions)}" if conditions else ""
    cte = f"with selected as (select report_id, agency, year{region} from reports{where})\n"
    return cte, ([UNKNOWN_REGION] if region_columns else []) + params


def _year_label(column: str = "year") -> str:
    return f"coalesce(cast({column} as varchar), '{UNKNOWN_YEAR}')"


def read_report_data(conn: duckdb.DuckDBPyConnection, selection: Selection, db_name: str) -> ReportData:
    """Every chart's rows, from one read-only connection."""
    _check_warehouse(conn, db_name)
    region_columns = has_region_columns(conn)
    _checked_selection(selection, region_columns, db_name)
    cte, params = _selected_reports(selection, region_columns)

    def rows(sql: str, extra: list | None = None) -> list[tuple]:
        return conn.execute(cte + sql, params + (extra or [])).fetchall()

    data = ReportData(
        selection=selection,
        region_columns=region_columns,
        reports=rows("select count(*) from selected")[0][0],
        facts=rows("select count(*) from facts join selected using (report_id)")[0][0],
        last_run=conn.execute(
            "select run_id, finished_at, status, files_loaded, files_failed from runs order by started_at desc limit 1"
        ).fetchone(),
    )
    _read_coverage(conn, rows, data)
    _read_requests(rows, data)
    _read_checks(rows, data)
    return data


def _read_coverage(conn: duckdb.DuckDBPyConnection, rows, data: ReportData) -> None:
    data.reports_per_year = rows(
        f"select {_year_label()}, count(*) from selected group by year order by year nulls last")
    if data.region_columns:
        data.reports_per_region_year = rows(
            f"select region, {_year_label()}, count(*) from selected group by region, year "
            "order by sum(count(*)) over (partition by region) desc, region, year nulls last")
    data.failed_files_by_reason = conn.execute(
        "select coalesce(reason, 'unknown'), count(*) from ingest_files where status = 'failed' "
        "group by all order by 2 desc, 1").fetchall()
    # Each source's last crawl: what the latest night saw, not every night added up.
    data.crawl_outcomes = conn.execute(
        "with latest as (select source, arg_max(crawl_id, fetched_at) as crawl_id from fetches group by source) "
        "select f.source, f.outcome, count(*) from fetches f join latest using (source, crawl_id) "
        "group by all order by 1, 2").fetchall()


def _read_requests(rows, data: ReportData) -> None:
    """Table B's 总计 column and table C's correction rates."""
    table_b_total = (f"from facts f join selected r using (report_id) "
                     f"where f.table_code = '{REQUESTS}' and f.col_code = 'total'")
    received = f"{table_b_total} and f.row_code = 'new_received'"
    data.requests_per_year = rows(
        f"select {_year_label('r.year')}, sum(f.value) {received} "
        "group by r.year having sum(f.value) is not null order by r.year nulls last")
    if data.region_columns:
        data.requests_per_region = rows(
            f"select r.region, sum(f.value) as n {received} group by 1 having n is not null order by n desc, 1")
    data.top_agencies = rows(
        f"select coalesce(r.agency, '机关不明'), sum(f.value) as n {received} "
        "group by 1 having n is not null order by n desc, 1 limit ?", [TOP_AGENCIES])
    # （一）to（六） by their top-level row code: the 2019 （六） is one row, the 2021 one three (other.*).
    data.outcome_mix = rows(
        f"select split_part(f.row_code, '.', 1) as outcome, {_year_label('r.year')}, sum(f.value) {table_b_total} "
        "and list_contains(?, outcome) group by outcome, r.year having sum(f.value) is not null "
        "order by list_position(?, outcome), r.year nulls last", [list(OUTCOMES), list(OUTCOMES)])
    data.denial_reasons = rows(
        f"select f.row_code, sum(f.value) as n {table_b_total} and f.row_code like 'denied.%' "
        "group by 1 having n is not null order by n desc, 1")
    data.correction_rates = rows(
        f"select f.row_code, {_year_label('r.year')}, sum(f.value) filter (where f.col_code = 'corrected') "
        "/ sum(f.value) filter (where f.col_code = 'total') "
        f"from facts f join selected r using (report_id) where f.table_code = '{REVIEW_LITIGATION}' "
        "group by f.row_code, r.year having sum(f.value) filter (where f.col_code = 'total') > 0 "
        "order by list_position(?, f.row_code), r.year nulls last", [list(CORRECTION_GROUPS)])


def _read_checks(rows, data: ReportData) -> None:
    failing = "from checks c join selected r using (report_id) where not c.passed"
    data.failed_checks_by_rule = rows(
        f"select c.rule, count(distinct c.report_id) as n {failing} group by 1 order by n desc, 1")
    data.failing_rows_total = rows(f"select count(*) {failing}")[0][0]
    data.failing_reports = rows(
        "select coalesce(r.agency, '机关不明'), r.year, rep.source_path, c.rule, c.scope, c.lhs, c.rhs, c.detail "
        "from checks c join selected r using (report_id) join reports rep using (report_id) where not c.passed "
        "order by r.agency, r.year, rep.source_path, c.rule, c.scope limit ?", [FAILING_ROWS_SHOWN])
