"""Page furniture in text renderings: page numbers and site chrome are dropped, a report's own lines are kept.

A line starting with a digit is furniture only as a page number written with a slash ('3/12'): the other
digit-first lines (Word's export prints most cells as one number a line) are kept without a regex."""

from __future__ import annotations

import pytest

from extractors.text_common import is_furniture, without_furniture


@pytest.mark.parametrize("line", ["3/12", " 12 / 40 ", "- 4 -", "— 12 —", "第3页", "第 3 页 共 12 页", "当前位置：首页",
                                  "微信 微博", "打印本页"])
def test_page_numbers_and_chrome_are_furniture(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", ["0", "12", "447228", "2023", "1.", "2、政府信息公开", "1/2/3", "3/12页码", "2023/12/31",
                                  "第二十条第（五）项", "", "   "])
def test_a_report_s_own_lines_are_not_furniture(line):
    assert not is_furniture(line)


def test_without_furniture_keeps_the_numbers_and_drops_the_page_numbers():
    lines = ["一、总体情况", "0", "5", "3/12", "12", "- 4 -", "第3页", "2023/12/31"]
    assert without_furniture(lines) == ["一、总体情况", "0", "5", "12", "2023/12/31"]


# Every white space a line may start with (str.strip's, less the line breaks str.splitlines cuts at).
_LEADING_SPACES = [chr(code) for code in range(0x110000)
                   if chr(code).isspace() and chr(code) not in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"]


@pytest.mark.parametrize("line", ["3/12", "- 4 -", "第3页", "当前位置：首页", "微信 微博", "打印本页"])
def test_furniture_after_any_leading_white_space_is_dropped(line):
    """without_furniture judges only the lines one search of the text finds: it must find every one is_furniture drops."""
    lines = [space + line for space in _LEADING_SPACES]
    assert all(is_furniture(candidate) for candidate in lines)
    assert without_furniture(["一、总体情况", *lines, "0"]) == ["一、总体情况", "0"]


def test_lines_that_start_like_furniture_but_are_not_are_kept():
    lines = ["\t第二十条第(一)项", "\t—", "12/", "1/2/3", "第二十条", "- 1", "文字"]
    assert without_furniture(lines) == lines


def test_a_page_number_split_over_two_lines_is_dropped_and_a_short_dash_cell_is_kept():
    assert without_furniture(["收到申请", "-", "4 -", "0"]) == ["收到申请", "0"]
    assert without_furniture(["收到申请", "\t—", "\t0"]) == ["收到申请", "\t—", "\t0"]
