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
from decimal import Decimal

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


def cell_value(cell: str) -> Decimal | int:
    """What a cell counts in a sum: a dash is 0; 元 and 万元 are dropped (only table A has money).
    Whole numbers are ints (fast); decimals are Decimals (exact)."""
    if _DASH.fullmatch(cell):
        return 0
    digits = cell.removesuffix("万元").removesuffix("元").replace(",", "")
    return Decimal(digits) if "." in digits else int(digits)


def _cells_at(run: str, pos: int, signed: bool) -> list[str]:
    """Every cell the run can hold starting at pos, shortest first."""
    found = []
    dash = _DASH.match(run, pos)
    if dash:
        text = dash.group()
        # '——' is one dash or two: a run of em dashes can end anywhere
        found += [text[:n] for n in range(1, len(text) + 1)] if text.startswith("—") else [text]
    limit = min(len(run), pos + MAX_NUMBER_CHARS + 2)
    for end in range(pos + 1, limit + 1):
        text = run[pos:end]
        if (signed or not text.startswith("-")) and _NUMBER.fullmatch(text):
            found.append(text)
    return found


def _digits_at(run: str, pos: int, end: int, most: Decimal | int) -> list[tuple[str, Decimal | int]]:
    """The whole numbers starting at pos (before end) that are at most `most`, with their values:
    '0' alone, or no leading zero."""
    if run[pos] == "0":
        return [("0", 0)]
    found: list[tuple[str, Decimal | int]] = []
    for stop in range(pos + 1, min(end, pos + len(str(most))) + 1):
        value = int(run[pos:stop])
        if value > most:
            break
        found.append((run[pos:stop], value))
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


def totalled_splits(run: str, group: int, groups: int = 1, *, budget: int = SEARCH_BUDGET) -> list[tuple[str, ...]]:
    """Every way to read the run as `groups` groups of `group` cells whose last cell is the sum of
    the others (a 总计 printed as a dash counts 0). Raises SearchExhausted.

    Each group is searched from its 总计 back: the 总计 is a cell ending where the group ends, and
    the parts before it must add up to it, which prunes every part larger than what is left."""
    spent = _Budget(budget)
    plain = run.isdigit()  # the common case: digits only, where a part is at most as long as what is left

    def parts(pos: int, end: int, count: int, left: Decimal | int) -> list[tuple[str, ...]]:
        spent.spend()
        if count == 0:
            return [()] if pos == end and left == 0 else []
        widest = len(str(left)) if plain else MAX_NUMBER_CHARS + 2
        if not count <= end - pos <= count * widest:
            return []
        if plain and left > 10 ** (end - pos - count + 1) - 1 + 9 * (count - 1):
            return []  # one part as long as it can be and single digits for the others cannot reach it
        found = []
        if plain:
            options = _digits_at(run, pos, end, left)
        else:
            options = [(cell, cell_value(cell)) for cell in _cells_at(run[:end], pos, signed=False)]
        for cell, value in options:
            if value <= left:
                found += [(cell, *rest) for rest in parts(pos + len(cell), end, count - 1, left - value)]
        return found

    def one_group(pos: int, end: int) -> list[tuple[str, ...]]:
        found = []
        for total_start in range(max(pos + group - 1, end - MAX_NUMBER_CHARS - 2), end):
            total = run[total_start:end]
            if _DASH.fullmatch(total) or _NUMBER.fullmatch(total):
                found += [(*cells, total) for cells in parts(pos, total_start, group - 1, cell_value(total))]
        return found

    def rest(pos: int, remaining: int) -> list[tuple[str, ...]]:
        if remaining == 1:
            return one_group(pos, len(run))
        found = []
        for end in range(pos + group, len(run) - (remaining - 1) * group + 1):
            heads = one_group(pos, end)
            if heads:
                tails = rest(end, remaining - 1)
                found += [(*head, *tail) for head in heads for tail in tails]
        return found

    return rest(0, groups)


def agreed(candidates: Sequence[Sequence[str]]) -> list[str | None]:
    """Per position, the cell every candidate agrees on, else None."""
    if not candidates:
        return []
    return [column[0] if all(c == column[0] for c in column) else None for column in zip(*candidates)]


def distinct(candidates: Sequence[Sequence[str]], index: int) -> list[str]:
    """The different readings of one cell, in first-seen order."""
    return list(dict.fromkeys(c[index] for c in candidates))
