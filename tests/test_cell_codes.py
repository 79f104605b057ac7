"""facts carry their cell's id, written in cell order; facts_labelled, joined through the ids, gives what the
view of schema 6 gave; a schema-6 warehouse is migrated to it."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from corpus.synth import generate
from flows.pipeline import process_batch
from warehouse import store
from warehouse.cell_codes import CELL_KEY
from warehouse.schema import SCHEMA_VERSION
from warehouse.store import connect, load_batch

#: The view of schema 6, on a warehouse of schema 7 (facts' cell_id left out): what facts_labelled must equal.
SCHEMA_6_VIEW = """
select r.agency_id, r.agency, r.year, r.adcode, r.province, r.city, r.county, f.* exclude (cell_id),
       d.table_label_zh, d.row_label_zh, d.row_label_en, d.col_label_zh, d.col_label_en, d.row_order, d.col_order
from facts f
join reports r using (report_id)
left join cell_dictionary d
       on d.template = case when f.table_code = 'active_disclosure' then r.template_version
                            else r.requests_template_version end
      and d.table_code = f.table_code and d.row_code = f.row_code and d.col_code = f.col_code
"""


def _generated_warehouse(tmp_path: Path, count: int = 40) -> Path:
    corpus = tmp_path / "corpus"
    generate(corpus, count, seed=3, formats=["text"], workers=1)
    db = tmp_path / "w.duckdb"
    paths = sorted(str(p) for p in corpus.rglob("*.txt"))
    with connect(db) as conn:
        for start in range(0, len(paths), 15):  # three batches
            load_batch(conn, process_batch(paths[start:start + 15]), "run-1")
    return db


def _differences(conn) -> tuple[int, int, int, int]:
    """(rows of facts_labelled, rows of the schema-6 view, rows only in the first, rows only in the second)."""
    conn.execute(f"create or replace temp view schema_6_labelled as {SCHEMA_6_VIEW}")
    return conn.execute(
        "select (select count(*) from facts_labelled), (select count(*) from schema_6_labelled), "
        "(select count(*) from (select * from facts_labelled except all select * from schema_6_labelled)), "
        "(select count(*) from (select * from schema_6_labelled except all select * from facts_labelled))"
    ).fetchone()


def test_facts_labelled_gives_the_rows_and_columns_of_the_schema_6_view(tmp_path):
    db = _generated_warehouse(tmp_path)
    with connect(db, read_only=True) as conn:
        facts = conn.execute("select count(*) from facts").fetchone()[0]
        rows, old_rows, only_new, only_old = _differences(conn)
        columns = conn.execute("describe facts_labelled").fetchall()
        old_columns = conn.execute("describe schema_6_labelled").fetchall()
        denied, denied_old = (conn.execute(
            f"select year, row_code, sum(value), count(*) from {view} where table_code = 'requests' "
            "and row_code like 'denied.%' and col_code = 'total' group by all order by all").fetchall()
            for view in ("facts_labelled", "schema_6_labelled"))
    assert facts > 40 * 150
    assert (rows, only_new, only_old) == (old_rows, 0, 0) == (facts, 0, 0)
    assert columns == old_columns
    assert len(denied) >= 8 and denied == denied_old


def test_each_batch_is_stored_in_cell_order_with_the_ids_of_cell_codes(tmp_path):
    db = _generated_warehouse(tmp_path)
    with connect(db, read_only=True) as conn:
        stored = conn.execute("select report_id, cell_id, table_code, row_code, col_code from facts order by rowid").pl()
        codes = conn.execute("select * from cell_codes").pl()
        reports = conn.execute("select report_id from reports order by rowid").pl()
    batch_of = reports.with_row_index("n").select("report_id", (pl.col("n") // 15).alias("batch"))
    stored = stored.join(batch_of, on="report_id", maintain_order="left")
    # Three runs of ids, one per batch, each ascending; each id names its fact's cell.
    assert stored["batch"].is_sorted()
    assert all(group["cell_id"].is_sorted() for _, group in stored.group_by("batch"))
    assert stored.select(pl.col("cell_id").diff().lt(0).sum()).item() == 2
    assert stored.join(codes, on="cell_id").filter(
        (pl.col("table_code") != pl.col("table_code_right")) | (pl.col("row_code") != pl.col("row_code_right"))
        | (pl.col("col_code") != pl.col("col_code_right"))).height == 0


def test_a_family_of_rows_in_one_column_has_consecutive_ids_and_a_new_cell_is_numbered_after_the_rest(tmp_path):
    with connect(tmp_path / "w.duckdb") as conn:
        denied = [row[0] for row in conn.execute(
            "select cell_id from cell_codes where table_code = 'requests' and row_code like 'denied.%' "
            "and col_code = 'total' order by cell_id").fetchall()]
        last = conn.execute("select max(cell_id) from cell_codes").fetchone()[0]
        batch = process_batch(sorted(str(p) for p in (Path(__file__).parents[1] / "flows" / "samples").glob("*.txt"))[:1])
        odd = batch.facts.head(1).with_columns(row_code=pl.lit("a_row_no_template_has"))
        batch.facts = pl.concat([batch.facts, odd])
        load_batch(conn, batch, "run-1")
        new = conn.execute("select cell_id, table_code, row_code, col_code from cell_codes where cell_id > ?",
                           [last]).fetchall()
        labelled = conn.execute("select count(*) from facts_labelled where row_code = 'a_row_no_template_has'").fetchone()[0]
    assert len(denied) == 8 and denied == list(range(denied[0], denied[0] + 8))
    assert new == [(last + 1, odd["table_code"][0], "a_row_no_template_has", odd["col_code"][0])]
    assert labelled == 1


def test_a_schema_6_warehouse_is_migrated_keeping_every_fact(tmp_path):
    db = _generated_warehouse(tmp_path)
    with connect(db) as conn:
        before = conn.execute(f"select * exclude (cell_id) from facts order by report_id, {', '.join(CELL_KEY)}").pl()
        # Back to schema 6: facts without cell_id (in load order, not cell order), no cell_codes, the old view.
        conn.execute("create table facts_6 as select * exclude (cell_id) from facts order by report_id; drop table facts;"
                     "alter table facts_6 rename to facts; drop table cell_codes;"
                     "alter table cell_dictionary drop column cell_id; update schema_info set schema_version = 6")
        conn.execute("create or replace view facts_labelled as " + SCHEMA_6_VIEW.replace(" exclude (cell_id)", ""))
    store._ENSURED.clear()
    with connect(db) as conn:
        version = conn.execute("select schema_version from schema_info").fetchone()[0]
        after = conn.execute(f"select * exclude (cell_id) from facts order by report_id, {', '.join(CELL_KEY)}").pl()
        unnumbered = conn.execute("select count(*) - count(cell_id) from facts").fetchone()[0]
        dictionary = conn.execute("select count(*), count(cell_id) from cell_dictionary").fetchone()
        _, _, only_new, only_old = _differences(conn)
    assert version == SCHEMA_VERSION == 7
    assert after.equals(before)
    assert unnumbered == 0 and dictionary[0] == dictionary[1] > 0
    assert (only_new, only_old) == (0, 0)


def test_a_batch_without_facts_loads_even_when_its_empty_columns_have_no_type(tmp_path):
    batch = process_batch([])
    batch.facts = pl.DataFrame({column: [] for column in batch.facts.columns})  # every column of type Null
    with connect(tmp_path / "w.duckdb") as conn:
        load_batch(conn, batch, "run-1")
        facts = conn.execute("select count(*) from facts").fetchone()[0]
    assert batch.facts.dtypes[0] == pl.Null and facts == 0
