"""The real Huai'an report as Word's plain-text export prints it, in the two layouts of the seeds.

No Word here to save the file as text, so the pdf2docx DOCX of the real PDF (its paragraphs, and its
tables with their merges and page splits) is written out by corpus/text.py, the project's model of
that export checked against the seeds (cell-per-line: seeds 000, 001, 003, 004; row-per-line: seed
002). The structure and every printed cell come from the converter's reading of the real PDF; only
the layout of the text is the model's, without its random quirks. Every hand-read cell must come back.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

from corpus.document import Block, Paragraph, TableBlock
from corpus.grid import GridCell, Table
from corpus.text import TextQuirks, cell_per_line, row_per_line
from tests.conftest import ROOT
from tests.test_real_renderings import read_all_right

HUAIAN_DOCX = ROOT / "tests" / "fixtures" / "real" / "huaian-city-government-2024.pdf2docx.docx"
#: Word's export as it is, none of the quirks the synthetic corpus draws at random.
PLAIN = TextQuirks(late_value=0.0, detached_last_value=0.0, shifted_row=0.0, bookmark=False)
#: The section heading a table follows -> the table's name in corpus/document.py.
TABLE_NAMES = {"主动公开政府信息情况": "active", "收到和处理政府信息公开申请情况": "requests", "行政复议": "review"}
_NUMBER = re.compile(r"\s*-?[\d.]+\s*")


def _paragraph_text(element) -> str:
    return "".join(node.text or "" for node in element.iter(qn("w:t")))


def _grid(table_element) -> Table:
    """Word's rows of cells with their spans: a vMerge run becomes one cell with its rowspan."""
    rows: list[list[GridCell]] = []
    started: dict[int, tuple[int, int]] = {}  # grid column -> (row, index) of the cell a vMerge run started
    for row_number, tr in enumerate(table_element.iter(qn("w:tr"))):
        cells: list[GridCell] = []
        column = 0
        for tc in tr.iter(qn("w:tc")):
            span, merge = tc.grid_span, tc.vMerge
            if merge == "continue":
                first_row, index = started[column]
                above = rows[first_row][index]
                rows[first_row][index] = GridCell(above.text, above.colspan, above.rowspan + 1, above.value)
            else:
                text = "\n".join(_paragraph_text(p) for p in tc.iter(qn("w:p")))
                if merge == "restart":
                    started[column] = (row_number, len(cells))
                cells.append(GridCell(text, colspan=span, value=bool(_NUMBER.fullmatch(text))))
            column += span
        rows.append(cells)
    return rows


def word_blocks(path: Path) -> list[Block]:
    """The DOCX's paragraphs (empty ones left out) and tables, in order, each table named by its section."""
    blocks: list[Block] = []
    name = ""
    for element in docx.Document(str(path)).element.body.iterchildren():
        if element.tag == qn("w:p") and (text := _paragraph_text(element).strip()):
            blocks.append(Paragraph(text))
            name = next((table for heading, table in TABLE_NAMES.items() if heading in text), name)
        elif element.tag == qn("w:tbl"):
            blocks.append(TableBlock(_grid(element), name))
    return blocks


@pytest.mark.parametrize(("write", "reader"), [(cell_per_line, "text/cell-per-line"), (row_per_line, "text/row-per-line")])
def test_every_hand_read_cell_of_the_word_text_export_is_read(tmp_path, write: Callable, reader: str):
    blocks = word_blocks(HUAIAN_DOCX)
    assert [block.name for block in blocks if isinstance(block, TableBlock)] == [
        "active", "active", "requests", "requests", "review"]  # split at the page breaks, as printed
    exported = tmp_path / "huaian-word-export.txt"
    exported.write_text(write(blocks, random.Random(0), PLAIN), encoding="utf-8")
    read_all_right(exported, reader)
