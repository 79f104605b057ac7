"""`nianbao report` opened in a real headless Chromium with the network off: no console error, no request,
every chart drew as many bars or points as its SQL has rows, Chinese drawn with a CJK font, a screenshot
that is not blank. Empty warehouse, one report, 10,000 reports; with and without the region columns."""

from __future__ import annotations

import duckdb
import pytest
from PIL import Image
from typer.testing import CliRunner

from flows.cli import app
from tests.browser import CJK_FONT, Visit, open_offline
from tests.report_warehouse import add_regions, empty_warehouse, many_reports, one_report, without_regions
from warehouse.html_report import ReportError, write_report

TEN_MB = 10 * 1024 * 1024
CHARTS = ["reports-per-year", "failed-files", "crawl-outcomes", "requests-per-year", "outcome-mix", "top-agencies",
          "denial-reasons", "correction-rates", "failed-checks"]
REGION_CHARTS = ["reports-per-region", "requests-per-region"]
#: Tick labels of a count axis.
NUMBERS = {f"{n:,}" for n in range(0, 100_001)}
#: Bokeh draws after the page loads; its documents are idle once every chart is drawn. A page with nothing
#: to draw has no Bokeh at all.
DRAWN = ("() => document.querySelectorAll('[data-root-id]').length === 0"
         " || (!!window.Bokeh && Bokeh.documents.length > 0 && Bokeh.documents.every(d => d.is_idle))")
#: What a chart fills in its SVG: its bars and markers (axes, grid and lines are strokes; legends are HTML).
GLYPHS = "svg path[fill-opacity]"


def expected_points(db, year: int | None = None, adcode_prefix: str | None = None) -> dict[str, int]:
    """The rows each chart should draw, counted here with SQL of this test's own."""
    where = ["true"]
    if year is not None:
        where.append(f"year = {year}")
    if adcode_prefix is not None:
        where.append(f"adcode like '{adcode_prefix}%'")
    selected = f"(select * from reports where {' and '.join(where)})"
    table_b_total = (f"from facts f join {selected} r using (report_id) "
                     "where f.table_code = 'requests' and f.col_code = 'total'")
    queries = {
        "reports-per-year": f"select count(*) from (select distinct year from {selected})",
        "failed-files": "select count(*) from (select distinct reason from ingest_files where status = 'failed')",
        "crawl-outcomes": "select count(*) from (select distinct source, outcome from fetches f where crawl_id = "
                          "(select crawl_id from fetches g where g.source = f.source order by fetched_at desc limit 1))",
        "requests-per-year": f"select count(*) from (select r.year {table_b_total} and f.row_code = 'new_received' "
                             "group by r.year having count(f.value) > 0)",
        "outcome-mix": f"select count(*) from (select split_part(f.row_code, '.', 1) g, r.year {table_b_total} "
                       "and f.row_code not in ('new_received', 'carried_over', 'carried_forward', 'total_handled') "
                       "group by all having count(f.value) > 0)",
        "top-agencies": f"select least(20, count(*)) from (select r.agency {table_b_total} "
                        "and f.row_code = 'new_received' group by all having count(f.value) > 0)",
        "denial-reasons": f"select count(*) from (select f.row_code {table_b_total} and f.row_code like 'denied.%' "
                          "group by all having count(f.value) > 0)",
        "correction-rates": f"select count(*) from (select f.row_code, r.year from facts f join {selected} r "
                            "using (report_id) where f.table_code = 'review_litigation' and f.col_code = 'total' "
                            "group by all having sum(f.value) > 0)",
        "failed-checks": f"select count(distinct rule) from checks join {selected} using (report_id) where not passed",
    }
    with duckdb.connect(str(db), read_only=True) as conn:
        if conn.execute("select count(*) = 0 or count(province) > 0 from reports").fetchone()[0]:
            queries["reports-per-region"] = f"select count(*) from (select distinct province, year from {selected})"
            queries["requests-per-region"] = (f"select count(*) from (select r.province {table_b_total} "
                                              "and f.row_code = 'new_received' group by all having count(f.value) > 0)")
        return {chart: conn.execute(sql).fetchone()[0] for chart, sql in queries.items()}


def drawn_points(visit: Visit) -> dict[str, int]:
    """Bars and markers in each chart's SVG."""
    sections = visit.page.evaluate("() => [...document.querySelectorAll('section.chart')].map(s => s.id)")
    return {section.removeprefix("chart-"): visit.count(f"#{section}", GLYPHS) for section in sections}


def assert_clean_and_not_blank(visit: Visit, tmp_path) -> None:
    assert visit.problems == []
    assert visit.count("html", "[src], link, [href]") == 0
    screenshot = tmp_path / "report.png"
    visit.page.screenshot(path=screenshot, full_page=True)
    picture = Image.open(screenshot).convert("L")
    histogram = picture.histogram()
    not_white = sum(histogram[:240]) / (picture.width * picture.height)
    assert picture.height > 1000 and not_white > 0.01, (picture.size, not_white)


def assert_drawn_with_cjk_font(visit: Visit, root: str, selector: str, text: str) -> None:
    fonts = visit.fonts_rendering(root, selector, text)
    assert fonts.get(CJK_FONT, 0) > 0, fonts


@pytest.mark.slow
def test_an_empty_warehouse_opens_and_every_chart_says_no_data(tmp_path):
    db = empty_warehouse(tmp_path / "w.duckdb")
    info = write_report(db, tmp_path / "report.html")
    assert (info.reports, info.region_columns) == (0, True)
    with open_offline(info.path, DRAWN) as visit:
        assert_clean_and_not_blank(visit, tmp_path)
        charts = CHARTS + REGION_CHARTS
        assert drawn_points(visit) == dict.fromkeys(charts, 0) == expected_points(db)
        assert visit.texts(".grid", ".no-data") == ["无数据 · no data"] * len(charts)
        assert visit.count("body", "#failing-reports-none") == 1
        assert "报告 0" in visit.texts("body", ".summary")[0]


@pytest.mark.parametrize("regions", [False, True], ids=["without-regions", "with-regions"])
@pytest.mark.slow
def test_one_report_draws_its_numbers_in_chinese(tmp_path, regions):
    db = one_report(tmp_path / "w.duckdb")
    if regions:
        add_regions(db)
    else:
        without_regions(db)
    info = write_report(db, tmp_path / "report.html")
    assert info.reports == 1
    with open_offline(info.path, DRAWN) as visit:
        assert_clean_and_not_blank(visit, tmp_path)
        drawn = drawn_points(visit)
        assert drawn == expected_points(db)
        assert set(drawn) == set(CHARTS + (REGION_CHARTS if regions else []))
        assert drawn["reports-per-year"] == drawn["top-agencies"] == 1
        assert drawn["outcome-mix"] == 6  # （一）to（六） of 2023, the zeros too
        assert "平顶山市教育体育局" in visit.texts("#chart-top-agencies", "svg text")
        assert "2023" in visit.texts("#chart-reports-per-year", "svg text")
        assert_drawn_with_cjk_font(visit, "body", "h1", "政府信息公开工作年度报告 · 数据概览")
        assert_drawn_with_cjk_font(visit, "#chart-top-agencies", "svg text", "平顶山市教育体育局")
        assert visit.texts("#chart-outcome-mix", ".legend li") == ["予以公开", "部分公开", "不予公开", "无法提供",
                                                                    "不予处理", "其他处理"]
        if regions:
            assert "河南省" in visit.texts("#chart-reports-per-region", "svg text")
        else:
            assert "无地区数据" in visit.texts("body", ".summary")[0]


@pytest.mark.slow
def test_a_year_and_a_region_narrow_the_report_charts(tmp_path):
    db = many_reports(tmp_path / "w.duckdb", 120)
    add_regions(db)
    with duckdb.connect(str(db), read_only=True) as conn:
        selected = conn.execute("select count(*) from reports where year = 2022 and adcode like '41%'").fetchone()[0]
    info = write_report(db, tmp_path / "report.html", year=2022, region="410000")
    assert 0 < info.reports == selected < 120
    with open_offline(info.path, DRAWN) as visit:
        assert visit.problems == []
        assert drawn_points(visit) == expected_points(db, year=2022, adcode_prefix="41")
        assert {"2022"} <= set(visit.texts("#chart-reports-per-year", "svg text")) <= {"2022"} | NUMBERS
        assert visit.texts("#chart-reports-per-region", ".legend li") == ["2022"]
        assert {"河南省"} <= set(visit.texts("#chart-reports-per-region", "svg text")) <= {"河南省"} | NUMBERS
        assert "2022 年 · 地区 410000" in visit.texts("body", ".summary")[0]


@pytest.mark.slow
def test_ten_thousand_reports_stay_under_10_mb_and_draw_every_chart(tmp_path):
    db = many_reports(tmp_path / "w.duckdb", 10_000)
    add_regions(db)
    info = write_report(db, tmp_path / "report.html")
    assert info.reports == 10_000
    assert info.size_bytes == info.path.stat().st_size < TEN_MB
    with open_offline(info.path, DRAWN) as visit:
        assert_clean_and_not_blank(visit, tmp_path)
        drawn = drawn_points(visit)
        assert drawn == expected_points(db)
        assert drawn["reports-per-year"] == 6 and drawn["top-agencies"] == 20 and drawn["denial-reasons"] == 8
        # Each source's last crawl only: the failures of the crawls the day before are not drawn.
        assert visit.texts("#chart-crawl-outcomes", ".legend li") == ["已下载", "未变化", "被拒绝"]
        # 1,000 failing checks (every 10th copy): the first 500 are listed, and where the rest are.
        assert visit.count("body", "#failing-reports tbody tr") == 500
        assert "共 1,000 条" in visit.page.inner_text("body")
        assert_drawn_with_cjk_font(visit, "#chart-reports-per-region", "svg text", "河南省")


runner = CliRunner()


@pytest.mark.slow
def test_the_command_writes_the_file_and_refuses_what_it_cannot_do(tmp_path):
    db = one_report(tmp_path / "w.duckdb")
    without_regions(db)
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    written = runner.invoke(app, ["report", "--db", str(db), "--out", str(out), "--year", "2023"])
    assert written.exit_code == 0, written.output
    assert f"wrote {out}" in written.output and "1 report, no regions in this warehouse" in written.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]

    no_regions = runner.invoke(app, ["report", "--db", str(db), "--out", str(out), "--region", "410000"])
    assert no_regions.exit_code == 2
    assert "no_regions" in no_regions.output and "leave out --region" in no_regions.output
    add_regions(db)
    bad_code = runner.invoke(app, ["report", "--db", str(db), "--out", str(out), "--region", "41"])
    assert bad_code.exit_code == 2 and "not a six-digit GB/T 2260 code" in bad_code.output
    no_directory = runner.invoke(app, ["report", "--db", str(db), "--out", str(tmp_path / "none" / "report.html")])
    assert no_directory.exit_code == 2 and "no_output_directory" in no_directory.output
    missing = runner.invoke(app, ["report", "--db", str(tmp_path / "none.duckdb"), "--out", str(out)])
    assert missing.exit_code == 1 and "no such warehouse" in missing.output

    not_ours = tmp_path / "other.duckdb"
    duckdb.connect(str(not_ours)).close()
    with pytest.raises(ReportError, match="not a nianbao warehouse") as error:
        write_report(not_ours, out)
    assert error.value.reason == "not_a_warehouse"


@pytest.mark.slow
def test_text_from_reports_is_shown_as_text_never_run_as_markup(tmp_path):
    db = one_report(tmp_path / "w.duckdb")
    hostile = "<script>alert(1)</script>局"
    with duckdb.connect(str(db)) as conn:
        conn.execute("update reports set agency = ?", [hostile])
        conn.execute("update checks set passed = false where rule = 'requests_balance' and scope = 'total'")
    info = write_report(db, tmp_path / "report.html")
    assert hostile not in info.path.read_text(encoding="utf-8")
    with open_offline(info.path, DRAWN) as visit:
        assert visit.problems == []  # an alert would be recorded as a dialog
        assert hostile in visit.texts("#chart-top-agencies", "svg text")
        assert visit.texts("#failing-reports", "tbody td:first-child") == [hostile]
