"""What a run did, as counts and failures: printed by the CLI, the run's artifact, the runs row.

Its size does not grow with the collection: files are counted, and only the first failures are
kept by name (every failure is in the warehouse's ingest_files table).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from flows.plan import Plan
from warehouse.store import LoadBatch

FAILURES_IN_ARTIFACT = 200
#: Failed files kept by name for the CLI and the artifact; the others are counted by reason.
FAILURES_KEPT = FAILURES_IN_ARTIFACT


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 file', '2 files'."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


@dataclass
class IngestSummary:
    run_id: str | None = None
    #: "nianbao ingest" or "nianbao crawl": what the run was asked to do, for titles.
    title: str = "nianbao ingest"
    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_loaded: int = 0
    #: Failed in this run plus files_still_failing: every file that is not loaded because it cannot be read.
    files_failed: int = 0
    files_still_failing: int = 0
    files_ignored: int = 0
    files_duplicate: int = 0
    facts_loaded: int = 0
    checks_failed: int = 0
    #: Crawl fetches by outcome: downloaded, not_modified, refused, failed.
    fetches: Counter = field(default_factory=Counter)
    #: (path, reason, error) of the first FAILURES_KEPT failed files.
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    #: reason -> files, of every failed file.
    failure_reasons: Counter = field(default_factory=Counter)
    #: (source name, why) of every crawl source that reached none of its start URLs.
    failed_sources: list[tuple[str, str]] = field(default_factory=list)
    #: The charts page written after publishing, if the run wrote one.
    report_page: str | None = None

    def count_plan(self, plan: Plan) -> None:
        """What the plan already knows: every file found, and those that are not extracted."""
        self.files_seen = plan.files_seen
        self.files_unchanged = len(plan.unchanged)
        self.files_still_failing = len(plan.still_failing)
        self.files_failed += len(plan.still_failing)
        self.add_failures((f.path, f.reason, f.message) for f in plan.still_failing)
        self.files_duplicate = plan.duplicates
        self.files_ignored = plan.ignored
        novelty = Counter(plan.novelty.values())
        self.files_new, self.files_changed = novelty["new"], novelty["changed"]

    def count_batch(self, batch: LoadBatch) -> None:
        """What one loaded batch adds: its reports, facts, failed checks and failed files."""
        failed = batch.files.filter(batch.files["status"] == "failed")
        self.files_loaded += batch.reports.height
        self.files_failed += failed.height
        self.facts_loaded += batch.facts.height
        self.checks_failed += batch.checks.filter(~batch.checks["passed"]).height
        self.add_failures(failed.select("path", "reason", "error").iter_rows())

    def add_failures(self, failures: Iterable[tuple[str, str, str]]) -> None:
        """Count each (path, reason, error) by reason; keep the first FAILURES_KEPT."""
        for failure in failures:
            self.failure_reasons[failure[1]] += 1
            if len(self.failures) < FAILURES_KEPT:
                self.failures.append(failure)

    @property
    def failed(self) -> bool:
        return bool(self.files_failed or self.failed_sources)

    def state_message(self) -> str:
        """The flow run's state message, as the UI shows it."""
        problems = []
        if self.files_failed:
            problems.append(f"{self.files_failed} of {plural(self.files_seen, 'file')} failed")
        if self.failed_sources:
            problems.append(f"{plural(len(self.failed_sources), 'source')} reached nothing")
        if problems:
            return "; ".join(problems)
        return f"{plural(self.files_loaded, 'file')} loaded, {self.files_unchanged} unchanged"

    def counts(self) -> dict[str, int]:
        return {
            "files_seen": self.files_seen, "files_loaded": self.files_loaded, "files_unchanged": self.files_unchanged,
            "files_failed": self.files_failed, "files_ignored": self.files_ignored,
            "files_duplicate": self.files_duplicate, "facts_loaded": self.facts_loaded,
            "checks_failed": self.checks_failed, "sources_failed": len(self.failed_sources),
        }

    def to_markdown(self) -> str:
        """The run's artifact: counts, sources that reached nothing, top failure reasons and the failed files."""
        lines = [
            f"# {self.title}",
            "",
            "| files seen | new | changed | unchanged | loaded | failed | of which still failing | ignored | "
            "duplicates | facts loaded | checks failed |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {self.files_seen} | {self.files_new} | {self.files_changed} | {self.files_unchanged} | "
            f"{self.files_loaded} | {self.files_failed} | {self.files_still_failing} | {self.files_ignored} | "
            f"{self.files_duplicate} | {self.facts_loaded} | {self.checks_failed} |",
        ]
        if self.report_page:
            lines += ["", f"Charts of the warehouse: [{self.report_page}](file://{self.report_page})"]
        if self.fetches:
            lines += [
                "", "| URLs downloaded | not modified | refused | failed |", "|---:|---:|---:|---:|",
                f"| {self.fetches['downloaded']} | {self.fetches['not_modified']} | {self.fetches['refused']} | "
                f"{self.fetches['failed']} |",
                "", "Refused and failed URLs, with the reason: `select * from fetches where outcome in ('refused', 'failed')`.",
            ]
        if self.failed_sources:
            lines += ["", "## Sources that reached nothing", "", "| source | why |", "|---|---|"]
            lines += [f"| {name} | {why.replace('|', '/')} |" for name, why in self.failed_sources]
        if self.failures:
            lines += ["", "## Top failure reasons", "", "| reason | files |", "|---|---:|"]
            lines += [f"| {reason} | {count} |" for reason, count in self.failure_reasons.most_common()]
            lines += ["", "## Failed files", "", "| file | error |", "|---|---|"]
            shown = self.failures[:FAILURES_IN_ARTIFACT]
            lines += [f"| {path} | {error.replace('|', '/')} |" for path, _, error in shown]
            if self.files_failed > len(shown):
                lines.append(f"| … | {self.files_failed - len(shown)} more in the ingest_files table |")
        return "\n".join(lines) + "\n"
