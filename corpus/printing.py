"""How a number is printed, and what a correct reader must make of it.

Each report has one habit (zeros as '0', blank or '—'; full-width digits; thousands
separators; money in 万元 or as 元 glued to the digits) plus a little per-cell noise
(stray spaces, the odd blank zero). The truth is derived from what was printed, never
from the intent: a zero printed '—' is a dash with no value, exactly as DOMAIN.md asks
the warehouse to keep it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from template import MONEY_COLUMNS

_FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
ZERO_FORMS = ("0", "", "—", "/", "无", "-", "——")
_ZERO_FORM_WEIGHTS = (80, 8, 6, 2, 2, 1, 1)
_COUNT_UNIT_COLUMNS = frozenset({"issued", "repealed", "in_force", "newly_made", "newly_published", "total_published"})


@dataclass(frozen=True)
class Printed:
    """A cell as printed and as the warehouse must read it."""

    text: str
    kind: str  # number / blank / dash
    value: float | None


@dataclass(frozen=True)
class NumberStyle:
    zero: str
    #: Share of zeros printed blank or '—' whatever the habit: reports are not consistent.
    odd_zeros: float
    full_width: float
    stray_spaces: float
    thousands: bool
    count_units: bool
    money: str  # wan / wan_glued / yuan_glued


def number_style(rng: random.Random) -> NumberStyle:
    return NumberStyle(
        zero=rng.choices(ZERO_FORMS, _ZERO_FORM_WEIGHTS)[0],
        odd_zeros=0.05 if rng.random() < 0.2 else 0.0,
        full_width=rng.choice((0.0, 0.0, 0.0, 0.0, 0.1, 1.0)),
        stray_spaces=0.3 if rng.random() < 0.25 else 0.0,
        thousands=rng.random() < 0.3,
        count_units=rng.random() < 0.05,
        money=rng.choices(("wan", "wan_glued", "yuan_glued"), (70, 10, 20))[0],
    )


def without_blanks(style: NumberStyle, glued: bool) -> NumberStyle:
    """The style for a layout that prints a blank cell as nothing at all (glued, one cell per line,
    space-aligned), where a blank would shift the cells after it: zeros printed as '0' or a dash.
    Glued text also has no '件' after counts (the reader's runs are digits, dashes and 元)."""
    zero = style.zero if style.zero in ("0", "—", "无") else "0"
    return replace(style, zero=zero, odd_zeros=0.0, count_units=style.count_units and not glued)


def _wan_text(fen: int) -> str:
    """Fen as 万元 in plain decimals: 3567800 -> '3.5678'."""
    sign, fen = ("-" if fen < 0 else ""), abs(fen)
    whole, fraction = divmod(fen, 1_000_000)
    digits = f"{fraction:06d}".rstrip("0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def _yuan_text(fen: int) -> str:
    whole, cents = divmod(fen, 100)
    return f"{whole}.{cents:02d}" if cents else str(whole)


def _kind_of_zero(text: str) -> str:
    return "number" if text == "0" else "blank" if text == "" else "dash"


BLANK = Printed("", "blank", None)
#: Most cells are zeros printed the report's way: one shared Printed each.
_PLAIN_ZEROS = {text: Printed(text, _kind_of_zero(text), 0.0 if text == "0" else None) for text in ZERO_FORMS}


def print_value(rng: random.Random, style: NumberStyle, col_code: str, value: int | None) -> Printed:
    """The printed text of one cell (money in fen), and its truth."""
    if value is None:
        return BLANK
    if value == 0:
        if not (style.odd_zeros or style.full_width or style.stray_spaces):
            return _PLAIN_ZEROS[style.zero]
        text = style.zero
        if style.odd_zeros and rng.random() < style.odd_zeros:
            text = rng.choice(("", "—"))
        kind = _kind_of_zero(text)
        if kind == "number" and style.full_width and rng.random() < style.full_width:
            text = "０"
        return Printed(_spaced(rng, style, text), kind, 0.0 if kind == "number" else None)
    if col_code in MONEY_COLUMNS:
        wan = _wan_text(value)
        text = {"wan": wan, "wan_glued": wan + "万元", "yuan_glued": _yuan_text(value) + "元"}[style.money]
        truth = float(wan)
    else:
        text = f"{value:,}" if style.thousands and abs(value) >= 1000 else str(value)
        if style.count_units and col_code in _COUNT_UNIT_COLUMNS:
            text += "件"
        truth = float(value)
    if style.full_width and rng.random() < style.full_width:
        text = text.translate(_FULL_WIDTH)
    return Printed(_spaced(rng, style, text), "number", truth)


def _spaced(rng: random.Random, style: NumberStyle, text: str) -> str:
    """' 0' and '0 ' as seeds 000 and 001 print them."""
    if text and style.stray_spaces and rng.random() < style.stray_spaces:
        return " " + text if rng.random() < 0.5 else text + " "
    return text
