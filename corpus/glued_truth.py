"""Which cells of a glued rendering its text determines: the truth of the glued layout.

Glued cells are read by the template's arithmetic (extractors.glued_tables); a cell whose
digits allow several readings that all pass it must be reported as ambiguous, never as a
number. The truth marks those cells 'ambiguous' (value NULL). The values of every other cell
stay the generator's own, so a reader that settles on a wrong split is caught as wrong.
"""

from __future__ import annotations

import re
import unicodedata

from corpus.numbers import Break
from corpus.printing import Printed
from extractors.glued_tables import active_cells, request_cells, review_cells
from template import ACTIVE_DISCLOSURE, AMBIGUOUS, REQUESTS, REVIEW_LITIGATION

Key = tuple[str, str, str]


def _run(texts: list[str]) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", "".join(texts)))


def mark_ambiguous(keys: tuple[Key, ...], printed: list[Printed]) -> list[Printed]:
    """printed, with every cell the glued text leaves ambiguous marked so."""
    rows: dict[tuple[str, str], list[int]] = {}
    for index, (table, row, _) in enumerate(keys):
        rows.setdefault((table, row if table != REVIEW_LITIGATION else ""), []).append(index)
    read: dict[int, str] = {}
    request_runs = {row: _run([printed[i].text for i in where]) for (table, row), where in rows.items() if table == REQUESTS}
    for row, cells in request_cells(request_runs).items():
        read.update(zip(rows[(REQUESTS, row)], cells))
    for (table, _), where in rows.items():
        run = _run([printed[i].text for i in where])
        if table == ACTIVE_DISCLOSURE:
            read.update(zip(where, active_cells(run, len(where))))
        elif table == REVIEW_LITIGATION:
            read.update(zip(where, review_cells(run)))
    return [
        Printed(p.text, "ambiguous", None) if read.get(i, "").startswith(AMBIGUOUS) else p
        for i, p in enumerate(printed)
    ]


_BALANCE_ROWS = ("new_received", "carried_over", "total_handled", "carried_forward")


def _operand(rule: str, scope: str, key: Key) -> bool:
    """Whether the cell `key` is an operand of the check (rule, scope)."""
    table, row, col = key
    if rule == "requests_row_total":
        return table == REQUESTS and row == scope
    if rule == "requests_balance":
        return table == REQUESTS and col == scope and row in _BALANCE_ROWS
    if rule == "requests_handled_total":
        return table == REQUESTS and col == scope and row not in ("new_received", "carried_over", "carried_forward")
    return table == REVIEW_LITIGATION and row == scope


def unreadable_break(broken: Break, keys: tuple[Key, ...], printed: list[Printed]) -> Break:
    """A break whose check has an ambiguous operand cannot be computed: what the reader must flag
    instead is that the table's cells do not read one way (cell_ambiguous)."""
    for key, p in zip(keys, printed):
        if p.kind == "ambiguous" and _operand(broken.rule, broken.scope, key):
            return Break(broken.kind, "cell_ambiguous", key[0])
    return broken
