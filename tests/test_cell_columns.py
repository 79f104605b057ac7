"""The cells frame of a batch, built column by column (extractors.report.cell_columns), is the frame one row per
cell makes: the same cells, in the same order, with their report ids, units and confidences."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from extractors.files import SourceRef
from extractors.report import cell_columns
from flows.pipeline import extract_files
from transforms.facts import CELL_SCHEMA, cells_frame

SAMPLES = sorted(Path(__file__).resolve().parents[1].joinpath("flows", "samples").glob("*.txt"))


def test_the_cells_frame_holds_every_cell_of_every_report_in_order():
    reports, _ = extract_files([SourceRef(str(path)) for path in SAMPLES[:3]])
    assert len(reports) == 3
    by_rows = pl.DataFrame(
        [(report.report_id, cell.table_code, cell.row_code, cell.col_code, cell.raw_text, cell.unit_hint, cell.confidence)
         for report in reports for cell in report.cells],
        schema=CELL_SCHEMA, orient="row",
    )
    frame = cells_frame(cell_columns(reports))
    assert frame.height == sum(len(report.cells) for report in reports) > 300
    assert frame["report_id"].unique(maintain_order=True).to_list() == [report.report_id for report in reports]
    assert_frame_equal(frame, by_rows)


def test_a_batch_without_reports_has_an_empty_cells_frame_of_the_schema():
    frame = cells_frame(cell_columns([]))
    assert frame.height == 0
    assert frame.schema == pl.Schema(CELL_SCHEMA)
