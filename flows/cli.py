"""The `nianbao` command: the same operations as the library, for people and cron."""

from __future__ import annotations

from flows.settings import apply_defaults

apply_defaults()

import gc  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated  # noqa: E402

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402

from extractors.formats import DISCOVERED_SUFFIXES  # noqa: E402

app = typer.Typer(
    help="Ingest Chinese government information-disclosure annual reports (政府信息公开工作年度报告) into DuckDB.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)
DB_OPTION = typer.Option("--db", help="The DuckDB warehouse file (created if missing).")
MAX_FAILURES_SHOWN = 20
DaskAddress = Annotated[
    str | None,
    typer.Option(
        "--dask-address", metavar="tcp://HOST:PORT",
        help="Extract on the existing Dask cluster whose scheduler listens here (`dask scheduler`, port 8786 by "
        "default). Its workers need nianbao installed and must see the report files at the same paths; the DuckDB "
        "load stays on this machine. Overrides the \\[dask] table of the sources file. See README, Dask.",
        show_default=False,
    ),
]
DaskWorkers = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, metavar="N",
        help="Extract on a local Dask cluster of N worker processes started for this run (one big machine). "
        "Default: this process's threads, or what the \\[dask] table of the sources file says.",
        show_default=False,
    ),
]


def _fail(label: str, problem: object, exit_code: int) -> typer.Exit:
    """Print a problem without reading it as rich markup ([[sources]] must stay as written)."""
    console.print(Text(f"{label}: ", style="bold red") + Text(str(problem)), soft_wrap=True)
    return typer.Exit(exit_code)


def _print_summary(summary) -> None:
    from flows.summary import plural

    table = Table(title=summary.title, show_header=True)
    columns = [("files seen", summary.files_seen), ("loaded", summary.files_loaded),
               ("unchanged", summary.files_unchanged), ("failed", summary.files_failed)]
    columns += [(name, count) for name, count in (("ignored", summary.files_ignored),
                                                  ("duplicates", summary.files_duplicate)) if count]
    columns += [("facts loaded", summary.facts_loaded), ("checks failed", summary.checks_failed)]
    for name, _ in columns:
        table.add_column(name, justify="right")
    table.add_row(*(str(count) for _, count in columns))
    out = Console()
    out.print(table)
    if summary.fetches:
        out.print(
            f"crawl: {plural(summary.fetches['downloaded'], 'URL')} downloaded, {summary.fetches['not_modified']} not "
            f"modified, {summary.fetches['refused']} refused, {summary.fetches['failed']} failed (see the fetches table)",
            markup=False, highlight=False,
        )
    for name, why in summary.failed_sources:
        out.print(Text("source reached nothing: ", style="bold red") + Text(f"{name}: {why}"), soft_wrap=True)
    if summary.failures:
        still = f", {summary.files_still_failing} of them unchanged since they failed" if summary.files_still_failing else ""
        out.print(Text(f"{plural(summary.files_failed, 'file')} failed{still}", style="bold red")
                  + Text(" (file: what is wrong):"))
        for _, _, error in summary.failures[:MAX_FAILURES_SHOWN]:
            out.print(error, soft_wrap=True, markup=False, highlight=False)
        if summary.files_failed > MAX_FAILURES_SHOWN:
            out.print(f"… and {summary.files_failed - MAX_FAILURES_SHOWN} more: select * from ingest_files where status = 'failed'",
                      markup=False, highlight=False)
        out.print("A file you accept as not a report can be excluded: --exclude PATTERN, or `exclude` in the sources "
                  "file (see README).", markup=False, highlight=False, soft_wrap=True)


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            exists=True,
            help=f"Report files or directories (searched recursively for {' '.join(DISCOVERED_SUFFIXES)}). "
            "Default: the sample reports bundled with nianbao.",
            show_default=False,
        ),
    ] = None,
    db: Annotated[Path, DB_OPTION] = Path("nianbao.duckdb"),
    sources: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="A TOML sources file listing directories to ingest (see README)."),
    ] = None,
    batch_files: Annotated[int, typer.Option(min=1, help="At most this many files per extraction task.")] = 500,
    batch_mb: Annotated[
        int, typer.Option(min=1, help="At most this many MB of report files per extraction task: bounds each worker's memory.")
    ] = 16,
    dask_address: DaskAddress = None,
    workers: DaskWorkers = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude", metavar="PATTERN",
            help="Do not read files matching this pattern (their name, their path under a PATH, or their full "
            "path; * matches across /); they are recorded as ignored. Repeat for several. The sources file's "
            "`exclude` adds to these.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Extract every cell of the three tables of each report and load them into the warehouse.

    Unchanged files (same content, same parser version) are skipped; a changed file replaces its report. A file that failed and has not changed is not read again but still counts as failed. The same bytes at two paths are one report. Exit code 0 when every file loaded (or was excluded), 1 when any failed (the others are still loaded), 2 for bad usage.
    """
    _run_ingest(paths=paths, db=db, sources=sources, batch_files=batch_files, source_kinds=None,
                batch_mb=batch_mb, dask_address=dask_address, workers=workers, exclude=exclude)


def _checked_dask_address(dask_address: str | None, workers: int | None, sources: Path | None) -> str | None:
    """--dask-address in its canonical form, after refusing what cannot work (exit code 2).

    The scheduler the run will use, given here or in the sources file, must be listening now.
    """
    from flows.cluster import ClusterUnavailable, check_scheduler_reachable
    from flows.sources import load_dask_settings

    address = _parsed_dask_address(dask_address, workers)
    try:
        from_sources = load_dask_settings(sources) if sources else None
    except ValueError as exc:
        raise _fail("error", exc, 2) from exc
    scheduler = address or (from_sources.address if from_sources and not workers else None)
    if scheduler:
        try:
            check_scheduler_reachable(scheduler)
        except ClusterUnavailable as exc:
            raise _fail("error", exc, 2) from exc
    return address


def _parsed_dask_address(dask_address: str | None, workers: int | None) -> str | None:
    from flows.cluster import parse_dask_address

    if dask_address and workers:
        raise _fail("error", "use --dask-address (an existing cluster) or --workers (a local one), not both", 2)
    try:
        return parse_dask_address(dask_address) if dask_address else None
    except ValueError as exc:
        raise _fail("error", exc, 2) from exc


def _check_warehouse(db: Path) -> None:
    """Refuse a --db that is something else than a warehouse (exit code 2), before any work is done.

    A new warehouse (no file, or an empty one) is checked without importing DuckDB and polars, so that a first
    run starts the local server 0.3-0.4 s sooner."""
    if not db.exists() or db.stat().st_size == 0:
        return
    from warehouse.store import NotAWarehouse, WarehouseLocked, connect, refuse_foreign

    try:
        with connect(db, read_only=True) as conn:
            refuse_foreign(conn, str(db))
    except NotAWarehouse as exc:
        raise _fail("error", exc, 2) from exc
    except WarehouseLocked:
        return  # the run waits for it, then says so


def _announce_start(server) -> None:
    """Why the first command waits (flows.local_server calls this when it starts the server)."""
    console.print("starting nianbao's local Prefect server (once: later commands reuse it; "
                  "`nianbao server stop` stops it) ...", markup=False, highlight=False, soft_wrap=True)


def _local_server_started_early():
    """nianbao's local Prefect server, found or starting (it boots while this command checks Dask and imports
    the flow), unless PREFECT_API_URL may point elsewhere."""
    from flows.local_server import UnsafeStateDir, api_url_set_elsewhere, find_or_start

    if api_url_set_elsewhere():
        return None
    try:
        return find_or_start(announce=_announce_start)
    except (UnsafeStateDir, ValueError) as exc:
        raise _fail("error", exc, 2) from exc


def _check_sources(sources: Path | None, source_kinds: list[str] | None) -> None:
    """Refuse a sources file that cannot work (exit code 2)."""
    if not sources:
        return
    from flows.sources import SourcesFileError, load_exclude, load_sources

    try:
        listed = load_sources(sources)
        load_exclude(sources)
    except SourcesFileError as exc:
        raise _fail("error", exc, 2) from exc
    if source_kinds and not any(source.kind in source_kinds for source in listed):
        raise _fail("error", f"{sources}: no [[sources]] entry of kind {' or '.join(source_kinds)}", 2)


def _run_ingest(paths: list[Path] | None, db: Path, sources: Path | None, batch_files: int,
                source_kinds: list[str] | None, batch_mb: int, dask_address: str | None,
                workers: int | None, exclude: list[str] | None = None) -> None:
    from flows.local_server import ServerDidNotStart, prefect_api, release_lease

    _check_sources(sources, source_kinds)
    _check_warehouse(db)
    # The cheap checks passed (their bad usage starts no server): the server boots while this command checks
    # Dask (importing it) and imports the flow. A command refused for Dask leaves it running for the next one.
    server = _local_server_started_early()
    try:
        dask_address = _checked_dask_address(dask_address, workers, sources)
    except typer.Exit:
        if server:
            release_lease(server.directory)
        raise
    command = "nianbao crawl" if source_kinds == ["crawl"] else "nianbao ingest"
    from prefect.states import State

    from flows.ingest import ingest_flow
    from flows.summary import IngestSummary

    # The ~400,000 objects the imports made live as long as the process: out of the cycle collector's sight,
    # its collections during the run cost 0.06 instead of 0.15 CPU ms per text report (BENCHMARKS.md, issue 17).
    gc.freeze()
    try:
        with prefect_api(server, announce=_announce_start):
            state = ingest_flow(
                paths=[str(p) for p in paths] if paths else None,
                db=str(db),
                sources=str(sources) if sources else None,
                batch_bytes=batch_mb * 1024 * 1024,
                batch_files=batch_files,
                source_kinds=source_kinds,
                dask_address=dask_address,
                dask_workers=workers,
                exclude=exclude or None,
                return_state=True,
            )
    except ServerDidNotStart as exc:
        raise _fail(f"{command} failed", exc, 1) from exc
    assert isinstance(state, State), "a flow called from synchronous code returns its final state"
    result = state.result(raise_on_failure=False)
    if isinstance(result, IngestSummary):
        _print_summary(result)
        raise typer.Exit(1 if result.failed else 0)
    raise _fail(f"{command} failed", result, 1)


@app.command()
def crawl(
    sources: Annotated[
        Path,
        typer.Option(exists=True, dir_okay=False, help="The TOML sources file; its kind = \"crawl\" entries are crawled (see README)."),
    ],
    db: Annotated[Path, DB_OPTION] = Path("nianbao.duckdb"),
    dask_address: DaskAddress = None,
    workers: DaskWorkers = None,
) -> None:
    """Crawl the sites a sources file lists, download new or changed reports into raw/ beside the warehouse, and ingest them.

    Polite (robots.txt, a delay per host), incremental (conditional requests) and resumable (a killed crawl picks up where it stopped). Every URL met is recorded in the fetches table. Exit code 0 when every report loaded, 1 when any failed, 2 for bad usage.
    """
    _run_ingest(paths=None, db=db, sources=sources, batch_files=500, source_kinds=["crawl"], batch_mb=16,
                dask_address=dask_address, workers=workers)


@app.command()
def serve(
    cron: Annotated[str, typer.Option(help="When the nightly run starts, as a cron expression.")] = "0 2 * * *",
    timezone: Annotated[str, typer.Option(help="The time zone the cron expression is read in (IANA name).")] = "Asia/Shanghai",
    sources: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="The TOML sources file the nightly run ingests (read at each run). Default: the bundled samples."),
    ] = None,
    db: Annotated[Path, DB_OPTION] = Path("nianbao.duckdb"),
    name: Annotated[str, typer.Option(help="The deployment's name in Prefect.")] = "nightly",
    dask_address: DaskAddress = None,
    workers: DaskWorkers = None,
) -> None:
    """Register the nightly ingest as a Prefect deployment and run its flow runs until stopped (Ctrl-C or SIGTERM; a run in progress is then cancelled).

    Needs a Prefect server: start one with `prefect server start` and set PREFECT_API_URL (see README). The schedule stays active when this process stops, so a restart picks it up again; runs due while it was down wait as Late in the UI.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from prefect.schedules import Cron
    from prefect.settings import PREFECT_API_URL

    from flows.ingest import ingest_flow
    from flows.nightly import serve_until_stopped
    from flows.sources import SourcesFileError, load_dask_settings, load_exclude, load_sources

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _fail("error", f"--timezone {timezone!r} is not an IANA time zone name such as Asia/Shanghai", 2) from exc
    try:
        schedule = Cron(cron, timezone=timezone)
    except ValueError as exc:
        raise _fail("error", f"--cron {cron!r} is not a cron expression such as \"0 2 * * *\" ({exc})", 2) from exc
    if sources:
        try:
            load_sources(sources)
            load_dask_settings(sources)
            load_exclude(sources)
        except SourcesFileError as exc:
            raise _fail("error", exc, 2) from exc
    # The cluster need not be up yet: each run connects when it starts, and says so if it cannot.
    address = _parsed_dask_address(dask_address, workers)
    if not PREFECT_API_URL.value():
        console.print(
            "warning: PREFECT_API_URL is not set, so runs go to a temporary Prefect server inside this process "
            "and the UI cannot see them. Start `prefect server start` and set PREFECT_API_URL (see README).",
            markup=False, soft_wrap=True,
        )
    parameters = {
        "db": str(db.resolve()), "sources": str(sources.resolve()) if sources else None,
        "dask_address": address, "dask_workers": workers, "write_report_page": True,
    }
    serve_until_stopped(ingest_flow, name=name, schedule=schedule, parameters=parameters,
                        description=f"Nightly nianbao ingest into {parameters['db']}")


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", file_okay=False, help="A new or empty directory for the corpus.")],
    count: Annotated[int, typer.Option(min=1, help="How many reports to write.")] = 1000,
    seed: Annotated[int, typer.Option(help="The same seed writes the same bytes.")] = 0,
    formats: Annotated[
        list[str] | None,
        typer.Option("--format", help=(
            "A format to write (repeat for several): html, text (Word's plain-text export), docx, the text "
            "renderings of other tools (glued, lines, pipes, aligned, traditional) and scan (images of scanned "
            "pages, read by OCR). Default: every format but scan.")),
    ] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Processes writing reports. Default: one per core.")] = None,
) -> None:
    """Write a synthetic corpus of reports with known numbers, and its ground truth as Parquet.

    The truth (truth.parquet: one row per printed cell, with the template_cells.csv codes; truth_reports.parquet: one row per report) is what `nianbao eval` compares a warehouse with. A few reports break a check on purpose.
    """
    from corpus.report import DEFAULT_FORMATS
    from corpus.synth import generate

    try:
        summary = generate(out, count, seed, tuple(formats) if formats else DEFAULT_FORMATS, workers=workers)
    except (FileExistsError, ValueError) as exc:
        raise _fail("error", exc, 2) from exc
    Console().print(
        f"wrote {summary.reports} reports ({summary.bytes_written / 1e6:.1f} MB) to {summary.out_dir} in "
        f"{summary.seconds:.1f} s ({summary.files_per_second:.0f} files/s); truth: {summary.truth_path}",
        markup=False, highlight=False, soft_wrap=True,
    )


@app.command(name="eval")
def evaluate_warehouse(
    truth: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="truth.parquet written by `nianbao synth`.")],
    db: Annotated[Path, DB_OPTION] = Path("nianbao.duckdb"),
    worst: Annotated[int, typer.Option(min=0, help="How many of the worst reports to list.")] = 10,
) -> None:
    """Compare the warehouse with a synthetic corpus's truth: cell precision and recall by format, template version and table; the worst reports.

    Load the corpus first (`nianbao ingest DIR --db FILE`). Exit code 0 when every cell, file, check and field is right, 1 otherwise.
    """
    import duckdb

    from corpus.evaluate import evaluate, render

    if not db.exists():
        raise _fail("error", f"{db}: no such warehouse; load the corpus first with `nianbao ingest DIR --db {db}`", 2)
    try:
        evaluation = evaluate(truth, db, worst=worst)
    except duckdb.Error as exc:
        raise _fail("error", f"{db} or {truth}: {exc}", 2) from exc
    Console(width=240).print(render(evaluation), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(0 if evaluation.perfect else 1)


def _integers_shown_as_integers(relation):
    """The relation with each DOUBLE column whose every value is whole cast to BIGINT, so that counts print
    as 14, not 14.0 (facts.value is DOUBLE because money in 万元 has decimals). Display only."""
    doubles = [name for name, kind in zip(relation.columns, relation.dtypes) if str(kind) == "DOUBLE"]
    if not doubles:
        return relation
    whole = relation.aggregate(", ".join(f'bool_and("{c}" = trunc("{c}") and abs("{c}") < 1e15)' for c in doubles))
    flags = whole.fetchone()
    casts = {c for c, flag in zip(doubles, flags) if flag}
    if not casts:
        return relation
    return relation.project(", ".join(f'cast("{c}" as bigint) as "{c}"' if c in casts else f'"{c}"'
                                      for c in relation.columns))


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SQL query, e.g. \"select * from requests_wide\".")],
    db: Annotated[Path, DB_OPTION] = Path("nianbao.duckdb"),
    max_rows: Annotated[int, typer.Option(help="Rows to print at most.")] = 100,
) -> None:
    """Run a read-only SQL query against the warehouse and print the result (whole numbers as integers)."""
    import duckdb

    from warehouse.store import WarehouseLocked, connect

    try:
        with connect(db, read_only=True) as conn:
            relation = conn.sql(query)
            if relation is None:
                return
            _integers_shown_as_integers(relation).show(max_rows=max_rows, max_width=10_000)
    except (WarehouseLocked, FileNotFoundError) as exc:
        raise _fail("error", exc, 1) from exc
    except duckdb.Error as exc:
        raise _fail("SQL error", exc, 2) from exc


@app.command()
def report(
    db: Annotated[Path, typer.Option("--db", help="The DuckDB warehouse file.")] = Path("nianbao.duckdb"),
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="The HTML file to write (replaced if it exists).")] = Path("report.html"),
    year: Annotated[int | None, typer.Option(help="Only the reports of this year.", show_default=False)] = None,
    region: Annotated[
        str | None,
        typer.Option(metavar="ADCODE", help="Only the reports of this region, a six-digit GB/T 2260 code (410000 a "
                     "province, 410400 a city); needs a warehouse with regions (reports.adcode).", show_default=False),
    ] = None,
) -> None:
    """Write the warehouse's charts to one self-contained HTML file that opens offline (no CDN, no server).

    Coverage, files failed, crawl outcomes, requests per year, the outcome mix of table B, top agencies, denial reasons, correction rates and the reports whose checks fail. Exit code 0 when written, 1 when the warehouse cannot be read, 2 for bad usage.
    """
    import duckdb

    from flows.summary import plural
    from warehouse.html_report import ReportError, write_report
    from warehouse.store import WarehouseLocked

    try:
        info = write_report(db, out, year=year, region=region)
    except (WarehouseLocked, FileNotFoundError) as exc:
        raise _fail("error", exc, 1) from exc
    except duckdb.Error as exc:
        raise _fail("error", f"{db}: cannot read the warehouse ({exc})", 1) from exc
    except ReportError as exc:
        raise _fail(f"error ({exc.reason})", exc, 2) from exc
    Console().print(
        f"wrote {info.path} ({info.size_bytes / 1e6:.1f} MB, {plural(info.charts, 'chart')}, {plural(info.reports, 'report')}"
        f"{'' if info.region_columns else ', no regions in this warehouse'}) in {info.seconds:.1f} s",
        markup=False, highlight=False, soft_wrap=True,
    )


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="parquet (partitioned by year), csv or xlsx (Chinese headers, "
                                     "a sheet per table).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", help="The directory to write into (created if missing).",
                                      show_default=False)],
    db: Annotated[Path, DB_OPTION] = Path("nianbao.duckdb"),
) -> None:
    """Export the labelled facts, the wide views, agencies, changes and metrics for use outside DuckDB."""
    import duckdb

    from warehouse.export import FORMATS, export_warehouse
    from warehouse.store import WarehouseLocked, connect

    if fmt not in FORMATS:
        raise _fail("error", f"--format {fmt!r} is not one of {', '.join(FORMATS)}", 2)
    try:
        with connect(db, read_only=True) as conn:
            info = export_warehouse(conn, fmt, out)
    except (WarehouseLocked, FileNotFoundError) as exc:
        raise _fail("error", exc, 1) from exc
    except duckdb.CatalogException as exc:
        raise _fail("error", f"{db}: {exc}; a warehouse made by an older nianbao gets the analyst tables at its next "
                    f"`nianbao ingest --db {db}`", 1) from exc
    table = Table(title=f"nianbao export --format {fmt}", show_header=True)
    for column in ("table", "rows", "written to"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for name, rows, path in info.tables:
        table.add_row(name, str(rows), path)
    Console().print(table)


server_app = typer.Typer(
    help="nianbao's local Prefect server: started once by the first command without PREFECT_API_URL, reused by "
    "the next ones, stopped after NIANBAO_SERVER_IDLE_SECONDS (1800) unused. See README, Prefect.",
    no_args_is_help=True,
)
app.add_typer(server_app, name="server")


@server_app.command("status")
def server_status() -> None:
    """Say whether the local Prefect server runs, where its UI is and when it stops. Exit code 0 when it runs and answers, 1 otherwise."""
    import os
    from datetime import datetime

    from flows.local_server import LOG_FILE, UnsafeStateDir, state_dir, status

    try:
        state, answering = status()
        directory = state_dir()
    except UnsafeStateDir as exc:
        raise _fail("error", exc, 2) from exc
    out = Console()
    if os.environ.get("PREFECT_API_URL"):
        out.print(f"PREFECT_API_URL is set ({os.environ['PREFECT_API_URL']}): commands use that server, not this one.",
                  markup=False, highlight=False, soft_wrap=True)
    if state is None:
        out.print(f"not running (state in {directory}); the next `nianbao ingest` starts it", markup=False,
                  highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    started = datetime.fromtimestamp(state.started_at).strftime("%Y-%m-%d %H:%M:%S")
    health = "answering" if answering else f"NOT answering (see {directory / LOG_FILE})"
    out.print(f"running, {health}: process {state.pid}, UI {state.ui_url}, API {state.api_url}, started {started}, "
              f"stops after {state.idle_seconds:.0f} s unused; state in {directory}",
              markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(0 if answering else 1)


@server_app.command("stop")
def server_stop() -> None:
    """Stop the local Prefect server (runs in progress lose their API); the next command starts it again. Exit code 0."""
    from flows.local_server import UnsafeStateDir, stop

    try:
        state = stop()
    except UnsafeStateDir as exc:
        raise _fail("error", exc, 2) from exc
    Console().print(f"stopped process {state.pid} ({state.ui_url})" if state else "not running", markup=False,
                    highlight=False)


if __name__ == "__main__":
    app()
