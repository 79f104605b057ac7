"""A report whose numbers were replaced by something else says so, instead of 'table not found'."""

from __future__ import annotations

import re

import pytest

from extractors.errors import ValuesNotNumbers
from extractors.files import read_source
from extractors.report import extract_report
from tests.conftest import SAMPLES

ROW_PER_LINE_SAMPLE = SAMPLES / "002_54cd1b08fa028caf.txt"


@pytest.mark.parametrize("printed", ["NaN", "1e30", "若干"])
def test_a_table_whose_numbers_became_something_else_is_named_with_what_was_printed(tmp_path, printed):
    text = re.sub(r"(?<=\t)\d+(?=\t|\n)", printed, ROW_PER_LINE_SAMPLE.read_text(encoding="utf-8"))
    report = tmp_path / "report.txt"
    report.write_text(text, encoding="utf-8")
    with pytest.raises(ValuesNotNumbers) as caught:
        extract_report(read_source(str(report)))
    assert caught.value.reason == "values_not_numbers"
    assert str(caught.value) == (
        f"{report}: table 主动公开政府信息情况 is there, but its rows end in cells that are not numbers ({printed!r}): "
        "no cell of it can be read. The numbers were lost or replaced when the file was made; get a copy that prints them"
    )
