"""One identity per agency across years and ways of writing its name, and where it is.

`洪泽区人民政府（淮安市）` (2023) and `淮安市洪泽区人民政府` (2024) are one agency: the name is normalised
(full-width to half-width, spaces and brackets out, Traditional characters to Simplified), the regions it
names are resolved to one GB/T 2260 code (transforms/regions.py), and the agency is that code plus what
is left of the name (人民政府). agency_id is a hash of that key, so it is the same in every batch and on
every Dask worker without a lookup.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cache, lru_cache

import opencc
import polars as pl

from transforms.regions import (
    PLACED_NAMES,
    Placement,
    ancestors,
    place_by_name,
    region_names_in,
    settle_from_text,
)

#: Columns the placement adds to the reports frame.
PLACE_SCHEMA = {
    "agency_id": pl.String,
    "agency_key": pl.String,
    "agency_kind": pl.String,
    "admin_level": pl.String,
    "adcode": pl.String,
    "province": pl.String,
    "city": pl.String,
    "county": pl.String,
    "township": pl.String,
    "region_method": pl.String,
    "region_reason": pl.String,
}
_DROPPED = re.compile(r"[\s\u3000·•\"'“”‘’《》<>]")
_BRACKETS = re.compile(r"[()\[\]{}【】〔〕]")
_TOWNSHIP = re.compile(r"^(?P<township>[\u4e00-\u9fff]{1,10}?(?:镇|乡|街道|苏木))(?=人民政府|政府|办事处|党委|便民服务中心)")
#: The kind of agency, from the end of the name: the first that matches wins.
_KINDS = (
    ("办公厅(室)", re.compile(r"办公厅$|办公室$")),
    ("人民政府", re.compile(r"人民政府$|政府$")),
    ("办事处", re.compile(r"办事处$")),
    ("委", re.compile(r"委员会$|委$")),
    ("局", re.compile(r"局$")),
    ("厅", re.compile(r"厅$")),
    ("中心", re.compile(r"中心$")),
)


@cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise_agency(name: str) -> str:
    """Width, spaces, quotes and bracket shapes made uniform, Traditional characters made Simplified."""
    text = unicodedata.normalize("NFKC", name)
    return _to_simplified().convert(_DROPPED.sub("", text))


def agency_kind(rest: str) -> str:
    for kind, pattern in _KINDS:
        if pattern.search(rest):
            return kind
    return "其他"


@lru_cache(maxsize=PLACED_NAMES)
def _place(name: str, declared: str | None) -> tuple[str, Placement, str | None]:
    """(the name without its regions and brackets, the placement by name, the township it names)."""
    normal = normalise_agency(name)
    placement = place_by_name(normal, declared)
    rest = normal
    for region_name in sorted(set(region_names_in(normal)), key=len, reverse=True):
        rest = rest.replace(region_name, "")
    rest = _BRACKETS.sub("", rest)
    township = _TOWNSHIP.match(rest)
    return rest, placement, township.group("township") if township else None


def place_agency(name: str | None, declared: str | None, text: str) -> dict[str, str | None]:
    """The placement columns of one report: its agency's id, kind, level and region."""
    if not name:
        return dict.fromkeys(PLACE_SCHEMA) | {"region_reason": "no_agency: the report's title names no agency"}
    rest, placement, township = _place(name, declared)
    placement = settle_from_text(placement, text)
    region = placement.region
    if region is not None:
        rest = rest.removeprefix(township) if township else rest
        key = f"{region.adcode}|{township or ''}|{rest}"
    else:
        key = f"?|{_BRACKETS.sub('', normalise_agency(name))}"
    chain = {r.level: r.name for r in ancestors(region)} | {region.level: region.name} if region else {}
    return {
        "agency_id": hashlib.sha256(key.encode("utf-8")).hexdigest()[:16],
        "agency_key": key,
        "agency_kind": agency_kind(rest),
        "admin_level": ("township" if township else region.level) if region else None,
        "adcode": region.adcode if region else None,
        "province": chain.get("province"),
        "city": chain.get("city"),
        "county": chain.get("county"),
        "township": township if region else None,
        "region_method": placement.method,
        "region_reason": placement.reason,
    }


def place_reports(reports: pl.DataFrame, narratives: pl.DataFrame, declared: pl.DataFrame) -> pl.DataFrame:
    """The reports frame with PLACE_SCHEMA's columns.

    narratives: report_id, text (the report's prose); declared: source_path, source, region (the sources
    file's entry of each file). The work is a dictionary lookup per distinct (name, declared region),
    cached; only the few ambiguous names read their report's text.
    """
    frame = (
        reports.join(declared, on="source_path", how="left")
        .join(narratives, on="report_id", how="left")
    )
    placed = pl.DataFrame(
        [place_agency(name, region, text or "")
         for name, region, text in frame.select("agency", "region", "text").iter_rows()],
        schema=PLACE_SCHEMA,
    )
    return pl.concat([frame.drop("region", "text"), placed], how="horizontal")
