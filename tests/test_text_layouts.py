"""Each text layout other tools print, from snippets written the way those renderings look.

The full-report tests print seed 002 (read by hand in tests/data/seeds) the way each tool
would, and require the same facts as the seed itself: every layout feeds the same locator.
"""

from __future__ import annotations

import itertools
import random
import time
import unicodedata
from pathlib import Path

import opencc
import polars as pl
import pytest

from extractors.errors import TruncatedTable
from extractors.glued_split import SearchExhausted, splits, totalled_splits
from extractors.glued_tables import active_cells, request_cells, review_cells
from extractors.locate import locate_tables
from extractors.text import parse_text
from flows.pipeline import process_batch
from template import AMBIGUOUS
from tests.conftest import SAMPLES, SEED_EXPECTED
from tests.expected import fact_differences

SEED = "002_54cd1b08fa028caf"
SEED_TEXT = (SAMPLES / f"{SEED}.txt").read_text(encoding="utf-8")
SEED_LINES = SEED_TEXT.splitlines()


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("\t")]


def _is_value(cell: str) -> bool:
    return unicodedata.normalize("NFKC", cell).replace(" ", "").lstrip("-").replace(".", "").isdigit()


def as_glued(lines: list[str]) -> str:
    """get_text() of the page: every cell and paragraph glued, on one line."""
    return "".join("".join(_cells(line)) for line in lines) + "\n"


def as_markdown(lines: list[str]) -> str:
    out = []
    for line in lines:
        if "\t" in line:
            out.append("| " + " | ".join(_cells(line)) + " |")
            if out[-2:-1] and not out[-2].startswith("|"):
                out.append("|---" * len(_cells(line)) + "|")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def as_lines(lines: list[str]) -> str:
    """One cell per line, no tabs, empty cells left out."""
    return "\n".join(cell for line in lines for cell in (_cells(line) if "\t" in line else [line]) if cell) + "\n"


def as_bar_suffix(lines: list[str]) -> str:
    """One cell per line, every table cell ending in ' |'."""
    return "\n".join(
        (f"{cell} |" if "\t" in line else cell)
        for line in lines for cell in (_cells(line) if "\t" in line else [line]) if cell
    ) + "\n"


def as_aligned(lines: list[str]) -> str:
    """pdftotext -layout: labels padded to 44 characters, values right-aligned every 8, page furniture."""
    out = []
    for number, line in enumerate(lines):
        if "\t" not in line:
            out.append(line)
            continue
        cells = [c for c in _cells(line) if c]
        labels = [c for c in cells if not _is_value(c)]
        values = [c for c in cells if _is_value(c)]
        out.append(f"{' '.join(labels):<44}" + "".join(f"{v:>8}" for v in values) if values else "    ".join(labels))
        if number == 70:
            out += ["- 2 -", "当前位置：首页 > 政务公开 > 年度报告", "全真版 文字版"]
    return "\n".join(out) + "\n"


def _facts(tmp_path: Path, text: str) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    path = tmp_path / f"{SEED}.txt"
    path.write_text(text, encoding="utf-8")
    batch = process_batch([str(path)])
    assert batch.files["status"].to_list() == ["loaded"], batch.files["error"].to_list()
    return batch.facts, batch.checks, batch.reports["reader"].item()


@pytest.mark.parametrize(
    ("render", "reader"),
    [(as_markdown, "text/pipes"), (as_lines, "text/line-per-cell"), (as_bar_suffix, "text/pipes"),
     (as_aligned, "text/aligned")],
)
def test_seed_002_printed_by_another_tool_gives_the_hand_read_facts(tmp_path, render, reader):
    facts, _, used = _facts(tmp_path, render(SEED_LINES))
    assert used == reader
    assert fact_differences(facts, SEED_EXPECTED / f"{SEED}.facts.csv") == []


def test_seed_002_in_traditional_characters_gives_the_hand_read_facts(tmp_path):
    traditional = opencc.OpenCC("s2twp").convert(SEED_TEXT)
    assert "規範性檔案" in traditional
    facts, _, reader = _facts(tmp_path, traditional)
    assert reader == "text/row-per-line+opencc"
    assert fact_differences(facts, SEED_EXPECTED / f"{SEED}.facts.csv") == []


def test_seed_002_glued_loads_every_cell_the_arithmetic_determines_and_no_wrong_number(tmp_path):
    facts, checks, reader = _facts(tmp_path, as_glued(SEED_LINES))
    assert reader == "text/glued"
    expected = pl.read_csv(SEED_EXPECTED / f"{SEED}.facts.csv", infer_schema_length=0)
    joined = facts.join(expected.select("table_code", "row_code", "col_code", pl.col("value").cast(pl.Float64).alias("want")),
                        on=["table_code", "row_code", "col_code"])
    numbers = joined.filter(pl.col("value_kind") == "number")
    assert numbers.filter(pl.col("value") != pl.col("want")).is_empty()
    # Table B and C: every row's total and the column rules leave one reading of each run.
    assert joined.filter(pl.col("table_code") != "active_disclosure")["value_kind"].unique().to_list() == ["number"]
    # Table A: '3011' (规范性文件: 3, 0, 11) could be 30, 1, 1 or 3, 0, 11 and nothing tells; the rest is one digit a cell.
    ambiguous = joined.filter(pl.col("value_kind") == "ambiguous")
    assert sorted(ambiguous["row_code"].unique()) == ["normative_documents"]
    assert ambiguous["raw_text"].to_list()[0].startswith(AMBIGUOUS)
    failed = checks.filter(~pl.col("passed")).select("rule", "scope").rows()
    assert ("cell_ambiguous", "active_disclosure") in failed


def test_glued_row_from_the_issue():
    assert request_cells({"new_received": "230000023"})["new_received"] == ["23", "0", "0", "0", "0", "0", "23"]


def test_glued_sub_row_numbers_and_negative_changes_and_money():
    document = parse_text(
        "某局2020年政府信息公开工作年度报告二、主动公开政府信息情况第二十条第（一）项信息内容本年新制作数量本年新公开数量对外公开总数量"
        "规章000规范性文件000第二十条第（五）项信息内容上一年项目数量本年增/减处理决定数量行政许可000其他对外管理服务事项000"
        "第二十条第（六）项信息内容上一年项目数量本年增/减处理决定数量行政处罚2648-18538行政强制000第二十条第（八）项信息内容"
        "上一年项目数量本年增/减行政事业性收费00第二十条第（九）项信息内容采购项目数量采购总金额政府集中采购313575394432.52元"
        "三、收到和处理政府信息公开申请情况一、本年新收政府信息公开申请数量1000001二、上年结转政府信息公开申请数量0000000"
        "三、本年度办理结果（一）予以公开1000001（二）部分公开0000000（三）不予公开1.属于国家秘密00000002.其他法律行政法规禁止公开0000000"
        "（七）总计1000001四、结转下年度继续办理0000000四、政府信息公开行政复议、行政诉讼情况000000000000000五、存在的主要问题及改进情况无。"
    )
    assert document.reader == "text/glued"
    rows = {row.cells[0]: row.cells[1:] for row in document.blocks if hasattr(row, "cells") and len(row.cells) > 1}
    # 2648, -185, 38 is one reading; 2, 648, -18538 and 26, 48, -18538 are others: table A has no sum to choose.
    assert all(c.startswith(AMBIGUOUS) for c in rows["行政处罚"])
    assert "2648" in rows["行政处罚"][0] and "-185" in rows["行政处罚"][1] and "38" in rows["行政处罚"][2]
    assert rows["行政强制"] == ("0", "0", "0")
    assert rows["(三)不予公开1.属于国家秘密"] == ("0",) * 7
    assert rows["2.其他法律行政法规禁止公开"] == ("0",) * 7
    assert rows["政府集中采购"][1].startswith(AMBIGUOUS)  # 3 and 13575394432.52元, or 31 and 3575394432.52元 …


def test_glued_reading_that_several_splits_satisfy_is_ambiguous_with_its_candidates():
    # 1, 10 or 11, 0 in the first two columns: the row total (11) and every column rule hold either way.
    runs = {"new_received": "110000011", "carried_over": "0000000", "granted": "110000011",
            "total_handled": "110000011", "carried_forward": "0000000"}
    cells = request_cells(runs)["new_received"]
    assert cells == ["ambiguous: 1 | 11 in 110000011", "ambiguous: 10 | 0 in 110000011", "0", "0", "0", "0", "11"]


def test_the_column_rules_choose_between_row_readings():
    # （一）is 1 natural person, （二）10 companies: （七）= （一）+（二）, and 一 = （七）, so both read 1, 10.
    runs = {"new_received": "110000011", "carried_over": "0000000", "granted": "1000001",
            "partially_granted": "010000010", "total_handled": "110000011", "carried_forward": "0000000"}
    cells = request_cells(runs)
    assert cells["new_received"] == cells["total_handled"] == ["1", "10", "0", "0", "0", "0", "11"]


def test_a_glued_row_that_breaks_its_own_total_loads_only_what_its_digits_force():
    # 12, 0, 0, 0, 0, 0, 13 breaks 总计; 1, 20, 0, 0, 0, 0, 13 and others are as likely: no guess.
    cells = request_cells({"new_received": "120000013"})["new_received"]
    assert [c.startswith(AMBIGUOUS) for c in cells] == [True, True, False, False, False, True, True]
    assert cells[2:5] == ["0", "0", "0"]
    # seven digits for seven cells read one way, total or not (the check then fails on it)
    assert request_cells({"new_received": "5000006"})["new_received"] == ["5", "0", "0", "0", "0", "0", "6"]


def _brute_force(run: str, count: int, totalled: bool) -> list[tuple[str, ...]]:
    """Every cut of the run into `count` cells, kept when each is a number without a leading zero
    (and the last is the sum of the others): the slow, obvious reading to check the search against."""
    found = []
    for cuts in itertools.combinations(range(1, len(run)), count - 1):
        cells = tuple(run[a:b] for a, b in zip((0, *cuts), (*cuts, len(run))))
        if all(c == "0" or not c.startswith("0") for c in cells):
            if not totalled or int(cells[-1]) == sum(int(c) for c in cells[:-1]):
                found.append(cells)
    return sorted(found)


def test_the_split_search_finds_exactly_what_trying_every_cut_finds():
    rng = random.Random(13)
    for _ in range(300):
        values = [rng.choice((0, 0, 0, 1, 2, 7, 10, 11, 23, 105)) for _ in range(6)]
        if rng.random() < 0.3:
            values[rng.randrange(6)] += rng.randint(1, 3)  # a row whose total is off
        run = "".join(map(str, values)) + str(sum(values) - (rng.random() < 0.2))
        assert sorted(totalled_splits(run, 7)) == _brute_force(run, 7, True), run
        assert sorted(splits(run, 7)) == _brute_force(run, 7, False), run


def test_table_c_groups_and_table_a_digits():
    assert review_cells("11002" + "00000" + "00000") == ["1", "1", "0", "0", "2"] + ["0"] * 10
    assert review_cells("1100010000000000")[0].startswith(AMBIGUOUS)  # no group total fits: nothing guessed
    assert active_cells("000", 3) == ["0", "0", "0"]
    assert active_cells("1235", 3)[0].startswith(AMBIGUOUS)


def test_a_pathological_glued_run_gives_up_fast_and_reads_as_ambiguous():
    started = time.perf_counter()
    with pytest.raises(SearchExhausted):
        splits("1" * 100, 7)  # about a billion ways
    with pytest.raises(SearchExhausted):
        totalled_splits("1" * 40, 7)  # too many readings to try within the bound
    assert totalled_splits("1" * 120, 7) == []  # no 总计 of these digits can be a sum of six parts
    assert splits("1" * 4000, 7) == []  # longer than seven numbers can be
    run = "1" * 120
    cells = request_cells({"new_received": run, "granted": run, "total_handled": run})
    assert all(c.startswith(AMBIGUOUS) for row in cells.values() for c in row)
    assert time.perf_counter() - started < 10


def test_a_glued_report_cut_inside_table_b_fails_as_truncated():
    glued = as_glued(SEED_LINES)
    cut = glued[: glued.index("无法提供")]
    with pytest.raises(TruncatedTable):
        locate_tables(parse_text(cut), "cut.txt")


def test_lines_with_a_table_whose_numbers_were_lost_are_blank_not_zero():
    text = "\n".join([
        "某县教育局", "2025年政府信息公开工作年度报告",
        "二、主动公开政府信息情况", "第二十条第（一）项", "信息内容", "本年制发件数", "本年废止件数", "现行有效件数",
        "规章", "行政规范性文件", "第二十条第（五）项", "信息内容", "本年处理决定数量", "行政许可",
        "三、收到和处理政府信息公开申请情况", "一、本年新收政府信息公开申请数量", *"5000005",
        "（七）总计", *"5000005", "四、结转下年度继续办理", *"0000000",
        "四、政府信息公开行政法复议、行政诉讼情况", "行政复议", "行政诉讼", "结", "果", "维", "持",
        "五、存在的主要问题及改进情况", "无。",
    ])
    tables = locate_tables(parse_text(text), "lost.txt", fallback_version="2021")
    by_cell = {(c.table_code, c.row_code, c.col_code): c.raw_text for c in tables.cells}
    assert by_cell[("active_disclosure", "regulations", "issued")] == ""
    assert by_cell[("active_disclosure", "administrative_licensing", "decisions")] == ""
    assert by_cell[("review_litigation", "review", "total")] == ""
    assert by_cell[("requests", "new_received", "total")] == "5"


def test_lines_an_empty_line_after_a_value_is_a_blank_cell_unless_empty_lines_separate_every_cell():
    head = ["某县教育局", "2023年政府信息公开工作年度报告", "三、收到和处理政府信息公开申请情况",
            "一、本年新收政府信息公开申请数量", "5", "", "0", "0", "0", "0", "5", "（七）总计"]
    rows = [b.cells for b in parse_text("\n".join(head + ["5", "0", "0", "0", "0", "0", "5"])).blocks if hasattr(b, "cells")]
    assert ("一、本年新收政府信息公开申请数量", "5", "", "0", "0", "0", "0", "5") in rows
    spaced = "\n\n".join(head[:4] + ["5", "0", "0", "0", "0", "0", "5", "（七）总计", "5", "0", "0", "0", "0", "0", "5"])
    rows = [b.cells for b in parse_text(spaced).blocks if hasattr(b, "cells")]
    assert ("一、本年新收政府信息公开申请数量", "5", "0", "0", "0", "0", "0", "5") in rows


def test_a_traditional_dash_cell_keeps_its_printed_character():
    text = opencc.OpenCC("s2twp").convert("\n".join([
        "某县教育局", "2023年政府信息公开工作年度报告", "三、收到和处理政府信息公开申请情况",
        "| 一、本年新收政府信息公开申请数量 | 5 | 0 | 0 | 0 | 0 | 0 | 5 |", "| （三）不予公开 | 1.属于国家秘密 | 无 | 无 | 无 | 无 | 无 | 无 | 无 |",
    ] + ["| x |"] * 8))
    document = parse_text(text)
    assert document.reader == "text/pipes+opencc"
    rows = [b.cells for b in document.blocks if hasattr(b, "cells")]
    assert ("（三）不予公开", "1.屬於國家祕密", "無", "無", "無", "無", "無", "無", "無") not in rows  # labels are converted
    assert ("（三）不予公开", "1.属于国家秘密", "無", "無", "無", "無", "無", "無", "無") in rows


def test_pipes_cells_between_bar_lines_and_a_bare_bar_for_a_blank():
    cells = ["三、收到和处理政府信息公开申请情况", "一、本年新收政府信息公开申请数量", "5", "", "0", "0", "0", "0", "5",
             "（七）总计", "5", "0", "0", "0", "0", "0", "5"]
    text = "\n".join(c for cell in cells for c in ([cell, "|"] if cell else ["|"]))
    blocks = parse_text("\n".join(["二、主动公开政府信息情况", "第二十条第（五）项", "|", "行政许可", "|", "3", "|"] * 4) + "\n" + text).blocks
    rows = [b.cells for b in blocks if hasattr(b, "cells")]
    assert ("一、本年新收政府信息公开申请数量", "5", "", "0", "0", "0", "0", "5") in rows


def test_aligned_vertical_headers_page_numbers_and_a_repeated_heading():
    text = "\n".join([
        "某县人民政府办公室", "2023年政府信息公开工作年度报告",
        "二、主动公开政府信息情况", "第二十条第（五）项", "信息内容    本年处理决定数量",
        f"{'行政许可':<40}{7:>6}",
        "三、收到和处理政府信息公开申请情况",
        f"{'一、本年新收政府信息公开申请数量':<40}" + "".join(f"{v:>6}" for v in (12, 0, 0, 0, 0, 1, 13)),
        "- 4 -", "微信 微博",
        "三、本年度办理结果",
        f"{'(七)总计':<40}" + "".join(f"{v:>6}" for v in (12, 0, 0, 0, 0, 1, 13)),
        f"{'四、结转下年度继续办理':<40}" + "".join(f"{v:>6}" for v in (0, 0, 0, 0, 0, 0, 0)),
        "四、政府信息公开行政复议、行政诉讼情况",
        " " * 40 + "    结    结    其    尚", " " * 40 + "    果    果    他    未",
        " " * 40 + "    维    纠    结    审", " " * 40 + "    持    正    果    结",
        " " * 40 + "".join(f"{v:>6}" for v in [1, 0, 0, 0, 1] + [0] * 10),
        "五、存在的主要问题及改进情况", "无。",
    ])
    document = parse_text(text)
    assert document.reader == "text/aligned"
    assert not any("4" == getattr(b, "text", "").strip("- ") for b in document.blocks)
    cells = [cell for b in document.blocks if hasattr(b, "cells") for cell in b.cells]
    assert {"结果维持", "结果纠正", "其他结果", "尚未审结"} <= set(cells)  # stacked from one character per line
    assert ("信息内容", "本年处理决定数量") in [b.cells for b in document.blocks if hasattr(b, "cells")]
    tables = locate_tables(document, "aligned.txt", fallback_version="2021")
    by_cell = {(c.table_code, c.row_code, c.col_code): c.raw_text for c in tables.cells}
    assert by_cell[("requests", "total_handled", "other_org")] == "1"
    assert by_cell[("review_litigation", "review", "upheld")] == "1"
