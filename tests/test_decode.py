"""Encoding detection: BOM, then a declared charset that decodes, then UTF-8, then chardet."""

from __future__ import annotations

import random

import pytest

from extractors.decode import decode_bytes
from extractors.errors import EmptyFile, TruncatedFile, UndecodableFile

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


def test_undeclared_gbk_report_is_told_by_the_template_words_without_chardet(monkeypatch):
    import extractors.decode

    def no_chardet(*args, **kwargs):
        raise AssertionError("chardet asked about a GBK report that prints 信息公开")

    monkeypatch.setattr(extractors.decode.chardet, "detect", no_chardet)
    decoded = decode_bytes("a.txt", TEXT.encode("gbk"), is_html=False)
    assert (decoded.encoding, decoded.encoding_source, decoded.text) == ("gb18030", "detected", TEXT)


def test_undeclared_big5_report_is_still_left_to_chardet():
    big5 = "繁峙縣教育科技局2023年政府資訊公開工作年度報告。本年新收政府資訊公開申請數量為零，依申請公開辦理完畢。" * 3
    decoded = decode_bytes("a.txt", big5.encode("big5"), is_html=False)
    assert (decoded.encoding, decoded.encoding_source, decoded.text) == ("big5", "detected", big5)


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


@pytest.mark.parametrize("cut", [1, 2])
@pytest.mark.parametrize(("prefix", "is_html", "http_charset"), [
    (b"", False, None),
    (b"<meta charset=utf-8>", True, None),
    (b"\xef\xbb\xbf", False, None),  # a BOM
    (b"<meta charset=gbk>", True, "gbk"),  # declarations are wrong about the bytes as well
])
def test_utf8_cut_off_in_a_character_is_refused_as_truncated_saying_so(cut, prefix, is_html, http_charset):
    data = prefix + (TEXT + "联系电话").encode("utf-8")[:-cut]
    with pytest.raises(TruncatedFile) as error:
        decode_bytes("cut.html", data, is_html=is_html, http_charset=http_charset)
    assert error.value.reason == "truncated_file"
    assert str(error.value) == (
        f"cut.html: the file ends in the middle of a UTF-8 character (its last {3 - cut} bytes, "
        f"{'e8 af' if cut == 1 else 'e8'}, begin one that is not finished): it was cut off, by an interrupted "
        "download or copy. The text before the cut ends with '本年新收政府信息公开申请数量为零。联系电'. Download or copy the file again."
    )


def test_gbk_text_and_utf8_ending_in_a_whole_character_are_not_taken_as_truncated():
    assert decode_bytes("a.txt", TEXT.encode("gbk"), is_html=False).text == TEXT
    assert decode_bytes("a.txt", TEXT.encode("utf-8"), is_html=False).text == TEXT
    # ASCII before the cut is no evidence of UTF-8: the lone lead byte may begin a GBK character
    with pytest.raises(UndecodableFile, match="cannot decode"):
        decode_bytes("a.txt", b"report 2023 \xe8", is_html=False)
