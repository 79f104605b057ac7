"""Bytes to text, trying what the file says about itself before guessing.

Order: byte-order mark, then the charset the HTTP header declared and then the one the file
declares (a meta tag), each only if it actually decodes, then UTF-8, then detection: GB18030 when the
bytes read in it as the template's own words (信息公开, which every report prints), else chardet. Bytes
that are valid UTF-8 (and not plain ASCII) are read as UTF-8 whatever is declared: GB18030
decodes almost any bytes, so a wrong GBK declaration would otherwise win with mojibake.
GB2312 and GBK are decoded as GB18030, their superset: pages declared GB2312 routinely
contain GBK-only characters. Only encodings that can hold Chinese are accepted,
so a binary file is refused instead of becoming mojibake. UTF-8 text cut off part way through a
character is refused as truncated rather than read: its end is missing (the last tables of a report
with it, silently), nothing downstream could record that, and a short one may pass as GB18030 mojibake.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass

import chardet
from bs4.dammit import EncodingDetector

from extractors.errors import EmptyFile, TruncatedFile, UndecodableFile

# chardet reads this much; the whole text is then decoded strictly with its answer.
DETECTION_SAMPLE_BYTES = 64 * 1024
CHINESE_CAPABLE = frozenset({"utf-8", "gb18030", "big5", "big5hkscs", "utf-16", "utf-32", "hz"})
#: What chardet is asked to choose from: only an encoding that can hold Chinese is ever used, and
#: weighing its ~80 others costs 10x the time (8 ms for a 5 KB GBK text) and on markup-heavy
#: pages often answers a Western code page, so that the GB18030 fallback was taken anyway.
DETECTION_CANDIDATES = ("utf-8", "utf-16", "utf-32", "gb18030", "big5", "big5hkscs", "hz-gb-2312")
#: Encodings in which a byte below 0x20 is always that control character, never part of another
#: character: their control characters are counted on the bytes, 10x faster than on the text.
_ASCII_COMPATIBLE = frozenset({"utf-8", "gb18030", "big5", "big5hkscs", "hz"})
_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030", "x-gbk": "gb18030"}
# NUL, or many other control characters, mark binary data; Word exports keep the odd \x0b or \x07.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if not _CONTROL.match(chr(b)))
_MAX_CONTROL_SHARE = 0.01
#: Words every report prints (its title, its tables' titles), as GB18030 bytes: bytes that hold them decode
#: strictly as GB18030 to the report's own words, a surer detection than chardet's, at a hundredth of its
#: cost (chardet took 0.4 of the 1.5 ms a GBK text report cost to read). Big5 and UTF-8 bytes never spell them.
_TEMPLATE_WORDS_GB18030 = "信息公开".encode("gb18030")


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    #: How the encoding was chosen: bom, http-header, declared, utf-8, detected (chardet) or fallback.
    encoding_source: str
    #: The charset the file declared, when it declared one (it may be wrong).
    declared_encoding: str | None


def canonical_encoding(name: str) -> str | None:
    """Python's codec name for an encoding label, with GB2312/GBK widened to GB18030."""
    try:
        codec_name = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    return _ALIASES.get(codec_name, codec_name)


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _candidates(
    body: bytes, bom_encoding: str | None, http_charset: str | None, declared: str | None
) -> Iterator[tuple[str, str]]:
    """(encoding, how it was chosen) in order of trust; chardet runs only when the cheaper ones fail."""
    if bom_encoding:
        yield canonical_encoding(bom_encoding) or bom_encoding, "bom"
        return
    if (http_charset or declared) not in (None, "utf-8") and not body.isascii() and _strict(body, "utf-8") is not None:
        yield "utf-8", "utf-8"
        return
    if http_charset in CHINESE_CAPABLE:
        yield http_charset, "http-header"
    if declared in CHINESE_CAPABLE and declared != http_charset:
        yield declared, "declared"
    yield "utf-8", "utf-8"
    if _TEMPLATE_WORDS_GB18030 in body[:DETECTION_SAMPLE_BYTES]:
        yield "gb18030", "detected"
    guess = chardet.detect(body[:DETECTION_SAMPLE_BYTES], include_encodings=DETECTION_CANDIDATES).get("encoding")
    detected = canonical_encoding(guess) if guess else None
    if detected in CHINESE_CAPABLE and detected != "utf-8":
        yield detected, "detected"
    if detected != "gb18030":
        # chardet is unsure on short or repetitive GBK text; GB18030 is the likeliest then.
        yield "gb18030", "fallback"


def _utf8_cut_off(path: str, body: bytes) -> TruncatedFile | None:
    """The error for UTF-8 text with Chinese in it whose last bytes begin a character that never ends."""
    if not body or body[-1] < 0x80:
        return None
    try:
        text, consumed = codecs.utf_8_decode(body, "strict", False)
    except UnicodeDecodeError:
        return None
    if consumed == len(body) or text.isascii():
        return None
    tail = body[consumed:]
    end = " ".join(text[-20:].split())
    return TruncatedFile(
        path,
        f"the file ends in the middle of a UTF-8 character (its last {len(tail)} bytes, {tail.hex(' ')}, begin one "
        f"that is not finished): it was cut off, by an interrupted download or copy. The text before the cut "
        f"ends with '{end}'. Download or copy the file again.",
    )


def _looks_binary(body: bytes, text: str, encoding: str) -> bool:
    """A NUL, or more control characters than the odd one Word exports keep."""
    if encoding in _ASCII_COMPATIBLE:
        controls = body.translate(None, _NOT_CONTROL_BYTES)
        has_nul, count = b"\x00" in controls, len(controls)
    else:
        has_nul, count = "\x00" in text, len(_CONTROL.findall(text))
    return has_nul or count > max(16, _MAX_CONTROL_SHARE * len(text))


def decode_bytes(path: str, data: bytes, *, is_html: bool, http_charset: str | None = None) -> DecodedText:
    """Decode strictly with the first candidate that works; `http_charset` is what a web server said."""
    if not data or data.isspace():  # not data.strip(), which copies a whole page to look at its first bytes
        raise EmptyFile(path)

    body, bom_encoding = EncodingDetector.strip_byte_order_mark(data)
    declared_label = EncodingDetector.find_declared_encoding(data[:DETECTION_SAMPLE_BYTES], is_html=is_html)
    declared = canonical_encoding(declared_label) if declared_label else None
    if bom_encoding in (None, "utf-8"):
        truncated = _utf8_cut_off(path, body)
        if truncated:
            raise truncated

    tried: list[str] = []
    from_header = canonical_encoding(http_charset) if http_charset else None
    for encoding, source in _candidates(body, bom_encoding, from_header, declared):
        tried.append(f"{encoding} ({source})")
        text = _strict(body, encoding)
        if text is not None:
            if _looks_binary(body, text, encoding):
                raise UndecodableFile(path, "binary data, not text (control characters after decoding)")
            return DecodedText(text, encoding, source, declared)

    raise UndecodableFile(
        path,
        f"cannot decode the bytes as Chinese text; tried {', '.join(tried)}. "
        "Is it a text or HTML report? Binary formats need their own reader.",
    )
