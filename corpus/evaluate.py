"""How right the warehouse is about a synthetic corpus: cell precision and recall, and the checks.

A truth cell is right when the warehouse holds the same cell of the same report with the
same kind (number / blank / dash / ambiguous) and value: a cell whose glued digits the text
leaves ambiguous is right only when reported ambiguous (NULL), and a number there is wrong.
Precision is right cells over the cells the warehouse holds (kind 'missing' excluded: the
report printed nothing there); recall is right cells over the truth. Reports are matched by path: ingest_files.path relative to
the truth file's directory, as `nianbao ingest` records resolved paths.

The comparison runs in DuckDB, which reads the warehouse (attached read-only) and the
Parquet truth side by side and scales to 100,000 reports in little memory; the results
come back as polars frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from corpus.synth import TRUTH_REPORTS_FILE

#: Relative tolerance for values: 元 converted to 万元 may differ from the printed 万元 in the last bit.
VALUE_TOLERANCE = 1e-9
WORST_REPORTS = 10

_SETUP = """
create temp table truth_reports as select * from read_parquet($reports);
create temp table truth as select * from read_parquet($truth);
create temp table loaded as
    select t.file, i.status, i.reason, i.error, i.report_id
    from w.ingest_files i join truth_reports t on i.path = $root || t.file;
create temp table report_tables as
    select file, format, layout, table_code,
           case table_code when 'requests' then requests_template_version else template_version end as template_version
    from truth_reports, (values ('active_disclosure'), ('requests'), ('review_litigation')) tables(table_code);
create temp table got as
    select l.file, f.table_code, f.row_code, f.col_code, f.value_kind, f.value, f.raw_text
    from w.facts f join loaded l on l.report_id = f.report_id and l.status = 'loaded'
    where f.value_kind <> 'missing';
create temp table cells as
    select file, table_code, row_code, col_code,
           t.value_kind is not null as in_truth, g.value_kind is not null as extracted,
           t.value_kind as truth_kind, t.value as truth_value, t.printed,
           g.value_kind as got_kind, g.value as got_value, g.raw_text,
           coalesce(t.value_kind = g.value_kind and (
               (t.value is null and g.value is null)
               or abs(t.value - g.value) <= $tolerance * greatest(1, abs(t.value))), false) as correct
    from truth t full outer join got g using (file, table_code, row_code, col_code);
"""

_SCORE = """
select {group},
       count(*) filter (in_truth) as truth_cells,
       count(*) filter (extracted) as extracted_cells,
       count(*) filter (correct) as correct_cells,
       extracted_cells - correct_cells as wrong_cells,
       truth_cells - correct_cells as missed_cells,
       correct_cells / nullif(extracted_cells, 0) as precision,
       correct_cells / nullif(truth_cells, 0) as recall,
       count(*) filter (truth_kind = 'ambiguous') as ambiguous_cells,
       count(*) filter (truth_kind = 'ambiguous' and got_kind = 'ambiguous') as reported_ambiguous
from cells join report_tables using (file, table_code)
group by all order by all
"""

_WORST = """
with wrong as (
    select file, count(*) as wrong_cells,
           arg_min(format('{{}}/{{}}/{{}}: printed {{}}, loaded {{}}', table_code, row_code, col_code,
                          coalesce(format('"{{}}" ({{}} {{}})', printed, truth_kind, coalesce(truth_value::varchar, '')), 'nothing'),
                          coalesce(format('"{{}}" ({{}} {{}})', raw_text, got_kind, coalesce(got_value::varchar, '')), 'nothing')),
                   table_code || row_code || col_code) as first_wrong_cell
    from cells where not correct group by file
)
select r.file, r.format, r.layout, r.encoding, coalesce(l.status, 'not ingested') as status, l.reason,
       coalesce(w.wrong_cells, 0) as wrong_cells,
       case when l.status = 'loaded' then w.first_wrong_cell else coalesce(l.error, 'not in the warehouse') end as first_problem
from truth_reports r left join wrong w using (file) left join loaded l using (file)
where w.wrong_cells > 0 or coalesce(l.status, '') <> 'loaded'
order by wrong_cells desc, file limit {limit}
"""

_BREAKS = """
select r.file, r.layout, r.break_kind, r.break_rule, r.break_scope,
       coalesce(bool_or(c.rule is not null), false) as surfaced
from truth_reports r left join loaded l using (file)
left join w.checks c on c.report_id = l.report_id and c.rule = r.break_rule and c.scope = r.break_scope and not c.passed
where r.break_rule is not null
group by all order by r.file
"""

# cell_ambiguous failing where the truth has ambiguous cells in that table is the reader being right.
_FALSE_ALARMS = """
select r.file, r.layout, c.rule, c.scope, c.detail
from truth_reports r join loaded l using (file) join w.checks c on c.report_id = l.report_id
where not c.passed
  and (r.break_rule is null or (c.rule = 'cell_ambiguous' and r.break_rule <> 'cell_ambiguous'))
  and not (c.rule = 'cell_ambiguous' and exists (
      select 1 from truth t where t.file = r.file and t.table_code = c.scope and t.value_kind = 'ambiguous'))
order by r.file, c.rule, c.scope
"""

_FILES = """
select r.format, coalesce(l.status, 'not ingested') as status, l.reason, count(*) as files
from truth_reports r left join loaded l using (file)
group by all order by all
"""

# Each field of the reports table against the truth; encodings as the decoder names them (GBK read as GB18030),
# and none for DOCX, whose XML is never decoded as a whole.
_METADATA_FIELDS = (
    ("agency", "r.agency", "p.agency"),
    ("year", "r.year::varchar", "p.year::varchar"),
    ("template_version", "r.template_version", "p.template_version"),
    ("requests_template_version", "r.requests_template_version", "p.requests_template_version"),
    ("signature_date", "r.signature_date::varchar", "p.signature_date::varchar"),
    ("encoding", "case when r.encoding like 'utf-8%' then 'utf-8' when r.encoding is not null then 'gb18030' end",
     "p.encoding"),
)
_METADATA = (
    "with pairs as ("
    + " union all ".join(
        f"select r.file, '{field}' as field, {expected} as expected, {loaded} as loaded "
        "from truth_reports r join loaded l using (file) join w.reports p on p.report_id = l.report_id"
        for field, expected, loaded in _METADATA_FIELDS
    )
    + """)
select field, count(*) as reports,
       count(*) filter (expected is not distinct from loaded) as matching,
       arg_min(format('{}: expected {}, loaded {}', file, coalesce(expected, 'nothing'), coalesce(loaded, 'nothing')),
               file)
           filter (expected is distinct from loaded) as first_mismatch
from pairs group by field order by field
"""
)


@dataclass(frozen=True)
class Evaluation:
    overall: pl.DataFrame
    by_format: pl.DataFrame
    by_layout: pl.DataFrame
    by_template: pl.DataFrame
    by_table: pl.DataFrame
    #: Reports with the most wrong cells (missed, wrong or not in the truth), and files that did not load.
    worst_reports: pl.DataFrame
    #: Files by format, status and failure reason.
    files: pl.DataFrame
    #: Every check broken on purpose, and whether the warehouse flags it (surfaced).
    breaks: pl.DataFrame
    #: Failed checks of reports nothing was broken in.
    false_alarms: pl.DataFrame
    #: Per report field: how many reports the warehouse has right.
    metadata: pl.DataFrame

    @property
    def missed_breaks(self) -> int:
        return self.breaks.filter(~pl.col("surfaced")).height

    @property
    def perfect(self) -> bool:
        """Every cell right, every file loaded, every break flagged, no false alarm, all metadata right."""
        overall = self.overall.row(0, named=True)
        return (
            overall["wrong_cells"] == 0 and overall["missed_cells"] == 0 and self.worst_reports.is_empty()
            and self.missed_breaks == 0 and self.false_alarms.is_empty()
            and self.metadata.filter(pl.col("matching") != pl.col("reports")).is_empty()
        )


def evaluate(truth_path: Path, db_path: Path, worst: int = WORST_REPORTS) -> Evaluation:
    """Compare a warehouse with the truth of the corpus it was loaded from."""
    truth_path, db_path = Path(truth_path), Path(db_path)
    for path in (truth_path, db_path):
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
    root = str(truth_path.parent.resolve()) + "/"
    params = {
        "truth": str(truth_path), "reports": str(truth_path.with_name(TRUTH_REPORTS_FILE)),
        "root": root, "tolerance": VALUE_TOLERANCE,
    }
    with duckdb.connect() as conn:
        quoted = str(db_path.resolve()).replace("'", "''")
        conn.execute(f"attach '{quoted}' as w (read_only)")
        for statement in filter(str.strip, _SETUP.split(";")):
            conn.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})

        def frame(sql: str) -> pl.DataFrame:
            return conn.sql(sql).pl()

        return Evaluation(
            overall=frame(_SCORE.format(group="'all' as cells")),
            by_format=frame(_SCORE.format(group="format")),
            by_layout=frame(_SCORE.format(group="layout")),
            by_template=frame(_SCORE.format(group="template_version")),
            by_table=frame(_SCORE.format(group="table_code")),
            worst_reports=frame(_WORST.format(limit=int(worst))),
            files=frame(_FILES),
            breaks=frame(_BREAKS),
            false_alarms=frame(_FALSE_ALARMS),
            metadata=frame(_METADATA),
        )


def render(evaluation: Evaluation) -> str:
    """The evaluation as plain text tables, for the CLI."""
    e = evaluation
    breaks = e.breaks.group_by("break_kind").agg(
        injected=pl.len(), surfaced=pl.col("surfaced").sum()
    ).sort("break_kind")
    sections = [
        ("Cells", e.overall), ("By format", e.by_format), ("By layout", e.by_layout),
        ("By template version", e.by_template), ("By table", e.by_table), ("Files", e.files),
        ("Report metadata", e.metadata), (f"Checks broken on purpose: {e.missed_breaks} not flagged", breaks),
    ]
    if not e.breaks.filter(~pl.col("surfaced")).is_empty():
        sections.append(("Breaks not flagged", e.breaks.filter(~pl.col("surfaced"))))
    alarms = f"False alarms: {e.false_alarms.height} failed checks in unbroken reports"
    sections.append((alarms, e.false_alarms.head(WORST_REPORTS)))
    sections.append(("Worst reports", e.worst_reports))
    out = []
    with pl.Config(
        tbl_formatting="ASCII_MARKDOWN", tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
        tbl_rows=-1, tbl_cols=-1, tbl_width_chars=240, fmt_str_lengths=160,
    ):
        for title, table in sections:
            out.append(f"## {title}\n" + (str(table) if not table.is_empty() else "(none)"))
    verdict = "PERFECT: every cell, file, check and field right" if e.perfect else "NOT PERFECT"
    return "\n\n".join(out + [verdict]) + "\n"
