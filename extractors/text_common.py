"""What every text layout reader needs: page furniture to drop, label starts, table A's header words.

Renderings made by other tools carry page numbers ('- 4 -', '第4页') and site or viewer chrome
(当前位置, 微信 微博, 全真版 文字版, 打印本页) inside the flow; they are not part of the report.
Header cells of table A that a renderer split or glued are put back as one label per column,
so that the locator still tells the template version by its column words.
"""

from __future__ import annotations

import re

from extractors.labels import ACTIVE_COLUMNS, looks_like_value, normalise_label

_PAGE_NUMBER = re.compile(r"^(?:[-—－–]\s*\d{1,4}\s*[-—－–]|第\s*\d{1,4}\s*页(?:\s*[/,，]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4})$")
_CHROME = re.compile(
    r"^(?:当前位置|您当前的位置|您的位置|首页\s*[>＞»]|【?打印本页|【?关闭窗口|分享到|扫一扫|"
    r"字号[:：]|来源[:：].{0,30}发布时间|浏览次数|(?:微信|微博|QQ空间|全真版|文字版|视力保护色|\s)+$)"
)
#: What starts a row label: '第二十条', '（三）', '(3)', '1.', '2、', '一、'.
LABEL_START = re.compile(r"^(?:第[一二三四五六七八九十\d]+条|\([一二三四五六七八九十\d]{1,3}\)|\d{1,2}[.、,)．]|[一二三四五六七八九十]{1,2}[、.．])")
#: A numbered sub-row label or a numbered top-level row: its text may wrap onto the next line.
NUMBERED = re.compile(r"^(?:\d{1,2}[.、．]|\([一二三四五六七八九十]\)|[一二三四五六七八九十][、.．])")


#: The characters a line of furniture can start with (after strip): most lines are ruled out by their first.
_FURNITURE_FIRST = frozenset("-—－–第当您首【打关分字来浏微Q全文视扫")
#: A line starting with one of these is furniture only as a page number '3/12': without a '/', it is not (the
#: cells of Word's export, one number a line, are a third of a report's lines).
_DIGITS = frozenset("0123456789")


def is_furniture(line: str) -> bool:
    """A page number or a line of site/viewer chrome."""
    compact = line.strip()
    if not compact:
        return False
    first = compact[0]
    if first in _DIGITS:
        return "/" in compact and bool(_PAGE_NUMBER.match(compact))
    return first in _FURNITURE_FIRST and bool(_PAGE_NUMBER.match(compact) or _CHROME.match(compact))


#: A line that may be furniture, after a '\n': its first character after white space is one furniture starts
#: with, or a digit with a '/' after it ('3/12'). One search of the text finds the few lines is_furniture must
#: judge, instead of a call per line (the '\n' in front lets the search skip from line to line).
_MAYBE_FURNITURE = re.compile(
    rf"\n([^\S\n]*(?:[{re.escape(''.join(sorted(_FURNITURE_FIRST)))}]|[0-9][^\n]*/)[^\n]*)"
)


def without_furniture(lines: list[str]) -> list[str]:
    """The lines that are not page furniture, also a page number a page's <span>s split over two lines ('-' / '4 -').

    `lines` are a text's str.splitlines(): a line holds no line break."""
    joined = "\n".join(lines)
    candidates = _MAYBE_FURNITURE.findall("\n" + joined)
    furniture = {line for line in candidates if is_furniture(line)}
    if furniture:
        kept = [line for line in lines if line not in furniture]
        joined = "\n".join(kept)
    else:
        kept = list(lines)
    # The first line of a split page number is a candidate of at most four characters: without one, no search.
    if not any(len(line.strip()) <= 4 for line in candidates) or not _SPLIT_PAGE_NUMBER.search(joined):
        return kept  # the common case
    split = [
        i for i, line in enumerate(kept[:-1])
        if len(line) <= 6 and line.lstrip()[:1] in _PAGE_NUMBER_STARTS and _split_page_number(line, kept[i + 1])
    ]
    if not split:
        return kept
    dropped = set(split) | {i + 1 for i in split}
    return [line for i, line in enumerate(kept) if i not in dropped]


_PAGE_NUMBER_STARTS = frozenset("-—－–第")
#: A short line starting as a page number does, then a line going on as one does: a candidate split.
_SPLIT_PAGE_NUMBER = re.compile(r"^[ \t]*[-—－–第][^\n]{0,3}\n[ \t]*(?:\d{1,4}[ \t]*[-—－–页]|页)", re.MULTILINE)


def _split_page_number(line: str, after: str) -> bool:
    first, second = line.strip(), after.strip()
    return 0 < len(first) <= 4 and bool(second) and not looks_like_value(second) and bool(_PAGE_NUMBER.match(f"{first} {second}"))


def starts_label(text: str) -> bool:
    return bool(LABEL_START.match(normalise_label(text)))


def split_active_header(labels: list[str]) -> list[str]:
    """Table A's column headers, one label per column, however the renderer split or glued them:
    ['信息内容', '本年新', '制作数量', …] -> ['信息内容', '本年新制作数量', …]. Labels that name no
    column are kept in front."""
    joined = "".join(normalise_label(label) for label in labels)
    starts = sorted({joined.find(keyword) for keyword, _, _ in ACTIVE_COLUMNS if keyword in joined})
    if not starts:
        return labels
    # A keyword inside an earlier one ('采购项目' … '采购总金额' are separate; '处理决定' sits inside
    # '本年处理决定数量'): back each start up to the label's beginning, the end of the previous column.
    heads = [joined[: starts[0]]] if starts[0] > 0 else []
    columns = [joined[a:b] for a, b in zip(starts, starts[1:] + [len(joined)])]
    return _with_prefixes(heads + columns)


def _with_prefixes(columns: list[str]) -> list[str]:
    """'本年' glued before the next keyword belongs to it: ['本年制发件数本年', '废止件数'] -> ['本年制发件数', '本年废止件数']."""
    fixed = list(columns)
    for i in range(len(fixed) - 1):
        for prefix in ("本年新", "本年", "上一年", "对外"):
            if fixed[i].endswith(prefix) and len(fixed[i]) > len(prefix):
                fixed[i], fixed[i + 1] = fixed[i][: -len(prefix)], prefix + fixed[i + 1]
                break
    return fixed
