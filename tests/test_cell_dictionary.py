"""ensure_schema fills cell_dictionary from a frame: every template cell once, each value in its own column."""

from __future__ import annotations

import duckdb

from template import template_cells
from warehouse.schema import _dictionary_rows, ensure_schema
from warehouse.tables import CELL_DICTIONARY


def test_a_new_warehouse_holds_every_template_cell_with_its_labels_and_orders():
    conn = duckdb.connect()
    ensure_schema(conn)
    labelled = [column for column in CELL_DICTIONARY if column != "cell_id"]
    stored = conn.execute(f"select {', '.join(labelled)} from cell_dictionary").fetchall()
    assert len(stored) == len(template_cells()) == 398
    assert sorted(stored) == sorted(_dictionary_rows())
    row = conn.execute("select * from cell_dictionary where template = '2021' and row_code = 'denied.state_secret' "
                       "and col_code = 'total'").fetchall()
    assert row == [("2021", "requests", "", "denied.state_secret", "total", "收到和处理政府信息公开申请情况",
                    "Disclosure requests received and handled", "（三）不予公开 1.属于国家秘密",
                    "(3) Not disclosed: 1. state secret", "总计", "Total", 1, 5, 7, row[0][-1])]
    # Its cell's id in cell_codes, the one every template version's row of that cell has.
    assert conn.execute("select cell_id from cell_codes where table_code = 'requests' and row_code = "
                        "'denied.state_secret' and col_code = 'total'").fetchall() == [(row[0][-1],)]
    assert conn.execute("select count(*) from cell_dictionary d join cell_codes c using (cell_id) where "
                        "(d.table_code, d.row_code, d.col_code) <> (c.table_code, c.row_code, c.col_code)").fetchone() == (0,)
    ensure_schema(conn)  # complete: left as it is
    assert conn.execute("select count(*) from cell_dictionary").fetchone()[0] == 398
