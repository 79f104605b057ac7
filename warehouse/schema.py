"""The warehouse's tables and views. Creating them is idempotent; every load calls ensure_schema."""

from __future__ import annotations


import duckdb

from warehouse.analyst import ensure_analyst_schema
from template import (
    ACTIVE_DISCLOSURE,
    MONEY_COLUMNS,
    REQUESTS,
    REVIEW_LITIGATION,
    TABLE_CODES,
    TABLE_TITLES,
    TEMPLATE_VERSIONS,
    cells_for,
    columns_for,
    english_labels,
    rows_for,
    template_cells,
)

SCHEMA_VERSION = 5

TABLES = """
create table if not exists schema_info (schema_version integer not null);

create table if not exists reports (
    report_id varchar primary key,
    source_path varchar not null,
    source_url varchar,                 -- where a crawled report was downloaded from
    sha256 varchar not null,
    size_bytes bigint,
    agency varchar,
    year integer,
    title varchar,
    signature_date date,
    template_version varchar,           -- of table A, told by its column headers
    requests_template_version varchar,  -- of table B, told by its （六）其他处理 rows
    encoding varchar,
    encoding_source varchar,            -- bom / declared / utf-8 / detected / fallback
    declared_encoding varchar,
    reader varchar,                     -- which reader produced the cells
    parser_version varchar,
    run_id varchar,
    loaded_at timestamp,
    source_status varchar not null default 'current',  -- current / failing: its file now fails to read
    source_error varchar,               -- when failing: what is wrong with the file now
    source varchar,                     -- the sources-file entry it came through (its name)
    agency_id varchar,                  -- one id per agency across years and name variants
    agency_key varchar,                 -- what the id hashes: adcode|township|name without its regions
    agency_kind varchar,                -- 人民政府 / 办公厅(室) / 局 / 委 / 厅 / 办事处 / 中心 / 其他
    admin_level varchar,                -- province / city / county / township
    adcode varchar,                     -- GB/T 2260 code of the smallest region the agency is in
    province varchar,
    city varchar,
    county varchar,
    township varchar,
    region_method varchar,              -- name / declared (the source's region) / text (the report's)
    region_reason varchar               -- why adcode is NULL
);

create table if not exists facts (
    report_id varchar not null,
    table_code varchar not null,
    item varchar not null,
    row_code varchar not null,
    col_code varchar not null,
    value double,                       -- NULL unless value_kind = 'number'; money in 万元
    value_kind varchar not null,        -- number / blank / dash / text / missing / ambiguous
    unit varchar,
    raw_text varchar,                   -- the cell as printed; NULL when missing
    confidence double                   -- recognition confidence (0-1) of a cell read by OCR; NULL otherwise
);

create table if not exists checks (
    report_id varchar not null,
    rule varchar not null,
    scope varchar not null,
    passed boolean not null,
    lhs double,
    rhs double,
    detail varchar
);

create table if not exists ingest_files (
    path varchar primary key,
    sha256 varchar not null,
    size_bytes bigint,
    status varchar not null,            -- loaded / failed / duplicate / ignored
    reason varchar,                     -- machine-readable reason (why failed, duplicate or ignored)
    error varchar,                      -- what is wrong, naming the file
    report_id varchar,                  -- the report it loaded (or is a duplicate of, or had before failing)
    url varchar,                        -- where a crawled file was downloaded from
    parser_version varchar,
    run_id varchar,
    updated_at timestamp not null
);

create table if not exists runs (
    run_id varchar not null,
    attempt integer not null default 1, -- Prefect's run count: a Retry from the UI is attempt 2, and so on
    flow_run_name varchar,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,            -- completed / failed (some files failed, or a source reached nothing)
    files_seen integer,
    files_loaded integer,
    files_unchanged integer,
    files_failed integer,               -- failed in this run, plus unchanged files still failing
    facts_loaded bigint,
    checks_failed bigint,
    files_ignored integer,
    files_duplicate integer,
    sources_failed integer,
    primary key (run_id, attempt)
);

create table if not exists fetches (
    crawl_id varchar not null,
    source varchar not null,            -- the crawl source's name in the sources file
    url varchar not null,
    kind varchar not null,              -- listing / report / attachment / image
    outcome varchar not null,           -- downloaded / not_modified / refused / failed
    final_url varchar,
    status integer,
    content_type varchar,
    http_charset varchar,               -- as the HTTP header declared it
    etag varchar,
    last_modified varchar,
    fetched_at timestamp not null,
    sha256 varchar,
    raw_path varchar,                   -- raw/<sha256><suffix> next to the warehouse
    reason varchar,                     -- why it was refused or failed
    primary key (crawl_id, url)
);

create table if not exists cell_dictionary (
    template varchar not null,
    table_code varchar not null,
    item varchar not null,
    row_code varchar not null,
    col_code varchar not null,
    table_label_zh varchar,
    table_label_en varchar,
    row_label_zh varchar,
    row_label_en varchar,
    col_label_zh varchar,
    col_label_en varchar,
    item_order integer,                 -- template order within the table, from 1
    row_order integer,
    col_order integer
);
"""

FIXED_VIEWS = """
create or replace view facts_labelled as
select r.agency_id, r.agency, r.year, r.adcode, r.province, r.city, r.county, f.*,
       d.table_label_zh, d.row_label_zh, d.row_label_en, d.col_label_zh, d.col_label_en, d.row_order, d.col_order
from facts f
join reports r using (report_id)
left join cell_dictionary d
       on d.template = case when f.table_code = 'active_disclosure' then r.template_version
                            else r.requests_template_version end
      and d.table_code = f.table_code and d.row_code = f.row_code and d.col_code = f.col_code;

create or replace view failed_checks as
select r.agency, r.year, r.source_path, c.*
from checks c join reports r using (report_id)
where not c.passed;

create or replace view report_sources as
select i.report_id, i.path, i.url, i.status, i.updated_at
from ingest_files i
where i.status in ('loaded', 'duplicate') and i.report_id is not null
union
select r.report_id, f.raw_path as path, f.url, 'crawled' as status, f.fetched_at as updated_at
from fetches f join reports r on r.sha256 = f.sha256
where f.outcome = 'downloaded';
"""


def _dictionary_rows() -> list[tuple]:
    """Every template cell with its labels and its place in the printed template (orders from 1)."""
    english = english_labels()
    rows = []
    for version in TEMPLATE_VERSIONS:
        for table_code in TABLE_CODES:
            cells = cells_for(version, table_code)
            items = list(dict.fromkeys(c.item for c in cells))
            row_codes = rows_for(version, table_code)
            for c in cells:
                rows.append((
                    c.template, c.table_code, c.item, c.row_code, c.col_code,
                    TABLE_TITLES[c.table_code], english[("table", c.table_code)],
                    c.row_label, english[("row", c.row_code)],
                    c.col_label, english[("col", c.col_code)],
                    items.index(c.item) + 1, row_codes.index(c.row_code) + 1,
                    columns_for(version, table_code, c.item).index(c.col_code) + 1,
                ))
    return rows


def _column_name(row_code: str, col_code: str) -> str:
    return f"{row_code.replace('.', '_')}__{col_code}"


def _typed(column: str, col_code: str) -> str:
    """A cell's column typed for display: counts BIGINT, so that they print as 14 and not 14.0; money (万元)
    stays DOUBLE. A count printed with a fraction (a typo) is NULL here; facts keeps what was printed."""
    if col_code in MONEY_COLUMNS:
        return column
    return f"case when {column} = trunc({column}) then cast({column} as bigint) end as {column}"


def _wide_view(table_code: str, view: str) -> str:
    """One row per report; a column per template cell of either version (NULL where absent).

    The cells are pivoted by one aggregate each and typed outside it, so that a filter on year or
    agency still reaches the reports before the facts are aggregated.
    """
    pairs: dict[tuple[str, str], None] = {}
    for cell in template_cells():
        if cell.table_code == table_code:
            pairs.setdefault((cell.row_code, cell.col_code))
    pivoted = ",\n        ".join(
        f"max(f.value) filter (where f.row_code = '{row}' and f.col_code = '{col}') as {_column_name(row, col)}"
        for row, col in pairs
    )
    typed = ",\n    ".join(_typed(_column_name(row, col), col) for row, col in pairs)
    return f"""create or replace view {view} as
select report_id, agency_id, agency, year, adcode, province, city, county, template_version, requests_template_version,
    {typed}
from (
    select r.report_id, r.year, any_value(r.agency_id) as agency_id, any_value(r.agency) as agency,
           any_value(r.adcode) as adcode, any_value(r.province) as province, any_value(r.city) as city,
           any_value(r.county) as county, any_value(r.template_version) as template_version,
           any_value(r.requests_template_version) as requests_template_version,
        {pivoted}
    from reports r left join facts f on f.report_id = r.report_id and f.table_code = '{table_code}'
    group by r.report_id, r.year
)"""


def wide_select(table_code: str, reports: str = "true") -> str:
    """The same rows and columns as the table's wide view, by DuckDB's PIVOT, for the reports that the
    condition `reports` (on report_id) keeps: ten times faster when every column is wanted (an export),
    slower when a query wants a few (the view computes only those). PIVOT cannot spill to disk, so an
    export asks for a slice of the reports at a time."""
    pairs = list(dict.fromkeys((c.row_code, c.col_code) for c in template_cells() if c.table_code == table_code))
    cells = ", ".join(f"'{_column_name(row, col)}'" for row, col in pairs)
    typed = ",\n    ".join(_typed(_column_name(row, col), col) for row, col in pairs)
    return f"""select r.report_id, r.agency_id, r.agency, r.year, r.adcode, r.province, r.city, r.county,
    r.template_version, r.requests_template_version,
    {typed}
from reports r left join (
    pivot (select report_id, replace(row_code, '.', '_') || '__' || col_code as cell, value
           from facts where table_code = '{table_code}' and {reports})
    on cell in ({cells}) using max(value) group by report_id
) using (report_id)
where {reports}"""


def _by_row_view(table_code: str, view: str, version_column: str) -> str:
    """One row per report and template row, its columns side by side, with the row's template order and
    labels (of the version the report printed), so that a table shows in template order without a list."""
    columns: dict[str, None] = {}
    for version in reversed(TEMPLATE_VERSIONS):
        for cell in cells_for(version, table_code):
            columns.setdefault(cell.col_code)
    pivoted = ",\n".join(f"        max(f.value) filter (where f.col_code = '{col}') as {col}" for col in columns)
    typed = ",\n".join(f"    {_typed(col, col)}" for col in columns)
    return f"""create or replace view {view} as
select report_id, agency_id, agency, year, template, item, row_code, row_order, row_label_zh, row_label_en,
{typed}
from (
    select r.report_id, r.agency_id, r.agency, r.year, r.{version_column} as template, f.item, f.row_code,
           d.row_order, d.row_label_zh, d.row_label_en,
{pivoted}
    from facts f join reports r using (report_id)
    left join (select distinct template, row_code, row_order, row_label_zh, row_label_en
               from cell_dictionary where table_code = '{table_code}') d
           on d.template = r.{version_column} and d.row_code = f.row_code
    where f.table_code = '{table_code}'
    group by all
)"""


WIDE_VIEWS = {
    ACTIVE_DISCLOSURE: "active_disclosure_wide",
    REQUESTS: "requests_wide",
    REVIEW_LITIGATION: "review_litigation_wide",
}
BY_ROW_VIEWS = {
    ACTIVE_DISCLOSURE: ("active_disclosure_by_row", "template_version"),
    REQUESTS: ("requests_by_row", "requests_template_version"),
    REVIEW_LITIGATION: ("review_litigation_by_row", "requests_template_version"),
}
_REPORT_COLUMNS_V3 = ("source", "agency_id", "agency_key", "agency_kind", "admin_level", "adcode", "province", "city",
                      "county", "township", "region_method", "region_reason")

#: What turns a warehouse of each older schema version into the next one.
MIGRATIONS = {
    1: "alter table reports add column if not exists source_url varchar",
    # runs keeps every attempt of a flow run: its key becomes (run_id, attempt), which DuckDB cannot alter.
    2: """
    alter table reports add column if not exists source_status varchar default 'current';
    update reports set source_status = 'current' where source_status is null;
    alter table reports add column if not exists source_error varchar;
    alter table ingest_files add column if not exists url varchar;
    create table runs_v3 as select run_id, 1 as attempt, flow_run_name, started_at, finished_at, status, files_seen,
        files_loaded, files_unchanged, files_failed, facts_loaded, checks_failed, null::integer as files_ignored,
        null::integer as files_duplicate, null::integer as sources_failed from runs;
    drop table runs;
    """,
    3: "alter table facts add column if not exists confidence double",
    # agencies and regions on reports (NULL until the files are extracted again: PARSER_VERSION 3),
    # template order in cell_dictionary (refilled), the analyst tables (warehouse/analyst.py).
    4: ";\n".join(
        [f"alter table reports add column if not exists {c} varchar" for c in _REPORT_COLUMNS_V3]
        + [f"alter table cell_dictionary add column if not exists {c} integer" for c in ("item_order", "row_order", "col_order")]
        + ["delete from cell_dictionary"]
    ),
}
#: Run after a migration's statements, when the tables above have been created again where dropped.
MIGRATION_FOLLOW_UPS = {
    2: "insert into runs by name select * from runs_v3; drop table runs_v3;",
}


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(TABLES)
    version = conn.execute("select max(schema_version) from schema_info").fetchone()[0]
    if version is None:
        conn.execute("insert into schema_info values (?)", [SCHEMA_VERSION])
    elif version < SCHEMA_VERSION:
        conn.execute("begin transaction")
        try:
            for step in range(version, SCHEMA_VERSION):
                conn.execute(MIGRATIONS[step])
                conn.execute(TABLES)
                if step in MIGRATION_FOLLOW_UPS:
                    conn.execute(MIGRATION_FOLLOW_UPS[step])
            conn.execute("update schema_info set schema_version = ?", [SCHEMA_VERSION])
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
    elif version > SCHEMA_VERSION:
        raise RuntimeError(
            f"the warehouse has schema version {version}, newer than this nianbao ({SCHEMA_VERSION}): upgrade nianbao"
        )
    if conn.execute("select count(*) from cell_dictionary").fetchone()[0] != len(template_cells()):
        conn.execute("delete from cell_dictionary")
        conn.executemany(f"insert into cell_dictionary values ({', '.join('?' * 14)})", _dictionary_rows())
    conn.execute(FIXED_VIEWS)
    for table_code, view in WIDE_VIEWS.items():
        conn.execute(_wide_view(table_code, view))
    for table_code, (view, version_column) in BY_ROW_VIEWS.items():
        conn.execute(_by_row_view(table_code, view, version_column))
    ensure_analyst_schema(conn)
