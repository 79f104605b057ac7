"""Encoding detection: BOM, then a declared charset that decodes, then UTF-8, then chardet."""

from __future__ import annotations

import random

import pytest

from extractors.decode import decode_bytes
from extractors.errors import EmptyFile, UndecodableFile

TEXT = "繁峙县教育科技局2023年政府信息公开工作年度报告。本年新收政府信息公开申请数量为零。"


def test_utf8_bom_wins_over_everything():
    decoded = decode_bytes("a.html", b"\xef\xbb\xbf<meta charset=gbk>" + TEXT.encode("utf-8"), is_html=True)
    assert (decoded.encoding, decoded.encoding_source) == ("utf-8", "bom")
    assert TEXT in decoded.text


def test_declared_gb2312_is_read_as_gb18030_so_gbk_only_characters_survive():
    page = f"<meta charset=gb2312><p>{TEXT}联系人：王喆</p>".encode("gbk")
    decoded = decode_bytes("a.html", page, is_html=True)
    assert (decoded.encoding, decoded.encoding_source, decoded.declared_encoding) == ("gb18030", "declared", "gb18030")
    assert "王喆" in decoded.text


def test_a_wrong_declaration_is_passed_over():
    page = b'<meta http-equiv="Content-Type" content="text/html; charset=utf-8">' + TEXT.encode("gbk")
    decoded = decode_bytes("a.html", page, is_html=True)
    assert decoded.encoding == "gb18030"
    assert decoded.declared_encoding == "utf-8"
    assert TEXT in decoded.text


def test_undeclared_utf8_text():
    decoded = decode_bytes("a.txt", TEXT.encode("utf-8"), is_html=False)
    assert (decoded.encoding, decoded.encoding_source) == ("utf-8", "utf-8")


def test_undeclared_gbk_text_with_repetitive_content_still_decodes():
    decoded = decode_bytes("a.txt", ("报告" * 200).encode("gbk"), is_html=False)
    assert decoded.encoding == "gb18030"
    assert decoded.text == "报告" * 200


def test_empty_and_whitespace_only_files_are_refused():
    for data in (b"", b"  \n\t "):
        with pytest.raises(EmptyFile, match="empty"):
            decode_bytes("empty.txt", data, is_html=False)


def test_binary_junk_is_refused_not_turned_into_mojibake():
    rng = random.Random(7)
    junk = bytes(rng.getrandbits(8) for _ in range(4096))
    with pytest.raises(UndecodableFile, match="junk.html: ") as error:
        decode_bytes("junk.html", junk, is_html=True)
    assert "cannot decode" in str(error.value) or "binary" in str(error.value)


def test_text_with_control_characters_is_refused():
    with pytest.raises(UndecodableFile, match="binary data"):
        decode_bytes("x.txt", b"PK\x03\x04\x00\x00abc", is_html=False)


def test_a_stray_word_line_break_does_not_make_a_report_binary():
    decoded = decode_bytes("a.txt", (TEXT + "\x0b" + TEXT).encode("utf-8"), is_html=False)
    assert decoded.text == TEXT + "\x0b" + TEXT
