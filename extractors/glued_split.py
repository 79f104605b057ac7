"""Split a run of glued cells ('230000023') into the cells the template says it holds.

A crawler's get_text() prints a row's cells with nothing between them. The digits alone
admit many splits; the template's arithmetic admits few: a row of table B ends with its
总计 (the sum of the six applicant cells), each group of table C ends with its 总计, and
the rows of table B are tied column by column (一 + 二 = （七）+ 四, （七）= its parts).
These functions enumerate the splits the digits allow and keep those the arithmetic
allows. They never pick one of several: the caller loads a cell only when every split
left agrees on it.

A cell is a number without a leading zero ('0', '23', '-185', '1,234', '0.52', with 元 or
万元 glued on) or a dash ('—', '/', '无', a lone '-'), which counts 0 in the sums. The
search is bounded (SEARCH_BUDGET steps): a pathological run gives up instead of
exploding, and the caller reads it as ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

#: Search steps one run (or one table's cross-row search) may take before giving up.
SEARCH_BUDGET = 200_000
#: Digits one number may have: counts below ten billion, money with decimals a little longer.
MAX_NUMBER_CHARS = 18
_DASH = re.compile(r"—+|/|无|-(?![0-9])")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*|[1-9][0-9]{0,2}(?:,[0-9]{3})+)(?:\.[0-9]+)?(?:万元|元)?")


class SearchExhausted(Exception):
    """The run has too many possible splits to enumerate within the budget."""


@dataclass
class _Budget:
    left: int

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise SearchExhausted


def cell_value(cell: str) -> Decimal:
    """What a cell counts in a sum: a dash is 0; 元 and 万元 are dropped (only table A has money)."""
    if _DASH.fullmatch(cell):
        return Decimal(0)
    try:
        return Decimal(cell.removesuffix("万元").removesuffix("元").replace(",", ""))
    except InvalidOperation:  # pragma: no cover - _NUMBER only matches numbers
        return Decimal(0)


def _cells_at(run: str, pos: int, signed: bool) -> list[str]:
    """Every cell the run can hold starting at pos, shortest first."""
    found = []
    dash = _DASH.match(run, pos)
    if dash:
        found.append(dash.group())
    limit = min(len(run), pos + MAX_NUMBER_CHARS + 2)
    for end in range(pos + 1, limit + 1):
        text = run[pos:end]
        if (signed or not text.startswith("-")) and _NUMBER.fullmatch(text):
            found.append(text)
    return found


def splits(run: str, count: int, *, signed: bool = False, budget: int = SEARCH_BUDGET) -> list[tuple[str, ...]]:
    """Every way to read the whole run as `count` cells (no arithmetic). Raises SearchExhausted."""
    spent = _Budget(budget)
    out: list[tuple[str, ...]] = []

    def walk(pos: int, cells: tuple[str, ...]) -> None:
        spent.spend()
        if len(cells) == count:
            if pos == len(run):
                out.append(cells)
            return
        left = count - len(cells)
        if not left * 1 <= len(run) - pos <= left * (MAX_NUMBER_CHARS + 2):
            return
        for cell in _cells_at(run, pos, signed):
            walk(pos + len(cell), cells + (cell,))

    walk(0, ())
    return out


def _total_texts(total: Decimal) -> tuple[str, ...]:
    whole = int(total)
    if total != whole:
        return (str(total),)
    return (str(whole), f"{whole:,}") if abs(whole) >= 1000 else (str(whole),)


def totalled_splits(run: str, group: int, groups: int = 1, *, budget: int = SEARCH_BUDGET) -> list[tuple[str, ...]]:
    """Every way to read the run as `groups` groups of `group` cells whose last cell is the sum of
    the others (a 总计 printed as a dash counts 0). Raises SearchExhausted."""
    spent = _Budget(budget)
    out: list[tuple[str, ...]] = []

    def walk(pos: int, cells: tuple[str, ...], in_group: int, total: Decimal) -> None:
        spent.spend()
        if in_group == group - 1:
            candidates = [t for t in _total_texts(total) if run.startswith(t, pos)]
            dash = _DASH.match(run, pos)
            if dash and total == 0:
                candidates.append(dash.group())
            for text in candidates:
                done = cells + (text,)
                end = pos + len(text)
                if len(done) == group * groups:
                    if end == len(run):
                        out.append(done)
                else:
                    walk(end, done, 0, Decimal(0))
            return
        for cell in _cells_at(run, pos, signed=False):
            walk(pos + len(cell), cells + (cell,), in_group + 1, total + cell_value(cell))

    walk(0, (), 0, Decimal(0))
    return out


def agreed(candidates: Sequence[Sequence[str]]) -> list[str | None]:
    """Per position, the cell every candidate agrees on, else None."""
    if not candidates:
        return []
    return [column[0] if all(c == column[0] for c in column) else None for column in zip(*candidates)]


def distinct(candidates: Sequence[Sequence[str]], index: int) -> list[str]:
    """The different readings of one cell, in first-seen order."""
    return list(dict.fromkeys(c[index] for c in candidates))
