"""Export the analyst-facing tables as Parquet, CSV or XLSX files for people who do not query DuckDB.

Parquet and CSV are written by DuckDB's COPY, which streams: a warehouse larger than memory exports
in bounded memory. XLSX is written by XlsxWriter in constant_memory mode, fed in chunks from a DuckDB
cursor, so it streams too; a table longer than a sheet (1,048,576 rows) continues on the next sheet.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse.sql import scalar

FORMATS = ("parquet", "csv", "xlsx")
#: What is exported, in this order: the labelled facts, the wide views, the analyst tables.
EXPORTED = (
    "facts_labelled", "active_disclosure_wide", "requests_wide", "review_litigation_wide", "agencies", "changes",
    "metrics", "region_metrics", "metric_dictionary", "missing_reports",
)
_XLSX_MAX_ROWS = 1_048_576
#: DuckDB's working memory during an export; beyond it, it spills to disk.
DEFAULT_MEMORY_LIMIT = "1GB"
_CHUNK_ROWS = 10_000
#: Chinese headers of the exported columns; the wide views' cell columns are named from cell_dictionary.
HEADERS_ZH = {
    "report_id": "报告编号", "agency_id": "机关编号", "agency": "机关名称", "name": "机关名称", "names": "曾用名称",
    "year": "年度", "adcode": "行政区划代码", "province": "省级", "city": "地级", "county": "县级",
    "township": "乡级", "admin_level": "行政层级", "kind": "机关类型", "region_method": "区划确定方式",
    "region_reason": "区划未确定原因", "sources": "来源", "source": "来源", "first_year": "首次年度",
    "last_year": "最近年度", "reports": "报告数", "template_version": "模板版本（表一）",
    "requests_template_version": "模板版本（表二）", "table_code": "表代码", "item": "条目", "row_code": "行代码",
    "col_code": "列代码", "value": "数值", "value_kind": "数值类型", "unit": "单位", "raw_text": "原文",
    "table_label_zh": "表", "row_label_zh": "行", "row_label_en": "行（英文）", "col_label_zh": "列",
    "col_label_en": "列（英文）", "row_order": "行序", "col_order": "列序", "previous_value": "上年数值",
    "change": "变化", "change_pct": "变化率（%）", "previous_report_id": "上年报告编号", "metric": "指标",
    "numerator": "分子", "denominator": "分母", "level": "区划层级", "region": "区划名称", "key": "指标",
    "name_zh": "中文名称", "name_en": "英文名称", "formula": "公式", "missing_year": "缺报年度",
    "last_report_id": "最近报告编号",
}


@dataclass
class ExportInfo:
    """What an export wrote: per table, its rows and where."""

    format: str
    out: Path
    tables: list[tuple[str, int, str]] = field(default_factory=list)


def _cell_headers(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """A wide view's column (denied_state_secret__total) -> its Chinese row and column labels."""
    rows = conn.execute(
        "select row_code, col_code, arg_max(row_label_zh, template), arg_max(col_label_zh, template) "
        "from cell_dictionary group by all"
    ).fetchall()
    return {f"{row.replace('.', '_')}__{col}": f"{row_zh} / {col_zh}" for row, col, row_zh, col_zh in rows}


def _whole_as_text(conn: duckdb.DuckDBPyConnection, query: str) -> str:
    """The query for CSV: a DOUBLE that holds a whole number is written 14, not 14.0."""
    relation = conn.sql(query)
    columns = []
    for name, kind in zip(relation.columns, relation.dtypes):
        quoted = f'"{name}"'
        if str(kind) == "DOUBLE":
            columns.append(f"case when {quoted} = trunc({quoted}) and abs({quoted}) < 1e15 "
                           f"then cast(cast({quoted} as bigint) as varchar) else cast({quoted} as varchar) end as {quoted}")
        else:
            columns.append(quoted)
    return f"select {', '.join(columns)} from ({query})"


def _write_xlsx(conn: duckdb.DuckDBPyConnection, tables: list[str], path: Path, info: ExportInfo) -> None:
    import xlsxwriter  # only this format needs it

    headers = HEADERS_ZH | _cell_headers(conn)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                                "strings_to_formulas": False, "strings_to_urls": False})
    try:
        for table in tables:
            names = conn.sql(f"select * from {table}").columns
            sheet, row_in_sheet, part, total = None, _XLSX_MAX_ROWS, 0, 0
            for chunk in _chunks(conn, f"select * from {table}"):
                for record in chunk:
                    if row_in_sheet >= _XLSX_MAX_ROWS:
                        part += 1
                        sheet = workbook.add_worksheet(table[:28] if part == 1 else f"{table[:27]}_{part}")
                        sheet.write_row(0, 0, [headers.get(n, n) for n in names])
                        row_in_sheet = 1
                    assert sheet is not None, "a sheet is added before its first row"
                    sheet.write_row(row_in_sheet, 0, [_xlsx_value(v) for v in record])
                    row_in_sheet += 1
                    total += 1
            if sheet is None:  # an empty table still gets its sheet and headers
                workbook.add_worksheet(table[:28]).write_row(0, 0, [headers.get(n, n) for n in names])
            info.tables.append((table, total, str(path)))
    finally:
        workbook.close()


def _chunks(conn: duckdb.DuckDBPyConnection, query: str) -> Iterator[list[tuple]]:
    """The rows of the query, _CHUNK_ROWS at a time, from a cursor of its own."""
    cursor = conn.cursor()
    try:
        cursor.execute(query)
        while chunk := cursor.fetchmany(_CHUNK_ROWS):
            yield chunk
    finally:
        cursor.close()


def _xlsx_value(value: object) -> object:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if value is not None and not isinstance(value, (int, float, str)):
        return str(value)
    return value


def export_warehouse(conn: duckdb.DuckDBPyConnection, fmt: str, out: str | Path,
                     tables: tuple[str, ...] = EXPORTED, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> ExportInfo:
    """Write `tables` to the directory `out`: Parquet partitioned by year (a table without a year in one
    file), CSV one file per table, XLSX one workbook with a sheet per table and Chinese headers.

    The connection is limited to `memory_limit` and told that row order need not be kept, so that DuckDB
    streams and spills to `out`/.spill instead of holding a big table in memory.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    conn.execute(f"set memory_limit = '{memory_limit}'; set preserve_insertion_order = false")
    try:  # a read-only warehouse's own spill directory (beside it) may not be writable
        conn.execute(f"set temp_directory = '{out / '.spill'}'")
    except duckdb.NotImplementedException:  # this connection already spilled elsewhere: it keeps that place
        pass
    info = _export(conn, fmt, out, tables)
    shutil.rmtree(out / ".spill", ignore_errors=True)
    return info


def _export(conn: duckdb.DuckDBPyConnection, fmt: str, out: Path, tables: tuple[str, ...]) -> ExportInfo:
    info = ExportInfo(format=fmt, out=out)
    if fmt == "xlsx":
        _write_xlsx(conn, list(tables), out / "nianbao.xlsx", info)
        return info
    for table in tables:
        query = f"select * from {table}"
        if fmt == "csv":
            target = out / f"{table}.csv"
            rows = scalar(conn, f"copy ({_whole_as_text(conn, query)}) to '{target}' (format csv, header)")
        elif "year" in conn.sql(query).columns:
            target = out / table
            rows = scalar(conn, f"copy ({query}) to '{target}' (format parquet, partition_by (year), "
                                "overwrite_or_ignore)")
        else:
            target = out / f"{table}.parquet"
            rows = scalar(conn, f"copy ({query}) to '{target}' (format parquet)")
        info.tables.append((table, rows, str(target)))
    return info
