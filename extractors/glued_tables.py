"""The cells of glued rows, chosen by the template's arithmetic, or reported as ambiguous.

Table B: each row's run is split into seven cells whose 总计 is the sum of the other six;
then the rows are read together, keeping the combinations whose columns balance
(一 + 二 = （七）+ 四, （七）= （一）+（二）+ every sub-row of （三）to（六）). A cell is loaded
when every combination left agrees on it. When no combination passes every rule (the report
breaks one), the arithmetic cannot be trusted to choose: a broken row may have a wrong
reading that passes its own total. Then only what the digits alone allow is loaded ('0000000'
is seven zeros whatever the sums say).
Table C: the fifteen cells as three groups whose 总计 is the sum of the other four (or, when
no reading passes, what the digits alone allow).
Table A has no arithmetic: a cell is loaded only when the digits allow one split.

An ambiguous cell's text is AMBIGUOUS followed by its candidate readings and the run, so the
facts load it as NULL with value_kind 'ambiguous' and the printed digits stay traceable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from itertools import product

from extractors.glued_split import (
    SearchExhausted,
    agreed,
    cell_value,
    distinct,
    splits,
    totalled_splits,
)
from template import AMBIGUOUS

REQUEST_WIDTH = 7
REVIEW_GROUP = 5
REVIEW_GROUPS = 3
#: Combinations of the rows' candidates tried against the column rules before giving up on them.
COMBINATION_BUDGET = 4096
#: Candidates listed in an ambiguous cell's text; more are counted, not listed.
_LISTED = 6
_BALANCE_IN = ("new_received", "carried_over")
_BALANCE_OUT = ("total_handled", "carried_forward")
_HANDLED_ROWS = ("granted", "partially_granted", "other")
_HANDLED_SECTIONS = ("denied.", "unable.", "not_processed.", "other.")


def ambiguous_text(readings: Sequence[str], run: str) -> str:
    """'ambiguous: 2 | 23 in 230000023' (or 'no reading' when nothing fits)."""
    if not readings:
        return f"{AMBIGUOUS} no reading in {run}"
    listed = " | ".join(readings[:_LISTED]) + (f" | … ({len(readings)} readings)" if len(readings) > _LISTED else "")
    return f"{AMBIGUOUS} {listed} in {run}"


def _cells(candidates: Sequence[Sequence[str]], run: str, width: int) -> list[str]:
    """Each position's agreed cell, or its ambiguity with the candidates."""
    if not candidates:
        return [ambiguous_text([], run)] * width
    return [cell if cell is not None else ambiguous_text(distinct(candidates, i), run)
            for i, cell in enumerate(agreed(candidates))]


def _safe(search, *args, **kwargs) -> list[tuple[str, ...]] | None:
    try:
        return search(*args, **kwargs)
    except SearchExhausted:
        return None


def active_cells(run: str, width: int) -> list[str]:
    """A row of table A (本年增/减 may be negative): loaded only where the digits allow one split."""
    found = _safe(splits, run, width, signed=True)
    if found is None:
        return [f"{AMBIGUOUS} too many readings of {run}"] * width
    return _cells(found, run, width)


def review_cells(run: str) -> list[str]:
    width = REVIEW_GROUP * REVIEW_GROUPS
    found = _safe(totalled_splits, run, REVIEW_GROUP, REVIEW_GROUPS)
    if not found:  # a group breaks its total: only what the digits alone allow
        found = _safe(splits, run, width)
    if found is None:
        return [f"{AMBIGUOUS} too many readings of {run}"] * width
    return _cells(found, run, width)


def _is_handled_part(row: str) -> bool:
    return row in _HANDLED_ROWS or row.startswith(_HANDLED_SECTIONS)


def _balances(rows: Sequence[str], values: Sequence[Sequence[Decimal | int]]) -> bool:
    """Every column rule of table B that the rows present can state holds for these rows' values."""
    by_row = dict(zip(rows, values))
    parts = [v for row, v in by_row.items() if _is_handled_part(row)]
    balance = all(r in by_row for r in _BALANCE_IN + _BALANCE_OUT)
    handled = by_row.get("total_handled")
    for column in range(REQUEST_WIDTH):
        if balance and (sum(by_row[r][column] for r in _BALANCE_IN) != sum(by_row[r][column] for r in _BALANCE_OUT)):
            return False
        if handled is not None and parts and handled[column] != sum(p[column] for p in parts):
            return False
    return True


def request_cells(runs: dict[str, str], budget: int = COMBINATION_BUDGET) -> dict[str, list[str]]:
    """Each row of table B (by row code) as seven cell texts."""
    if not runs:
        return {}
    per_row: dict[str, list[tuple[str, ...]] | None] = {
        row: _safe(totalled_splits, run, REQUEST_WIDTH) for row, run in runs.items()
    }
    complete = {row: found for row, found in per_row.items() if found}
    chosen: Mapping[str, list[tuple[str, ...]] | None] | None = (
        _combine(complete, budget) if len(complete) == len(per_row) else None
    )
    if chosen is None:
        # The report breaks a rule (or the rows are too open to combine): nothing says which row
        # is wrong, and a broken row can have a wrong reading that passes its own total. Only
        # what the digits alone say is loaded.
        chosen = {row: _safe(splits, run, REQUEST_WIDTH) for row, run in runs.items()}
    out = {}
    for row, run in runs.items():
        found = chosen[row]
        if found is None:
            out[row] = [f"{AMBIGUOUS} too many readings of {run}"] * REQUEST_WIDTH
        else:
            out[row] = _cells(found, run, REQUEST_WIDTH)
    return out


def _combine(rows: dict[str, list[tuple[str, ...]]], budget: int) -> dict[str, list[tuple[str, ...]]] | None:
    """The candidates of each row that take part in a balancing combination; None if none balances
    or there are too many combinations to try."""
    open_rows = [row for row, found in rows.items() if len(found) > 1]
    combinations = 1
    for row in open_rows:
        combinations *= len(rows[row])
    if combinations > budget:
        return None
    names = list(rows)
    valued = {row: [(cells, [cell_value(c) for c in cells]) for cells in rows[row]] for row in names}
    kept: dict[str, set[tuple[str, ...]]] = {row: set() for row in names}
    for combination in product(*(valued[row] for row in names)):
        if _balances(names, [values for _, values in combination]):
            for row, (cells, _) in zip(names, combination):
                kept[row].add(cells)
    if not kept[names[0]]:
        return None
    return {row: [c for c in rows[row] if c in kept[row]] for row in names}
