"""What a printed cell can say, shared by the extractors (is this a value?) and the facts."""

from __future__ import annotations

#: Printed for "nothing" or "not applicable": kept apart from both zero and blank.
DASHES = ("-", "—", "——", "–", "―", "─", "/", "\\", "无", "無", "−", "--", "---")

#: A printed number after NFKC and with spaces removed: sign, digits with thousands
#: separators, decimals, and a unit glued on. Valid in both Python re and polars (Rust) regex.
NUMBER_PATTERN = r"^[-+−]?(?:\d[\d,，]*(?:\.\d*)?|\.\d+)(?:万元|元|件|个|项|次|人次)?$"

#: How a reader marks a cell whose printed digits allow several readings (glued cells): the text that
#: follows lists them. Loaded as NULL with value_kind 'ambiguous', never as one of the readings.
AMBIGUOUS = "ambiguous:"

VALUE_KINDS = ("number", "blank", "dash", "text", "missing", "ambiguous")
