"""ensure_schema fills cell_dictionary from a frame: every template cell once, each value in its own column."""

from __future__ import annotations

import duckdb

from template import template_cells
from warehouse.schema import _dictionary_rows, ensure_schema
from warehouse.tables import CELL_DICTIONARY


def test_a_new_warehouse_holds_every_template_cell_with_its_labels_and_orders():
    conn = duckdb.connect()
    ensure_schema(conn)
    stored = conn.execute(f"select {', '.join(CELL_DICTIONARY)} from cell_dictionary").fetchall()
    assert len(stored) == len(template_cells()) == 398
    assert sorted(stored) == sorted(_dictionary_rows())
    row = conn.execute("select * from cell_dictionary where template = '2021' and row_code = 'denied.state_secret' "
                       "and col_code = 'total'").fetchall()
    assert row == [("2021", "requests", "", "denied.state_secret", "total", "收到和处理政府信息公开申请情况",
                    "Disclosure requests received and handled", "（三）不予公开 1.属于国家秘密",
                    "(3) Not disclosed: 1. state secret", "总计", "Total", 1, 5, 7)]
    ensure_schema(conn)  # complete: left as it is
    assert conn.execute("select count(*) from cell_dictionary").fetchone()[0] == 398
