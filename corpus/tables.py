"""The three statistical tables as grids, in the layouts and label spellings real reports use.

Labels come from template_cells.csv (via the template package), respelled per report:
bracket width, spaces, numbering, DOMAIN.md's typos, narrow labels wrapped ('商业' /
'企业') or broken one character per line. Header layouts vary the way published tables
do: table B's 勾稽 note over blank header cells or spanning them, 总计 in the top row or
beside 自然人; single-value rows of table A spanning three columns or padded with empty cells.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

from corpus.grid import GridCell, Table
from corpus.numbers import Key
from corpus.vocabulary import TYPOS, bracket_style, numbered
from template import ACTIVE_DISCLOSURE, REQUESTS, REVIEW_LITIGATION, cells_for, columns_for, rows_for

BALANCE_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
B_HEADER_LAYOUTS = ("blank_rows", "rowspan", "total_top")
_TABLE_A_WIDTH = 4
_ORGANISATION_COLUMNS = ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")
_REVIEW_COLUMNS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
#: The printed text of every cell of the report, by (table, row, column) code.
CellTexts = dict[Key, str]


@dataclass(frozen=True)
class LabelStyle:
    half_width: bool
    spaced: bool
    numbering: int
    typos: bool
    #: Narrow labels: 0 unwrapped, 2 wrapped every two characters, 1 one character per line.
    wrap: int
    b_header: str
    #: Row labels typed with a stray space (half- or full-width) around them.
    stray_spaces: bool
    #: Table A rows with one value: span the three value columns, or pad with empty cells.
    padded_single_values: bool


def label_style(rng: random.Random) -> LabelStyle:
    return LabelStyle(
        half_width=rng.random() < 0.3,
        spaced=rng.random() < 0.2,
        numbering=rng.choices((0, 1, 2), (80, 15, 5))[0],
        typos=rng.random() < 0.05,
        wrap=rng.choices((0, 2, 1), (45, 50, 5))[0],
        b_header=rng.choice(B_HEADER_LAYOUTS),
        stray_spaces=rng.random() < 0.1,
        padded_single_values=rng.random() < 0.3,
    )


def _spell(style: LabelStyle, label: str) -> str:
    if style.typos:
        label = TYPOS.get(label, label)
    return _padded(style, numbered(bracket_style(label, style.half_width, style.spaced), style.numbering))


def _wrap(style: LabelStyle, label: str) -> str:
    """A narrow header cell's label as Word wraps it."""
    if not style.wrap or len(label) <= style.wrap:
        return label
    return "\n".join(label[i : i + style.wrap] for i in range(0, len(label), style.wrap))


def _padded(style: LabelStyle, label: str) -> str:
    """A label with the stray space its author typed before or after it."""
    return label if not style.stray_spaces else (" " + label if len(label) % 2 else label + "　")


def _values(printed: CellTexts, table: str, row: str, cols: tuple[str, ...]) -> list[GridCell]:
    return [GridCell(printed[(table, row, col)], value=True) for col in cols]


# ---- table A ---------------------------------------------------------------------------

@cache
def _active_items(version: str) -> list[tuple[str, list[str], list[str], list[str]]]:
    """(item, column labels, row codes, row labels) in template order. Callers must not change them."""
    items: dict[str, tuple[list[str], list[str], list[str]]] = {}
    for cell in cells_for(version, ACTIVE_DISCLOSURE):
        col_labels, rows, row_labels = items.setdefault(cell.item, ([], [], []))
        if cell.col_label not in col_labels:
            col_labels.append(cell.col_label)
        if cell.row_code not in rows:
            rows.append(cell.row_code)
            row_labels.append(cell.row_label)
    return [(item, *parts) for item, parts in items.items()]


_ITEM_NUMERALS = {"1": "一", "5": "五", "6": "六", "8": "八", "9": "九"}


def active_table(version: str, printed: CellTexts, style: LabelStyle) -> Table:
    rows: Table = []
    for item, col_labels, row_codes, row_labels in _active_items(version):
        numeral = _ITEM_NUMERALS[item.removeprefix("art20_")]
        item_label = bracket_style(f"第二十条第（{numeral}）项", style.half_width, spaced=False)
        rows.append([GridCell(item_label, colspan=_TABLE_A_WIDTH)])
        spare = _TABLE_A_WIDTH - 1 - len(col_labels)
        codes = columns_for(version, ACTIVE_DISCLOSURE, item)
        # The 2019 columns are narrow: '本年新' / '制作数量' (seed 003).
        headers = [f"{label[:3]}\n{label[3:]}" if style.wrap and version == "2019" and len(label) > 4 else label
                   for label in col_labels]
        rows.append(_widen([GridCell("信息内容")] + [GridCell(label) for label in headers], spare, style))
        for code, label in zip(row_codes, row_labels):
            values = _values(printed, ACTIVE_DISCLOSURE, code, codes)
            rows.append(_widen([GridCell(_padded(style, label))] + values, spare, style))
    return rows


def _widen(cells: list[GridCell], spare: int, style: LabelStyle) -> list[GridCell]:
    """A row with fewer than three value columns fills the table's width: its last cell spans, or empty cells follow."""
    if not spare:
        return cells
    last = cells[-1]
    if style.padded_single_values:
        return cells + [GridCell("", value=last.value)] * spare
    return cells[:-1] + [GridCell(last.text, colspan=1 + spare, value=last.value)]


# ---- table B ---------------------------------------------------------------------------

def _request_header(style: LabelStyle) -> Table:
    balance_note = bracket_style(BALANCE_NOTE, style.half_width, spaced=False)
    note, organisations = GridCell(balance_note, colspan=3), [GridCell(_wrap(style, c)) for c in _ORGANISATION_COLUMNS]
    applicant, person = GridCell("申请人情况", colspan=7), GridCell("自然人", rowspan=2)
    group, total = GridCell("法人或其他组织", colspan=5), GridCell("总计", rowspan=2)
    if style.b_header == "blank_rows":
        return [[note, applicant], [GridCell("", colspan=3), person, group, total], [GridCell("", colspan=3), *organisations]]
    spanning_note = GridCell(balance_note, colspan=3, rowspan=3)
    if style.b_header == "rowspan":
        return [[spanning_note, applicant], [person, group, total], organisations]
    return [[spanning_note, GridCell("申请人情况", colspan=6), GridCell("总计", rowspan=3)], [person, group], organisations]


def requests_table(version: str, printed: CellTexts, style: LabelStyle) -> Table:
    """Rows 一、二 and 四 span the three label columns; 三、 spans every result row; each of
    （三）to（六）spans its numbered rows."""
    columns = columns_for(version, REQUESTS)
    labels = {c.row_code: c.row_label for c in cells_for(version, REQUESTS)}
    row_codes = rows_for(version, REQUESTS)
    result_rows = row_codes[2:-1]
    sections: dict[str, list[str]] = {}
    for code in result_rows:
        if "." in code:
            sections.setdefault(code.split(".")[0], []).append(code)

    rows = _request_header(style)
    for code in row_codes:
        values = _values(printed, REQUESTS, code, columns)
        section = code.split(".")[0]
        if code in ("new_received", "carried_over", "carried_forward"):
            cells = [GridCell(_spell(style, labels[code]), colspan=3)]
        elif "." not in code:
            cells = [GridCell(_spell(style, labels[code]), colspan=2)]
        else:
            section_label, sub_label = labels[code].split(" ", 1)
            cells = [GridCell(_spell(style, sub_label))]
            if sections[section][0] == code:
                cells.insert(0, GridCell(_spell(style, section_label), rowspan=len(sections[section])))
        if code == result_rows[0]:
            cells.insert(0, GridCell("三、本年度办理结果", rowspan=len(result_rows)))
        rows.append(cells + values)
    return rows


# ---- table C ---------------------------------------------------------------------------

def review_table(printed: CellTexts, style: LabelStyle) -> Table:
    columns = columns_for("2021", REVIEW_LITIGATION)
    review_label = _spell(style, "行政复议")
    kinds = [GridCell(_wrap(style, label)) for label in _REVIEW_COLUMNS]
    return [
        [GridCell(review_label, colspan=5), GridCell("行政诉讼", colspan=10)],
        [GridCell(c.text, rowspan=2) for c in kinds] + [GridCell("未经复议直接起诉", colspan=5), GridCell("复议后起诉", colspan=5)],
        kinds + kinds,
        [cell for group in rows_for("2021", REVIEW_LITIGATION) for cell in _values(printed, REVIEW_LITIGATION, group, columns)],
    ]
