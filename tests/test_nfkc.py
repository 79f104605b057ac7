"""The NFKC of labels and narratives (extractors.labels.nfkc) is unicodedata's, character for character, also where a
compatibility character meets a combining mark or lies outside the blocks it replaces first; and the cached
label normalisation that uses it is the template's normalise_printed."""

from __future__ import annotations

import unicodedata

import pytest

from extractors.labels import _COMPATIBILITY_BLOCKS, nfkc, normalise_label
from template import normalise_printed

EVERY_BLOCK_CHARACTER = "".join(chr(code) for first, last in _COMPATIBILITY_BLOCKS for code in range(first, last + 1))


@pytest.mark.parametrize("text", [
    "本年度共收到政府信息公开申请１２件，其中：自然人（８件）；法人２件。",
    EVERY_BLOCK_CHARACTER,
    "，".join(EVERY_BLOCK_CHARACTER),
    "Ａ\u0301 ，\u0301 ｶﾞ ﾊﾟ ㈠ ① ⑴ \u3000 \u00a0",  # a combining mark after a full-width or half-width form
    "ﬁ ﹏ 𝐀 \ufb01\u0301 e\u0301 \u1100\u1161\u11a8",  # outside the blocks: ligatures, math letters, jamo
    "",
])
def test_nfkc_is_unicodedata_s(text):
    assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_full_width_digits_and_punctuation_become_half_width():
    assert nfkc("收到申请１２件（含结转３件）：") == "收到申请12件(含结转3件):"


@pytest.mark.parametrize("text", [
    "一、总体情况", "（七）总计", "第二十条第（五）项", "［bookmark：_Toc1］ 四、结转下年度继续办理", "447228", "１２ 件",
    "\u3000收到和处理政府信息公开申请情况", "行政复议\u00a0(件)", EVERY_BLOCK_CHARACTER,
])
def test_normalise_label_is_the_template_s_normalise_printed(text):
    normalise_label.cache_clear()
    assert normalise_label(text) == normalise_printed(text)
