"""What a printed cell can say, shared by the extractors (is this a value?) and the facts."""

from __future__ import annotations

import re
import unicodedata

#: Printed for "nothing" or "not applicable": kept apart from both zero and blank.
DASHES = ("-", "—", "——", "–", "―", "─", "/", "\\", "无", "無", "−", "--", "---")

#: A printed number after NFKC and with spaces removed: sign, digits with thousands
#: separators, decimals, and a unit glued on. Valid in both Python re and polars (Rust) regex.
NUMBER_PATTERN = r"^[-+−]?(?:\d[\d,，]*(?:\.\d*)?|\.\d+)(?:万元|元|件|个|项|次|人次)?$"

#: How a reader marks a cell whose printed digits allow several readings (glued cells): the text that
#: follows lists them. Loaded as NULL with value_kind 'ambiguous', never as one of the readings.
AMBIGUOUS = "ambiguous:"

VALUE_KINDS = ("number", "blank", "dash", "text", "missing", "ambiguous")

#: How a printed label or cell is compared, in this order: Unicode NFKC (full-width brackets, digits and
#: colons become half-width), then every whitespace out, then Word's bookmarks ('[bookmark: _GoBack]') out.
#: normalise_printed does it in Python (the extractors' labels); transforms/facts.py does the same steps with
#: these patterns in polars (the cells' texts). Both patterns read the same in Python re and polars (Rust) regex;
#: the whitespace class names the four separators \x1c-\x1f that Python's \s holds and Rust's does not.
WHITESPACE_PATTERN = r"[\s\x1c-\x1f]+"
BOOKMARK_PATTERN = r"\[bookmark:[^\]]*\]"
_WHITESPACE = re.compile(WHITESPACE_PATTERN)
_BOOKMARK = re.compile(BOOKMARK_PATTERN)


def normalise_printed(text: str) -> str:
    """A printed label or cell as it is compared: NFKC, no whitespace, no Word bookmarks."""
    return _BOOKMARK.sub("", _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)))
