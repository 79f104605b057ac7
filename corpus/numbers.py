"""The numbers of one synthetic report: realistic, consistent, and broken only on purpose.

Most agencies receive few or no requests and make few decisions, a handful receive
thousands: counts are zero-inflated and heavy-tailed. Table B is built column by column
so that every rule of the template holds (一 + 二 = （七）+ 四, 总计 = the six applicant
columns, （七）= its parts); table C's totals are the sums of their results. A break
then changes exactly one thing and names the check it must trip.

Money cells hold fen (0.01 元), so that every printed form (万元 with decimals, 元
glued to an integer) is exact. None marks a cell printed blank on purpose.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from template import ACTIVE_DISCLOSURE, REQUESTS, REVIEW_LITIGATION, columns_for, rows_for

Key = tuple[str, str, str]
Values = dict[Key, int | None]

APPLICANT_COLUMNS = columns_for("2021", REQUESTS)[:-1]
TOTAL = "total"
#: How applicants split: natural persons dominate, research institutions are rare.
_APPLICANT_WEIGHTS = (8.0, 1.5, 0.05, 0.1, 0.2, 0.4)
_HANDLED_PREFIXES = ("denied.", "unable.", "not_processed.", "other")
#: (base weight, chance the outcome occurs at all in a report) of each handled row.
_OUTCOMES = {
    "granted": (5.0, 0.9),
    "partially_granted": (1.0, 0.35),
    "unable.not_held": (2.0, 0.5),
    "unable.needs_creation": (0.6, 0.2),
    "not_processed.petition_complaint": (0.6, 0.15),
    "not_processed.duplicate": (0.4, 0.12),
    "other": (0.4, 0.12),
    "other.other": (0.4, 0.12),
}
_RARE_OUTCOME = (0.3, 0.06)
REVIEW_RESULTS = columns_for("2021", REVIEW_LITIGATION)[:-1]


@dataclass(frozen=True)
class Break:
    """One check a report breaks on purpose: what was done and the (rule, scope) that must fail."""

    kind: str
    rule: str
    scope: str


def split(total: int, weights: list[float]) -> list[int]:
    """Integers summing to total in proportion to weights (largest remainder)."""
    weight_sum = sum(weights)
    if total == 0 or weight_sum == 0:
        return [0] * len(weights)
    exact = [total * w / weight_sum for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: parts[i] - exact[i])
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def heavy_count(rng: random.Random, p_zero: float, median: float, spread: float = 1.3, cap: int = 200_000) -> int:
    """Zero with probability p_zero, otherwise log-normal around median (at least 1)."""
    if rng.random() < p_zero:
        return 0
    return min(cap, max(1, int(math.exp(rng.gauss(math.log(median), spread)))))


def _request_volume(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.35:
        return 0
    if roll < 0.80:
        return rng.randint(1, 20)
    if roll < 0.95:
        return rng.randint(21, 200)
    if roll < 0.99:
        return rng.randint(201, 2000)
    return rng.randint(2001, 30000)


def _by_applicant(rng: random.Random, total: int) -> list[int]:
    return split(total, [w * rng.expovariate(1.0) for w in _APPLICANT_WEIGHTS])


def requests_values(rng: random.Random, version: str) -> Values:
    rows = rows_for(version, REQUESTS)
    handled_rows = [r for r in rows if r in ("granted", "partially_granted") or r.startswith(_HANDLED_PREFIXES)]
    new = _by_applicant(rng, _request_volume(rng))
    carried = _by_applicant(rng, 0 if rng.random() < 0.6 else rng.randint(1, sum(new) // 8 + 2))
    forward_share = 0.0 if rng.random() < 0.7 else rng.uniform(0.02, 0.2)
    occurring = [r for r in handled_rows if rng.random() < _OUTCOMES.get(r, _RARE_OUTCOME)[1]] or ["granted"]

    by_row: dict[str, list[int]] = {r: [0] * len(APPLICANT_COLUMNS) for r in rows}
    for c in range(len(APPLICANT_COLUMNS)):
        available = new[c] + carried[c]
        forward = int(available * forward_share)
        weights = [_OUTCOMES.get(r, _RARE_OUTCOME)[0] * rng.expovariate(1.0) for r in occurring]
        for row, n in zip(occurring, split(available - forward, weights)):
            by_row[row][c] = n
        by_row["new_received"][c], by_row["carried_over"][c] = new[c], carried[c]
        by_row["carried_forward"][c] = forward
        by_row["total_handled"][c] = available - forward
    values: Values = {}
    for row, parts in by_row.items():
        for col, n in zip(APPLICANT_COLUMNS, parts):
            values[(REQUESTS, row, col)] = n
        values[(REQUESTS, row, TOTAL)] = sum(parts)
    return values


def review_values(rng: random.Random) -> Values:
    values: Values = {}
    for group, p_any in (("review", 0.15), ("litigation_direct", 0.08), ("litigation_after_review", 0.05)):
        parts = [rng.choice((0, 0, 1, 1, 2, 3)) for _ in REVIEW_RESULTS] if rng.random() < p_any else [0] * 4
        for col, n in zip(REVIEW_RESULTS, parts):
            values[(REVIEW_LITIGATION, group, col)] = n
        values[(REVIEW_LITIGATION, group, TOTAL)] = sum(parts)
    return values


def _money_fen(rng: random.Random, p_zero: float, median_yuan: float) -> int:
    fen = heavy_count(rng, p_zero, median_yuan * 100, spread=1.8, cap=10**12)
    # Most amounts are whole yuan; some carry jiao and fen (the long decimals of 万元).
    return fen if rng.random() < 0.3 else fen - fen % 100


def active_values(rng: random.Random, version: str) -> Values:
    a = ACTIVE_DISCLOSURE
    makes_regulations = rng.random() < 0.06
    if version == "2021":
        values: Values = {
            (a, "regulations", "issued"): rng.randint(0, 3) if makes_regulations else 0,
            (a, "regulations", "repealed"): rng.randint(0, 2) if makes_regulations else 0,
            (a, "regulations", "in_force"): rng.randint(1, 30) if makes_regulations else 0,
            (a, "normative_documents", "issued"): heavy_count(rng, 0.55, 3),
            (a, "normative_documents", "repealed"): heavy_count(rng, 0.7, 2),
            (a, "normative_documents", "in_force"): heavy_count(rng, 0.3, 15),
            (a, "administrative_licensing", "decisions"): heavy_count(rng, 0.45, 120, spread=1.8),
            (a, "administrative_penalty", "decisions"): heavy_count(rng, 0.45, 30, spread=1.6),
            (a, "administrative_coercion", "decisions"): heavy_count(rng, 0.75, 5),
            (a, "administrative_fees", "amount_10k_yuan"): _money_fen(rng, 0.8, 20_000),
        }
        return values
    values = {
        (a, "regulations", "newly_made"): rng.randint(0, 3) if makes_regulations else 0,
        (a, "regulations", "newly_published"): rng.randint(0, 3) if makes_regulations else 0,
        (a, "regulations", "total_published"): rng.randint(1, 30) if makes_regulations else 0,
        (a, "normative_documents", "newly_made"): heavy_count(rng, 0.55, 3),
        (a, "normative_documents", "newly_published"): heavy_count(rng, 0.55, 3),
        (a, "normative_documents", "total_published"): heavy_count(rng, 0.3, 15),
    }
    for row, p_zero, median in (
        ("administrative_licensing", 0.45, 120),
        ("other_management_services", 0.6, 20),
        ("administrative_penalty", 0.45, 30),
        ("administrative_coercion", 0.75, 5),
    ):
        values[(a, row, "previous_year_items")] = heavy_count(rng, 0.4, 12)
        values[(a, row, "change")] = 0 if rng.random() < 0.6 else rng.randint(-5, 6) or 1
        values[(a, row, "decisions")] = heavy_count(rng, p_zero, median, spread=1.8)
    values[(a, "administrative_fees", "previous_year_items")] = heavy_count(rng, 0.6, 2)
    values[(a, "administrative_fees", "change")] = 0 if rng.random() < 0.8 else rng.randint(-2, 2) or -1
    values[(a, "centralized_procurement", "procurement_items")] = heavy_count(rng, 0.6, 6)
    values[(a, "centralized_procurement", "procurement_amount")] = _money_fen(rng, 0.6, 300_000)
    return values


# ---- breaks ----------------------------------------------------------------------------

BREAK_KINDS = ("row_total", "zero_total", "blank_total", "balance", "handled_total", "review_total")


def inject_break(rng: random.Random, values: Values, kind: str) -> Break:
    """Change the values so that exactly the named check fails (others may fail with it)."""
    r = REQUESTS
    delta = rng.randint(1, 3)
    rows = sorted({row for table, row, _ in values if table == r})
    if kind in ("zero_total", "blank_total"):
        filled = [row for row in rows if values[(r, row, TOTAL)]]
        if not filled:
            return inject_break(rng, values, "row_total")
        row = rng.choice(filled)
        values[(r, row, TOTAL)] = 0 if kind == "zero_total" else None
        return Break(kind, "requests_row_total", row)
    if kind == "row_total":
        row = rng.choice(rows)
        total = values[(r, row, TOTAL)] or 0
        _add(values, (r, row, TOTAL), delta if total < delta or rng.random() < 0.5 else -delta)
        return Break(kind, "requests_row_total", row)
    if kind == "balance":
        col = rng.choice(APPLICANT_COLUMNS)
        _add(values, (r, "carried_forward", col), delta)
        _add(values, (r, "carried_forward", TOTAL), delta)
        return Break(kind, "requests_balance", col)
    if kind == "handled_total":
        col = rng.choice(APPLICANT_COLUMNS)
        _add(values, (r, "granted", col), delta)
        _add(values, (r, "granted", TOTAL), delta)
        return Break(kind, "requests_handled_total", col)
    group = rng.choice(("review", "litigation_direct", "litigation_after_review"))
    _add(values, (REVIEW_LITIGATION, group, TOTAL), delta)
    return Break(kind, "review_litigation_total", group)


def _add(values: Values, key: Key, delta: int) -> None:
    """Shift a printed count; the cells a break shifts are always printed (never blank)."""
    value = values[key]
    assert value is not None, f"a break shifts a blank cell {key}"
    values[key] = value + delta
