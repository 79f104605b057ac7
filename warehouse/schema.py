"""The warehouse's tables and views. Creating them is idempotent; every load calls ensure_schema."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from warehouse.template import ACTIVE_DISCLOSURE, REQUESTS, REVIEW_LITIGATION, TABLE_TITLES, template_cells

SCHEMA_VERSION = 4
LABELS_EN_CSV = Path(__file__).with_name("labels_en.csv")

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
    source_error varchar                -- when failing: what is wrong with the file now
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
    kind varchar not null,              -- listing / report / attachment
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
    col_label_en varchar
);
"""

FIXED_VIEWS = """
create or replace view facts_labelled as
select r.agency, r.year, f.*, d.row_label_zh, d.row_label_en, d.col_label_zh, d.col_label_en
from facts f
join reports r using (report_id)
left join (select distinct table_code, row_code, col_code, row_label_zh, row_label_en, col_label_zh, col_label_en
           from cell_dictionary) d using (table_code, row_code, col_code);

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

create or replace view requests_by_row as
select r.agency, r.year, f.report_id, f.row_code,
{request_columns}
from facts f join reports r using (report_id)
where f.table_code = 'requests'
group by all;
"""


def _english_labels() -> dict[tuple[str, str], str]:
    with LABELS_EN_CSV.open(encoding="utf-8", newline="") as handle:
        return {(row["kind"], row["code"]): row["label_en"] for row in csv.DictReader(handle)}


def _dictionary_rows() -> list[tuple]:
    english = _english_labels()
    return [
        (
            c.template, c.table_code, c.item, c.row_code, c.col_code,
            TABLE_TITLES[c.table_code], english[("table", c.table_code)],
            c.row_label, english[("row", c.row_code)],
            c.col_label, english[("col", c.col_code)],
        )
        for c in template_cells()
    ]


def _column_name(row_code: str, col_code: str) -> str:
    return f"{row_code.replace('.', '_')}__{col_code}"


def _wide_view(table_code: str, view: str) -> str:
    """One row per report; a column per template cell of either version (NULL where absent)."""
    pairs: dict[tuple[str, str], None] = {}
    for cell in template_cells():
        if cell.table_code == table_code:
            pairs.setdefault((cell.row_code, cell.col_code))
    columns = ",\n    ".join(
        f"max(f.value) filter (where f.row_code = '{row}' and f.col_code = '{col}') as {_column_name(row, col)}"
        for row, col in pairs
    )
    return (
        f"create or replace view {view} as\n"
        f"select r.report_id, r.agency, r.year, r.template_version, r.requests_template_version,\n    {columns}\n"
        f"from reports r left join facts f on f.report_id = r.report_id and f.table_code = '{table_code}'\n"
        f"group by all"
    )


WIDE_VIEWS = {
    ACTIVE_DISCLOSURE: "active_disclosure_wide",
    REQUESTS: "requests_wide",
    REVIEW_LITIGATION: "review_litigation_wide",
}


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
        conn.executemany(f"insert into cell_dictionary values ({', '.join('?' * 11)})", _dictionary_rows())
    request_columns = ",\n".join(
        f"    max(f.value) filter (where f.col_code = '{col}') as {col}"
        for col in ("natural_person", "commercial_enterprise", "research_institution", "social_welfare_org",
                    "legal_service_agency", "other_org", "total")
    )
    conn.execute(FIXED_VIEWS.format(request_columns=request_columns))
    for table_code, view in WIDE_VIEWS.items():
        conn.execute(_wide_view(table_code, view))
