"""The words of the template: how printed labels map to the warehouse's row and column codes.

Labels are compared after normalise_label(), the template's normalise_printed (the one the facts use
too): NFKC (full-width brackets and digits become half-width), no whitespace, no Word bookmarks. Matching is by keywords, not by whole
labels, so typos such as 行政止公开 and wrapped or re-ordered labels still match, and a
numbered sub-row whose words are garbled falls back to its number within its section.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache

from template import (
    ACTIVE_DISCLOSURE,
    AMBIGUOUS,
    DASHES,
    NUMBER_PATTERN,
    REQUESTS,
    REVIEW_LITIGATION,
    normalise_printed,
)

_NUMBER = re.compile(NUMBER_PATTERN)

#: The Unicode blocks where the compatibility characters of Chinese prose live: Latin-1's no-break space,
#: general punctuation, enclosed numbers (①⑴), the ideographic space and CJK symbols, enclosed CJK and
#: the CJK compatibility forms, the small and full-width forms (，（）；：０-９).
_COMPATIBILITY_BLOCKS = ((0x00A0, 0x00FF), (0x2000, 0x206F), (0x2460, 0x24FF), (0x3000, 0x303F), (0x3200, 0x33FF),
                         (0xFE30, 0xFE6F), (0xFF00, 0xFFEF))


@cache
def _changed_by_nfkc() -> re.Pattern[str]:
    """The characters of _COMPATIBILITY_BLOCKS that NFKC changes on their own."""
    changed = "".join(chr(code) for first, last in _COMPATIBILITY_BLOCKS for code in range(first, last + 1)
                      if not unicodedata.is_normalized("NFKC", chr(code)))
    return re.compile(f"[{re.escape(changed)}]")


def compatibility_decomposed(text: str) -> str:
    """The text with each compatibility character of _COMPATIBILITY_BLOCKS replaced by its NFKD: the NFKD of the
    text, and so its NFKC, is unchanged, and the NFKC of what is returned is found by Python's quick check.

    CPython's NFKC of a text that is not already normal costs ~90 ns a character; Chinese prose is normal but
    for a few dozen full-width commas and brackets (，（）；：０-９), so this makes its NFKC eight times faster.
    Characters outside the blocks are left to the normalisation, as before.
    """
    for char in set(_changed_by_nfkc().findall(text)):
        text = text.replace(char, unicodedata.normalize("NFKD", char))
    return text


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), eight times faster on Chinese prose (0.10 -> 0.012 ms a report)."""
    return unicodedata.normalize("NFKC", compatibility_decomposed(text))


@lru_cache(maxsize=8192)
def normalise_label(text: str) -> str:
    """template.normalise_printed, cached: labels and cells repeat across rows and reports. What misses the
    cache is mostly a paragraph (a title, a heading), whose NFKC compatibility_decomposed makes cheap; kept in
    8,192 entries, not 65,536, such lines cost a run 14 MB less for 0.2% fewer hits (BENCHMARKS.md, issue 17)."""
    return normalise_printed(compatibility_decomposed(text))


@lru_cache(maxsize=65536)
def looks_like_value(text: str) -> bool:
    """True for what a number cell may hold: nothing, a number (with a unit), a dash, or a
    reader's mark that glued digits allow several readings.

    Cached: asked of every cell of every row, and cells repeat ('0', '', the same labels).
    """
    compact = normalise_label(text)
    return compact == "" or compact in DASHES or bool(_NUMBER.match(compact)) or compact.startswith(AMBIGUOUS)


# ---- which table a heading or row belongs to -------------------------------------------

_HEADING_NUMBER = re.compile(r"^(?:[一二三四五六七八九十]{1,2}\s*[、.．是]|\d{1,2}[、.．]|\([一二三四五六七八九十]{1,2}\))")


@lru_cache(maxsize=16384)
def table_of_heading(text: str) -> str | None:
    """The table a section heading introduces, '' for a heading that ends the tables.

    Cached: asked of every paragraph, and headings and the template's notes repeat across reports."""
    label = normalise_label(text)
    if len(label) > 40:
        return None
    # A table heading is numbered ('二、') or starts with its words: a line of wrapped prose that
    # mentions 主动公开政府信息 or 复议 and 诉讼 mid-sentence is not one.
    body = _HEADING_NUMBER.sub("", label, count=1)
    numbered = body != label
    if "主动公开政府信息" in label and (numbered or body.startswith("主动公开")):
        return ACTIVE_DISCLOSURE
    if ("收到和处理" in label and (numbered or body.startswith("收到和处理"))) or (
        "申请" in label and "情况" in label and label[:2] in ("三、", "三.")
    ):
        return REQUESTS
    if "复议" in label and "诉讼" in label and (numbered or body.startswith(("政府信息公开行政", "行政复议"))):
        return REVIEW_LITIGATION
    if "存在的主要问题" in label or "其他需要报告" in label or "改进情况" in label:
        return ""
    return None


def table_of_row(labels: Sequence[str]) -> str | None:
    """A row whose labels can only belong to one table switches the locator to it."""
    joined = "".join(labels)
    if "第二十条" in joined or "信息内容" in joined:
        return ACTIVE_DISCLOSURE
    if "申请人情况" in joined or "新收" in joined or "勾稽关系" in joined:
        return REQUESTS
    if "行政复议" in joined or "行政诉讼" in joined or "行政法复议" in joined:
        return REVIEW_LITIGATION
    return None


# ---- table A: 主动公开政府信息情况 ------------------------------------------------------
# The label lookups below are cached: asked of every label cell of every row, and every report prints the
# template's labels, so most are a cache hit (a label is a str; an OCRed ScoredText hashes as its text).

_CHINESE_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_ARTICLE_ITEM = re.compile(r"第二十条第?\(?([一二三四五六七八九十]+)\)?")

# Row label keywords, most specific first.
ACTIVE_ROWS: tuple[tuple[str, str], ...] = (
    ("规范性文件", "normative_documents"),
    ("规章", "regulations"),
    ("其他对外管理服务", "other_management_services"),
    ("行政许可", "administrative_licensing"),
    ("行政处罚", "administrative_penalty"),
    ("行政强制", "administrative_coercion"),
    ("事业性收费", "administrative_fees"),
    ("集中采购", "centralized_procurement"),
)

# Column header keywords -> (column code, the template versions that use it).
ACTIVE_COLUMNS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("制发", "issued", frozenset({"2021"})),
    ("废止", "repealed", frozenset({"2021"})),
    ("现行有效", "in_force", frozenset({"2021"})),
    ("收费金额", "amount_10k_yuan", frozenset({"2021"})),
    ("新制作", "newly_made", frozenset({"2019"})),
    ("新公开", "newly_published", frozenset({"2019"})),
    ("公开总数", "total_published", frozenset({"2019"})),
    ("上一年项目", "previous_year_items", frozenset({"2019"})),
    ("增/减", "change", frozenset({"2019"})),
    ("增减", "change", frozenset({"2019"})),
    ("采购项目", "procurement_items", frozenset({"2019"})),
    ("采购总金额", "procurement_amount", frozenset({"2019"})),
    ("处理决定", "decisions", frozenset({"2019", "2021"})),
)


@lru_cache(maxsize=16384)
def article_item(label: str) -> str | None:
    """'第二十条第（五）项' -> 'art20_5'."""
    match = _ARTICLE_ITEM.search(normalise_label(label))
    if not match:
        return None
    numeral = match.group(1)
    number = _CHINESE_NUMERALS.get(numeral) if len(numeral) == 1 else 10 + _CHINESE_NUMERALS.get(numeral[-1], 0)
    return f"art20_{number}"


@lru_cache(maxsize=16384)
def active_row(label: str) -> str | None:
    compact = normalise_label(label)
    return next((code for keyword, code in ACTIVE_ROWS if keyword in compact), None)


@lru_cache(maxsize=16384)
def active_column(label: str) -> tuple[str, frozenset[str]] | None:
    compact = normalise_label(label)
    return next(((code, versions) for keyword, code, versions in ACTIVE_COLUMNS if keyword in compact), None)


@lru_cache(maxsize=16384)
def unit_in_label(label: str) -> str | None:
    """The money unit a header declares: '本年收费金额（单位：万元）' -> '万元'."""
    compact = normalise_label(label)
    if "万元" in compact:
        return "万元"
    if re.search(r"[(:：单位]元", compact) or compact.endswith("元)"):
        return "元"
    return None


# ---- table B: 收到和处理政府信息公开申请情况 --------------------------------------------

REQUEST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("自然人", "natural_person"),
    ("商业企业", "commercial_enterprise"),
    ("科研机构", "research_institution"),
    ("社会公益组织", "social_welfare_org"),
    ("法律服务机构", "legal_service_agency"),
    ("其他", "other_org"),
    ("总计", "total"),
)
REQUEST_COLUMN_GROUP = "法人或其他组织"

# (section prefix, keyword) of the numbered sub-rows of （三）to（六）, in template order.
REQUEST_SECTIONS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "denied": (
        ("state_secret", ("国家秘密",)),
        ("prohibited_by_law", ("法律行政法规", "禁止公开", "行政止公开")),
        ("security_stability", ("三安全", "一稳定")),
        ("third_party_rights", ("第三方",)),
        ("internal_affairs", ("内部事务",)),
        ("process_information", ("过程性",)),
        ("enforcement_files", ("执法案卷",)),
        ("administrative_query", ("行政查询", "查询事项")),
    ),
    "unable": (
        ("not_held", ("不掌握",)),
        ("needs_creation", ("另行制作", "现成信息")),
        ("unclear_after_correction", ("仍不明确", "补正后")),
    ),
    "not_processed": (
        ("petition_complaint", ("信访", "举报", "投诉")),
        ("duplicate", ("重复申请",)),
        ("publication", ("出版物",)),
        ("excessive", ("大量反复",)),
        ("confirmation", ("确认或重新出具", "重新出具")),
    ),
    "other": (
        ("no_correction", ("逾期不补正", "不补正")),
        ("unpaid_fee", ("缴纳费用", "收费通知")),
        ("other", ()),
    ),
}
_SECTION_MARKERS = (
    ("(三)", "不予公开", "denied"),
    ("(四)", "无法提供", "unable"),
    ("(五)", "不予处理", "not_processed"),
    ("(六)", "其他处理", "other"),
)
_SUB_NUMBER = re.compile(r"^(\d{1,2})[.、,)]")
# Rows outside the numbered sections, by keyword; order matters (予以公开 is inside 不予公开 only as 予公开).
_TOP_LEVEL_ROWS = (
    ("新收", "new_received"),
    ("上年结转", "carried_over"),
    ("结转下年", "carried_forward"),
    ("(七)", "total_handled"),
    ("予以公开", "granted"),
    ("部分公开", "partially_granted"),
)


@lru_cache(maxsize=16384)
def request_column(label: str) -> str | None:
    compact = normalise_label(label)
    return next((code for keyword, code in REQUEST_COLUMNS if compact == keyword), None)


def _section_marker(compact: str) -> tuple[str, str] | None:
    """('denied', '1.属于国家秘密') for '(三)不予公开1.属于国家秘密': the section and what follows it."""
    if _SUB_NUMBER.match(compact):
        return None
    for marker, keyword, section in _SECTION_MARKERS:
        if keyword in compact:
            return section, compact.split(keyword, 1)[1]
        if compact.startswith(marker):
            return section, ""
    return None


def request_row(labels: Sequence[str], section: str | None) -> tuple[str | None, str | None]:
    """(row code, section in force after this row) for the label cells of one row of table B.

    A row may carry its section label ('（三）不予公开') before its sub-row label ('1.属于国家秘密');
    later rows carry only the sub-row label and inherit the section. Returns a None code for
    rows that only open a section.
    """
    return _request_row(tuple(labels), section)


@lru_cache(maxsize=16384)
def _request_row(labels: tuple[str, ...], section: str | None) -> tuple[str | None, str | None]:
    """request_row, cached: every report prints the same labels."""
    compact_labels = [c for c in (normalise_label(label) for label in labels) if c]
    joined = "".join(compact_labels)
    for keyword, code in _TOP_LEVEL_ROWS:
        if keyword in joined:
            return code, None
    if compact_labels and compact_labels[-1] == "总计":
        return "total_handled", None

    sub_label = ""
    for label in compact_labels:
        marker = _section_marker(label)
        if marker:
            section, sub_label = marker
        else:
            sub_label = label
    if section is not None and not sub_label:
        # The section label alone is a row of its own only for the 2019 single （六）其他处理.
        return ("other" if section == "other" else None), section
    # A sub-row's words name its section too: a section label printed after its first sub-rows
    # (centred beside them in a PDF's text) must not leave them in the section before.
    for name in ([section] if section else []) + [s for s in REQUEST_SECTIONS if s != section]:
        for code, keywords in REQUEST_SECTIONS[name]:
            if any(keyword in sub_label for keyword in keywords):
                return f"{name}.{code}", name
    if section is None:
        return None, None
    subrows = REQUEST_SECTIONS[section]
    number = _SUB_NUMBER.match(sub_label)
    if number and 1 <= int(number.group(1)) <= len(subrows):
        return f"{section}.{subrows[int(number.group(1)) - 1][0]}", section
    return None, section


# ---- table C: 政府信息公开行政复议、行政诉讼情况 ------------------------------------------

REVIEW_GROUPS = ("review", "litigation_direct", "litigation_after_review")


@lru_cache(maxsize=16384)
def review_group(label: str) -> str | None:
    compact = normalise_label(label)
    if "未经复议" in compact or "直接起诉" in compact:
        return "litigation_direct"
    if "复议后起诉" in compact:
        return "litigation_after_review"
    if "复议" in compact:
        return "review"
    return None

