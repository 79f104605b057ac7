"""The report's charts as Bokeh figures drawn in SVG: one bar or marker per query row, nothing else filled.

Legends are HTML beside the chart, not glyphs inside it, so what is filled in a chart's SVG is its data.
A chart whose query returned nothing gets no figure: the page says 无数据 instead of drawing empty axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bokeh.models import ColumnDataSource, DataRange1d, FactorRange, HoverTool, NumeralTickFormatter
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from template import REQUESTS, template_cells
from warehouse.html_report.queries import ReportData

#: Chinese first, then the fonts Windows and macOS readers have; all local, nothing is downloaded.
FONT_FAMILY = '"WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'
HEIGHT = 360
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
    figure: figure | None  # None when there is nothing to draw
    legend: list[tuple[str, str]] = field(default_factory=list)  # (label, colour), shown as HTML


def _row_labels() -> dict[str, str]:
    """Table B row labels without their section prefix: （三）不予公开 1.属于国家秘密 -> 1.属于国家秘密."""
    return {c.row_code: c.row_label.split(" ", 1)[-1] for c in template_cells() if c.table_code == REQUESTS}


def _figure(tooltip: str, *, height: int = HEIGHT, **ranges) -> figure:
    plot = figure(height=height, sizing_mode="stretch_width", output_backend="svg", toolbar_location=None,
                  tools=[HoverTool(tooltips=tooltip)], **ranges)
    plot.axis.major_label_text_font = FONT_FAMILY
    plot.axis.major_label_text_font_size = "12px"
    plot.outline_line_color = None
    plot.min_border_left = 40
    return plot


def _counts(axis) -> None:
    """Whole numbers on a count axis: 1,400, never 1.4e+3 or a tick at 0.5."""
    axis.formatter = NumeralTickFormatter(format="0,0")
    axis.ticker.min_interval = 1


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _bars(rows: list[tuple], *, horizontal: bool = False, labels: dict[str, str] | None = None) -> figure | None:
    """One bar per (label, value) row, in the rows' order (top to bottom when horizontal)."""
    if not rows:
        return None
    names = [(labels or {}).get(row[0], str(row[0])) for row in rows]
    source = ColumnDataSource({"label": names, "value": [row[1] for row in rows]})
    tooltip = "@label: @value{0,0}"
    if horizontal:
        plot = _figure(tooltip, height=max(HEIGHT, 24 * len(rows) + 60),
                       x_range=DataRange1d(start=0), y_range=FactorRange(factors=names[::-1]))
        plot.hbar(y="label", right="value", height=0.8, source=source, color=Category10_10[0])
        _counts(plot.xaxis)
    else:
        plot = _figure(tooltip, x_range=FactorRange(factors=names), y_range=DataRange1d(start=0))
        plot.vbar(x="label", top="value", width=0.8, source=source, color=Category10_10[0])
        _counts(plot.yaxis)
    return plot


def _series(rows: list[tuple], names: dict[str, str] | None) -> dict[str, list[tuple]]:
    """(series, x, value) rows -> {series label: [(x, value), …]}, keeping the rows' order."""
    series: dict[str, list[tuple]] = {}
    for key, x, value in rows:
        series.setdefault((names or {}).get(key, key), []).append((str(x), value))
    return series


def _stacked(rows: list[tuple], names: dict[str, str] | None = None, *, percent: bool = False,
             sort_x: bool = False) -> tuple[figure | None, list[tuple[str, str]]]:
    """One bar segment per (series, x, value) row, stacked per x; as shares of each x's total when `percent`."""
    if not rows:
        return None, []
    xs = _unique([str(x) for _, x, _ in rows])
    totals: dict[str, float] = {}
    for _, x, value in rows:
        totals[str(x)] = totals.get(str(x), 0) + (value or 0)
    plot = _figure("@x · @series: @value{0,0}" + (" (@share{0.0}%)" if percent else ""),
                   x_range=FactorRange(factors=sorted(xs) if sort_x else xs), y_range=DataRange1d(start=0))
    base = dict.fromkeys(xs, 0.0)
    legend = []
    for (label, points), colour in zip(_series(rows, names).items(), Category10_10 * 2):
        scale = [100 / totals[x] if percent and totals[x] else 1 for x, _ in points]
        heights = [(value or 0) * k for (_, value), k in zip(points, scale)]
        bottoms = [base[x] for x, _ in points]
        for (x, _), height in zip(points, heights):
            base[x] += height
        source = ColumnDataSource({
            "x": [x for x, _ in points], "bottom": bottoms, "top": [b + h for b, h in zip(bottoms, heights)],
            "value": [value for _, value in points], "share": heights if percent else [0] * len(points),
            "series": [label] * len(points),
        })
        plot.vbar(x="x", bottom="bottom", top="top", width=0.8, source=source, color=colour)
        legend.append((label, colour))
    _counts(plot.yaxis)
    return plot, legend


def _rates(rows: list[tuple]) -> tuple[figure | None, list[tuple[str, str]]]:
    """One marker per (group, year, rate) row, joined by a line per group."""
    if not rows:
        return None, []
    plot = _figure("@x · @series: @value{0.0%}", x_range=FactorRange(factors=sorted(_unique([str(x) for _, x, _ in rows]))),
                   y_range=DataRange1d(start=0))
    legend = []
    for (label, points), colour in zip(_series(rows, CORRECTION_GROUPS).items(), Category10_10):
        source = ColumnDataSource({"x": [x for x, _ in points], "value": [v for _, v in points],
                                   "series": [label] * len(points)})
        plot.line(x="x", y="value", source=source, color=colour, line_width=2)
        plot.scatter(x="x", y="value", source=source, color=colour, size=9)
        legend.append((label, colour))
    plot.yaxis.formatter = NumeralTickFormatter(format="0%")
    return plot, legend


def build_charts(data: ReportData) -> list[Chart]:
    """Every chart of the page, in reading order; the region charts only when the warehouse has regions."""
    charts = [Chart("reports-per-year", "每年报告数 · Reports per year", _bars(data.reports_per_year))]
    if data.region_columns:
        charts.append(Chart("reports-per-region", "各地区每年报告数 · Reports per region and year",
                            *_stacked([(year, region, n) for region, year, n in data.reports_per_region_year])))
    charts += [
        Chart("failed-files", "失败文件（按原因） · Files failed, by reason",
              _bars(data.failed_files_by_reason, horizontal=True)),
        Chart("crawl-outcomes", "抓取结果（各来源最近一次） · Crawl outcomes, each source's last crawl",
              *_stacked([(outcome, source, n) for source, outcome, n in data.crawl_outcomes], CRAWL_OUTCOMES)),
        Chart("requests-per-year", "每年新收申请数 · Requests received per year", _bars(data.requests_per_year)),
    ]
    if data.region_columns:
        charts.append(Chart("requests-per-region", "各地区新收申请数 · Requests received per region",
                            _bars(data.requests_per_region)))
    charts += [
        Chart("outcome-mix", "办理结果构成（表三，总计列，%） · Outcome mix of table B",
              *_stacked(data.outcome_mix, OUTCOMES, percent=True, sort_x=True)),
        Chart("top-agencies", "新收申请最多的机关 · Top agencies by requests received",
              _bars(data.top_agencies, horizontal=True)),
        Chart("denial-reasons", "不予公开理由 · Denial reasons",
              _bars(data.denial_reasons, horizontal=True, labels=_row_labels())),
        Chart("correction-rates", "行政复议、行政诉讼纠错率 · Review and litigation correction rates",
              *_rates(data.correction_rates)),
        Chart("failed-checks", "未通过的校验规则（报告数） · Failing checks, reports per rule",
              _bars(data.failed_checks_by_rule, horizontal=True,
                    labels={rule: f"{rule}（{text}）" for rule, text in CHECK_RULES.items()})),
    ]
    return charts
