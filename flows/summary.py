"""What a run did, as counts and failures: printed by the CLI, the run's artifact, the runs row."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

FAILURES_IN_ARTIFACT = 200


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
    #: (path, reason, error) of every failed file.
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    #: (source name, why) of every crawl source that reached none of its start URLs.
    failed_sources: list[tuple[str, str]] = field(default_factory=list)
    #: The charts page written after publishing, if the run wrote one.
    report_page: str | None = None

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
            reasons = Counter(reason for _, reason, _ in self.failures).most_common()
            lines += ["", "## Top failure reasons", "", "| reason | files |", "|---|---:|"]
            lines += [f"| {reason} | {count} |" for reason, count in reasons]
            lines += ["", "## Failed files", "", "| file | error |", "|---|---|"]
            lines += [
                f"| {path} | {error.replace('|', '/')} |" for path, _, error in self.failures[:FAILURES_IN_ARTIFACT]
            ]
            if len(self.failures) > FAILURES_IN_ARTIFACT:
                lines.append(f"| … | {len(self.failures) - FAILURES_IN_ARTIFACT} more in the ingest_files table |")
        return "\n".join(lines) + "\n"
