"""The report's charts as plotly figures: one trace per series, one bar or point per query row.

A chart whose query returned nothing says so (无数据) instead of drawing empty axes without a word.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from warehouse.html_report.queries import ReportData
from warehouse.template import REQUESTS, template_cells

#: Chinese first, then the fonts Windows and macOS readers have; all local, nothing is downloaded.
FONT_FAMILY = '"WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
NO_DATA = "无数据 · no data"
OUTCOMES = {
    "granted": "予以公开", "partially_granted": "部分公开", "denied": "不予公开",
    "unable": "无法提供", "not_processed": "不予处理", "other": "其他处理",
}
CORRECTION_GROUPS = {
    "review": "行政复议", "litigation_direct": "行政诉讼（未经复议直接起诉）", "litigation_after_review": "行政诉讼（复议后起诉）",
}
CRAWL_OUTCOMES = {"downloaded": "已下载", "not_modified": "未变化", "refused": "被拒绝", "failed": "失败"}
CHECK_RULES = {
    "requests_balance": "一+二=（七）+四",
    "requests_row_total": "总计=各列之和",
    "requests_handled_total": "（七）=（一）至（六）之和",
    "review_litigation_total": "复议诉讼总计=各结果之和",
}


@dataclass(frozen=True)
class Chart:
    key: str  # the id of its element in the page: chart-<key>
    title: str
    figure: go.Figure


def _row_labels() -> dict[str, str]:
    """Table B row labels without their section prefix: （三）不予公开 1.属于国家秘密 -> 1.属于国家秘密."""
    return {c.row_code: c.row_label.split(" ", 1)[-1] for c in template_cells() if c.table_code == REQUESTS}


def _figure(traces: list, *, stacked: bool = False, percent: bool = False, horizontal: bool = False,
            height: int = 380) -> go.Figure:
    figure = go.Figure(traces)
    figure.update_layout(
        template="plotly_white",
        height=height,
        margin=dict(l=60, r=20, t=30, b=60),
        font=dict(family=FONT_FAMILY, size=13),
        hoverlabel=dict(font_family=FONT_FAMILY),
        legend=dict(orientation="h", y=1.12, x=0),
        barmode="stack" if stacked else "group",
        barnorm="percent" if percent else None,
    )
    category_axis = figure.update_yaxes if horizontal else figure.update_xaxes
    category_axis(type="category", automargin=True)
    (figure.update_xaxes if horizontal else figure.update_yaxes)(rangemode="tozero")
    if horizontal:
        figure.update_yaxes(autorange="reversed")
    if not any(len(trace.x or ()) for trace in traces):
        figure.add_annotation(text=NO_DATA, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                              font=dict(size=18, color="#888"))
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
    return figure


def _bar(rows: list[tuple], name: str, *, horizontal: bool = False, labels: dict[str, str] | None = None,
         height: int = 380) -> go.Figure:
    """One bar per (label, value) row."""
    names = [(labels or {}).get(row[0], row[0]) for row in rows]
    values = [row[1] for row in rows]
    trace = go.Bar(
        x=values if horizontal else names, y=names if horizontal else values, name=name,
        orientation="h" if horizontal else "v",
        hovertemplate="%{" + ("y" if horizontal else "x") + "}: %{" + ("x" if horizontal else "y") + ":,.0f}<extra></extra>",
    )
    return _figure([trace], horizontal=horizontal, height=height)


def _series(rows: list[tuple], names: dict[str, str] | None = None) -> dict[str, tuple[list, list]]:
    """(series, x, value) rows -> {series label: (xs, values)}, keeping the rows' order; one point per row."""
    series: dict[str, tuple[list, list]] = {}
    for key, x, value in rows:
        xs, values = series.setdefault((names or {}).get(key, key), ([], []))
        xs.append(x)
        values.append(value)
    return series


def _stacked(rows: list[tuple], names: dict[str, str] | None = None, *, percent: bool = False) -> go.Figure:
    hover = "%{x} · %{fullData.name}: " + ("%{customdata:,.0f}（%{y:.1f}%）" if percent else "%{y:,.0f}") + "<extra></extra>"
    traces = [go.Bar(x=xs, y=values, name=label, customdata=values, hovertemplate=hover)
              for label, (xs, values) in _series(rows, names).items()]
    return _figure(traces or [go.Bar(x=[], y=[])], stacked=True, percent=percent)


def _rates(rows: list[tuple]) -> go.Figure:
    traces = [go.Scatter(x=xs, y=values, name=label, mode="lines+markers",
                         hovertemplate="%{x} · %{fullData.name}: %{y:.1%}<extra></extra>")
              for label, (xs, values) in _series(rows, CORRECTION_GROUPS).items()]
    figure = _figure(traces or [go.Scatter(x=[], y=[])])
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    return figure


def build_charts(data: ReportData) -> list[Chart]:
    """Every chart of the page, in reading order; the region charts only when the warehouse has regions."""
    charts = [
        Chart("reports-per-year", "每年报告数 · Reports per year", _bar(data.reports_per_year, "报告数")),
    ]
    if data.region_columns:
        charts.append(Chart("reports-per-region", "各地区每年报告数 · Reports per region and year",
                            _stacked([(year, region, n) for region, year, n in data.reports_per_region_year])))
    charts += [
        Chart("failed-files", "失败文件（按原因） · Files failed, by reason",
              _bar(data.failed_files_by_reason, "文件数", horizontal=True)),
        Chart("crawl-outcomes", "抓取结果（各来源最近一次） · Crawl outcomes, each source's last crawl",
              _stacked([(outcome, source, n) for source, outcome, n in data.crawl_outcomes], CRAWL_OUTCOMES)),
        Chart("requests-per-year", "每年新收申请数 · Requests received per year",
              _bar(data.requests_per_year, "新收申请")),
    ]
    if data.region_columns:
        charts.append(Chart("requests-per-region", "各地区新收申请数 · Requests received per region",
                            _bar(data.requests_per_region, "新收申请")))
    charts += [
        Chart("outcome-mix", "办理结果构成（表三，总计列） · Outcome mix of table B",
              _stacked(data.outcome_mix, OUTCOMES, percent=True)),
        Chart("top-agencies", "新收申请最多的机关 · Top agencies by requests received",
              _bar(data.top_agencies, "新收申请", horizontal=True, height=max(380, 26 * len(data.top_agencies) + 80))),
        Chart("denial-reasons", "不予公开理由 · Denial reasons",
              _bar(data.denial_reasons, "不予公开", horizontal=True, labels=_row_labels())),
        Chart("correction-rates", "行政复议、行政诉讼纠错率 · Review and litigation correction rates",
              _rates(data.correction_rates)),
        Chart("failed-checks", "未通过的校验规则（报告数） · Failing checks, reports per rule",
              _bar(data.failed_checks_by_rule, "报告数", horizontal=True,
                   labels={rule: f"{rule}（{text}）" for rule, text in CHECK_RULES.items()})),
    ]
    return charts
