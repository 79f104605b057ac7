"""Tables are found by their labels: order, gaps, blank rows and merged cells do not shift numbers."""

from __future__ import annotations

import pytest

from extractors.errors import NotAReport, TableLayoutError, TableNotFound, TruncatedTable
from extractors.locate import locate_tables
from extractors.text import parse_text
from tests.conftest import SAMPLES

SEED_002 = (SAMPLES / "002_54cd1b08fa028caf.txt").read_text(encoding="utf-8")


def cells_of(text: str) -> dict[tuple[str, str], str]:
    tables = locate_tables(parse_text(text), "test.txt")
    return {(c.row_code, c.col_code): c.raw_text for c in tables.cells if c.table_code == "requests"}


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _row_line(text: str, label: str) -> int:
    return next(i for i, line in enumerate(_lines(text)) if label in line)


def test_rows_in_another_order_keep_their_numbers():
    lines = _lines(SEED_002)
    granted, partial = _row_line(SEED_002, "(一) 予以公开"), _row_line(SEED_002, "(二) 部分公开")
    lines[granted], lines[partial] = lines[partial], lines[granted]
    cells = cells_of("\n".join(lines))
    assert cells[("granted", "natural_person")] == "7"
    assert cells[("partially_granted", "natural_person")] == "1"


def test_a_missing_row_leaves_its_cells_out_and_no_neighbour_moves():
    lines = _lines(SEED_002)
    del lines[_row_line(SEED_002, "1. 本机关不掌握相关政府信息")]
    lines.insert(_row_line("\n".join(lines), "2. 没有现成信息需要另行制作"), "\t(四) 无法提供\t\t\t\t\t\t\t")
    cells = cells_of("\n".join(lines))
    assert ("unable.not_held", "natural_person") not in cells
    assert cells[("unable.needs_creation", "natural_person")] == "2"
    assert cells[("not_processed.petition_complaint", "natural_person")] == "1"


def test_extra_blank_rows_change_nothing():
    lines = _lines(SEED_002)
    at = _row_line(SEED_002, "(七) 总计")
    lines[at:at] = ["\t\t\t\t\t\t\t\t", "\t\t\t"]
    assert cells_of("\n".join(lines)) == cells_of(SEED_002)


def test_a_row_with_more_values_than_columns_fails_loudly():
    text = SEED_002.replace("一、本年新收政府信息公开申请数量\t\t14\t0", "一、本年新收政府信息公开申请数量\t9\t14\t0")
    with pytest.raises(TableLayoutError, match="8 value cells where the template has 7 columns"):
        cells_of(text)


def test_a_document_without_tables_is_not_a_report():
    with pytest.raises(NotAReport, match="no statistical table"):
        locate_tables(parse_text("关于开展安全生产检查的通知\n\n各单位：请做好检查。\n"), "notice.txt")


def test_table_b_cut_off_after_its_denials_is_truncated():
    cut = SEED_002[: SEED_002.index("(四) 无法提供")]
    with pytest.raises(TruncatedTable, match="cut off after row denied"):
        locate_tables(parse_text(cut), "cut.txt")


def test_a_report_without_table_c_names_the_missing_table():
    without_c = SEED_002[: SEED_002.index("四、政府信息公开行政复议")]
    with pytest.raises(TableNotFound, match="行政复议、行政诉讼"):
        locate_tables(parse_text(without_c), "no_c.txt")


def test_a_blank_total_at_the_end_of_a_row_per_line_row_does_not_pull_the_row_left():
    """Seed 002 prints a merged label as: label, '', the seven numbers, ''. A blank 总计 leaves two
    empty cells at the end: the numbers must stay under their columns."""
    row = "一、本年新收政府信息公开申请数量\t\t14\t0\t0\t0\t0\t0\t14\t"
    assert row in SEED_002
    cells = cells_of(SEED_002.replace(row, "一、本年新收政府信息公开申请数量\t\t14\t0\t0\t0\t0\t0\t\t"))
    assert cells[("new_received", "natural_person")] == "14"
    assert cells[("new_received", "other_org")] == "0"
    assert cells[("new_received", "total")] == ""


def test_a_blank_first_number_in_a_row_per_line_row_keeps_the_others_in_place():
    row = "二、上年结转政府信息公开申请数量\t\t0\t0\t0\t0\t0\t0\t0\t"
    assert row in SEED_002
    cells = cells_of(SEED_002.replace(row, "二、上年结转政府信息公开申请数量\t\t\t0\t0\t0\t0\t0\t5\t"))
    assert cells[("carried_over", "natural_person")] == ""
    assert cells[("carried_over", "commercial_enterprise")] == "0"
    assert cells[("carried_over", "total")] == "5"


def test_a_table_c_printed_with_every_cell_blank_is_read_as_blank_cells():
    """An agency with no cases that writes nothing for 0 leaves the whole data row of table C empty."""
    zeros = "\t".join(["0"] * 15)
    assert SEED_002.count(zeros) == 1
    tables = locate_tables(parse_text(SEED_002.replace(zeros, "\t" * 14)), "blank_c.txt")
    review = {(c.row_code, c.col_code): c.raw_text for c in tables.cells if c.table_code == "review_litigation"}
    assert len(review) == 15
    assert set(review.values()) == {""}
    assert review.keys() >= {("review", "total"), ("litigation_direct", "upheld"), ("litigation_after_review", "pending")}


def test_column_order_is_read_from_the_header():
    reordered = "\n".join(
        [
            "三、收到和处理政府信息公开申请情况",
            "\t\t申请人情况",
            "\t\t总计\t法人或其他组织\t自然人",
            "\t\t\t商业企业\t科研机构\t社会公益组织\t法律服务机构\t其他",
            "一、本年新收政府信息公开申请数量\t9\t1\t2\t3\t0\t0\t3",
        ]
    )
    tables = locate_tables(parse_text(
        SEED_002[: SEED_002.index("三、收到和处理")] + reordered + "\n" + SEED_002[SEED_002.index("二、上年结转") :]
    ), "x.txt")
    new = {c.col_code: c.raw_text for c in tables.cells if c.row_code == "new_received"}
    assert new == {
        "total": "9", "commercial_enterprise": "1", "research_institution": "2", "social_welfare_org": "3",
        "legal_service_agency": "0", "other_org": "0", "natural_person": "3",
    }


def test_a_row_read_by_ocr_keeps_its_confidences_after_the_same_row_was_read_as_plain_text():
    """Plain rows are shared between reports; an OCRed row with the same texts must not be served a plain one."""
    from extractors.document import Document, Row, scored

    plain = parse_text(SEED_002)
    locate_tables(plain, "plain.txt")  # the plain rows are now cached
    ocred = Document([Row(tuple(scored(cell, 0.5) for cell in block.cells)) if isinstance(block, Row) else block
                      for block in plain.blocks], reader="ocr")
    cells = locate_tables(ocred, "scan.pdf").cells
    assert cells and {cell.confidence for cell in cells} == {0.5}
    assert [(c.row_code, c.col_code, c.raw_text) for c in cells] == [
        (c.row_code, c.col_code, c.raw_text) for c in locate_tables(plain, "plain.txt").cells
    ]
