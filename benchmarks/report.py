"""How big `nianbao report`'s page is and how fast it is written and drawn, at 10,000 reports (issue 16).

Builds the warehouse the browser test uses (one sample report's rows copied with SQL into N report ids,
regions added), times `write_report`, then opens the page in Debian's headless Chromium with the network
off, in a fresh profile each time, and times it from navigation to every chart drawn (wall clock), with
the CPU seconds Chromium's processes spent meanwhile. The target: under 10 MB and under 3 s at 10,000 reports.

Run from the project root:  .venv/bin/python benchmarks/report.py --reports 10000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import offline_browser  # noqa: E402
from tests.report_warehouse import add_regions, many_reports  # noqa: E402
from tests.test_report import DRAWN, drawn_points  # noqa: E402
from warehouse.html_report import write_report  # noqa: E402


def _descendants(pid: int) -> set[int]:
    children = {pid}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            children |= _descendants(int(child))
    return children


def browser_cpu_seconds() -> float:
    """CPU time (user + system) of the Chromium processes under this one: less sensitive than wall time
    to the other work sharing the machine."""
    total = 0
    for pid in _descendants(os.getpid()) - {os.getpid()}:
        try:
            if "chromium" not in os.readlink(f"/proc/{pid}/exe"):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def marked_copy(page: Path) -> Path:
    """The page with performance.now() taken before and after BokehJS, to split the time."""
    html = page.read_text(encoding="utf-8")
    head, script_and_rest = html.split("<script>", 1)
    bokeh_js, rest = script_and_rest.split("</script>", 1)
    marked = (f"{head}<script>window.t0 = performance.now()</script><script>{bokeh_js}</script>"
              f"<script>window.t1 = performance.now()</script>{rest}")
    copy = page.with_name("marked.html")
    copy.write_text(marked, encoding="utf-8")
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="page opens (and writes) to take the median of")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="nianbao-report-bench-") as tmp:
        db = Path(tmp) / "w.duckdb"
        started = time.perf_counter()
        many_reports(db, args.reports)
        add_regions(db)
        build_seconds = time.perf_counter() - started
        writes, opens, load_events, cpu, library_ms, charts_ms = [], [], [], [], [], []
        for _ in range(args.runs):
            info = write_report(db, Path(tmp) / "report.html")
            writes.append(info.seconds)
            with offline_browser() as browser:
                before = browser_cpu_seconds()
                visit = browser.open(info.path, DRAWN)
                cpu.append(browser_cpu_seconds() - before)
                assert visit.problems == [], visit.problems
                opens.append(visit.seconds_to_load)
                load_events.append(visit.page.evaluate(
                    "() => performance.getEntriesByType('navigation')[0].loadEventEnd / 1000"))
                points = sum(drawn_points(visit).values())
            with offline_browser() as browser:
                marked = browser.open(marked_copy(info.path), DRAWN)
                split = marked.page.evaluate("() => [t1 - t0, performance.now() - t1]")
                library_ms.append(split[0])
                charts_ms.append(split[1])
        result = {
            "reports": args.reports,
            "warehouse_build_s": round(build_seconds, 2),
            "html_bytes": info.size_bytes,
            "html_mb": round(info.size_bytes / 1024 / 1024, 2),
            "charts": info.charts,
            "points_drawn": points,
            "write_report_s_median": round(statistics.median(writes), 3),
            "navigation_to_drawn_s": [round(x, 3) for x in opens],
            "navigation_to_drawn_s_median": round(statistics.median(opens), 3),
            "load_event_end_s_median": round(statistics.median(load_events), 3),
            "bokehjs_eval_ms_median": round(statistics.median(library_ms)),
            "after_bokehjs_to_drawn_ms_median": round(statistics.median(charts_ms)),
            "browser_cpu_s": [round(x, 2) for x in cpu],
            "browser_cpu_s_median": round(statistics.median(cpu), 2),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
