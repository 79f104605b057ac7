"""One self-contained HTML file: BokehJS, styles and data inline, so it opens on a machine with no network.

Bokeh is the charting library because its Python package ships BokehJS itself (inlined once, 1.3 MB), it
draws SVG (so a test can count the bars it drew), and it is actively maintained. plotly was tried first:
its 4.8 MB plotly.js alone took ~2 s of the page's time to evaluate, twice Bokeh's whole page.
"""

from __future__ import annotations

import html
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bokeh.embed import components
from bokeh.resources import Resources

from warehouse.html_report.charts import CHECK_RULES, FONT_FAMILY, Chart, build_charts
from warehouse.html_report.queries import FAILING_ROWS_SHOWN, ReportData, ReportError, Selection, read_report_data
from warehouse.store import connect

#: Only BokehJS's core: no widgets, tables, WebGL or MathJax (1.8 MB) are used.
RESOURCES = Resources(mode="inline", components=["bokeh"])

STYLE = f"""
body {{ font-family: {FONT_FAMILY}; margin: 0 auto; max-width: 1400px; padding: 16px 24px; color: #222; }}
h1 {{ font-size: 24px; margin: 8px 0; }}
h2 {{ font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }}
.summary {{ color: #555; margin: 4px 0 16px; }}
.summary b {{ color: #222; }}
/* auto-fill, not auto-fit: a chart is drawn as soon as it is parsed, so its column must already have its final width. */
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px 24px; }}
.chart {{ min-width: 0; }}
.chart h3 {{ font-size: 15px; margin: 12px 0 4px; }}
.legend {{ list-style: none; padding: 0; margin: 0 0 4px; font-size: 12px; }}
.legend li {{ display: inline-block; margin-right: 14px; }}
.legend span {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
.no-data {{ height: 120px; line-height: 120px; text-align: center; color: #888; font-size: 18px; }}
table {{ border-collapse: collapse; font-size: 13px; width: 100%; }}
th, td {{ border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }}
td.n {{ text-align: right; }}
.scroll {{ max-height: 640px; overflow: auto; }}
"""


@dataclass(frozen=True)
class ReportInfo:
    """What `write_report` wrote: the CLI prints it, the nightly flow can link it."""

    path: Path
    size_bytes: int
    reports: int
    charts: int
    region_columns: bool
    seconds: float


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _summary(data: ReportData, db_name: str, generated_at: datetime) -> str:
    selection = [f"{data.selection.year} 年" if data.selection.year is not None else "全部年份",
                 f"地区 {data.selection.region}" if data.selection.region else "全部地区"]
    parts = [
        f"仓库 <b>{html.escape(db_name)}</b>",
        f"范围 <b>{' · '.join(selection)}</b>",
        f"报告 <b>{data.reports:,}</b>",
        f"数据单元 <b>{data.facts:,}</b>",
        f"生成于 {generated_at:%Y-%m-%d %H:%M}",
    ]
    if data.last_run:
        run_id, finished_at, status, loaded, failed = data.last_run
        when = f"，{finished_at:%Y-%m-%d %H:%M}" if finished_at else ""
        parts.append(f"最近一次运行 {html.escape(str(run_id))}（{html.escape(str(status))}{when}，"
                     f"载入 {loaded or 0} 个文件，失败 {failed or 0} 个）")
    if not data.region_columns:
        parts.append("无地区数据（reports.adcode / province 尚不存在）")
    return '<p class="summary">' + " · ".join(parts) + "</p>"


def _chart(chart: Chart, div: str | None) -> str:
    legend = "".join(f'<li><span style="background:{colour}"></span>{html.escape(label)}</li>'
                     for label, colour in chart.legend)
    body = div if div is not None else '<p class="no-data">无数据 · no data</p>'
    return (f'<section class="chart" id="chart-{chart.key}"><h3>{html.escape(chart.title)}</h3>'
            f'{f"<ul class=legend>{legend}</ul>" if legend else ""}{body}</section>')


def _failing_table(data: ReportData) -> str:
    if not data.failing_reports:
        return '<p id="failing-reports-none">没有未通过校验的报告 · no report fails a check</p>'
    header = "".join(f"<th>{label}</th>" for label in
                     ("机关 agency", "年份 year", "文件 file", "规则 rule", "范围 scope", "左边 lhs", "右边 rhs", "说明 detail"))
    rows = []
    for agency, year, path, rule, scope, lhs, rhs, detail in data.failing_reports:
        rule_text = f"{rule}（{CHECK_RULES[rule]}）" if rule in CHECK_RULES else rule
        cells = [agency, "" if year is None else str(year), path, rule_text, scope]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
                    + f'<td class="n">{_number(lhs)}</td><td class="n">{_number(rhs)}</td>'
                    + f"<td>{html.escape(detail or '')}</td></tr>")
    more = ""
    if data.failing_rows_total > len(data.failing_reports):
        more = (f'<p class="summary">前 {len(data.failing_reports):,} 条，共 {data.failing_rows_total:,} 条；'
                "全部：<code>nianbao sql \"select * from failed_checks\"</code></p>")
    return (f'<div class="scroll"><table id="failing-reports"><thead><tr>{header}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{more}')


def render_page(data: ReportData, charts: list[Chart], db_name: str, generated_at: datetime) -> str:
    drawn = [chart.figure for chart in charts if chart.figure is not None]
    script, divs = components(drawn) if drawn else ("", ())
    div_of = dict(zip(map(id, drawn), divs))
    sections = "".join(_chart(chart, div_of.get(id(chart.figure))) for chart in charts)
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>政府信息公开工作年度报告 · 数据概览 · {html.escape(db_name)}</title>"
        f"<style>{STYLE}</style>{RESOURCES.render_js() if drawn else ''}</head><body>"
        "<h1>政府信息公开工作年度报告 · 数据概览</h1>"
        f"{_summary(data, db_name, generated_at)}"
        f'<div class="grid">{sections}</div>'
        f"<h2>未通过校验的报告 · Reports whose checks fail (first {FAILING_ROWS_SHOWN})</h2>"
        f"{_failing_table(data)}"
        f"{script}</body></html>\n"
    )


#: DuckDB's memory for the page's queries. At 100,000 reports they took the nightly run's process 231 MB up
#: under DuckDB's default (80% of RAM), 108 MB under 64 MB, in the same 2 CPU s.
REPORT_MEMORY_LIMIT = "64MB"


def write_report(db: str | Path, out: str | Path, year: int | None = None, region: str | None = None) -> ReportInfo:
    """Write the warehouse's charts to `out` as one offline HTML file; the nightly flow can call this after publishing.

    `year` and `region` (a six-digit adcode; needs the region columns) narrow the report-based charts.
    The file is written beside its final name and renamed, so a reader never sees half a page.
    """
    started = time.perf_counter()
    db, out = Path(db), Path(out)
    if not out.parent.is_dir():
        raise ReportError("no_output_directory",
                          f"{out}: the directory {out.parent} does not exist; create it or give another --out")
    with connect(db, read_only=True) as conn:
        conn.execute(f"set memory_limit = '{REPORT_MEMORY_LIMIT}'")
        data = read_report_data(conn, Selection(year=year, region=region), db.name)
    charts = build_charts(data)
    page = render_page(data, charts, db.name, datetime.now())
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(page, encoding="utf-8")
    os.replace(partial, out)
    return ReportInfo(path=out, size_bytes=out.stat().st_size, reports=data.reports, charts=len(charts),
                      region_columns=data.region_columns, seconds=time.perf_counter() - started)
