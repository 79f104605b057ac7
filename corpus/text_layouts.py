"""Reports as other tools render them as text, beyond Word's two plain-text layouts.

- glued: get_text() of a page, no separator between cells, the whole report on one line
  (or a line per paragraph with each table on one line);
- lines: one cell per line, no tabs; a blank cell is an empty line; now and then a table
  whose numbers the renderer lost (labels only);
- pipes: markdown tables (one per grid or one per row, with or without the '---' row, under
  a wrong header row), or cells on their own lines between '|' lines, or ending in ' |';
- aligned: pdftotext -layout: labels padded, values right-aligned in fixed columns, table C's
  column headers printed one character per line, page numbers and viewer chrome in the flow,
  （四）'s section heading '三、本年度办理结果' printed again at a page break.
Traditional Chinese (a mirror site) is any of these through OpenCC's mainland-to-Taiwan
conversion with phrases.
"""

from __future__ import annotations

import random

from corpus.document import Block, Paragraph, TableBlock
from corpus.grid import slots

CHROME_LINES = ("当前位置：首页 > 政务公开 > 政府信息公开年报", "微信 微博", "全真版 文字版", "【打印本页】 【关闭窗口】")


def _cells(block: TableBlock) -> list[list[tuple[str, bool]]]:
    """Each row's printed cells (text, is a value), covered places left out."""
    return [[(cell.text, cell.value) for cell in row if not cell.covered] for row in slots(block.table)]


def glued(blocks: list[Block], rng: random.Random) -> str:
    one_line = rng.random() < 0.5
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            parts.append(block.text)
            continue
        parts.append("".join(text.replace("\n", "") for row in _cells(block) for text, _ in row))
    return ("".join(parts) if one_line else "\n".join(parts)) + "\n"


def lines(blocks: list[Block], rng: random.Random) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            out.append(block.text)
            continue
        rows = _cells(block)
        lost = all(not text.strip() for row in rows for text, value in row if value) and rng.random() < 0.9
        for row in rows:
            for text, value in row:
                if value and lost:
                    continue
                if value:
                    out.append(text)
                elif text.strip():
                    out += text.split("\n")
    return "\n".join(out) + "\n"


def _markdown_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def pipes(blocks: list[Block], rng: random.Random) -> str:
    habit = rng.choice(("markdown", "markdown_per_row", "bar_lines", "bar_suffix"))
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Paragraph):
            out.append(block.text)
            continue
        rows = [[cell.text.replace("\n", "") for cell in row] for row in slots(block.table)]
        if habit.startswith("markdown"):
            width = max(len(r) for r in rows)
            rule = "|" + "---|" * width
            if habit == "markdown":
                if rng.random() < 0.3:
                    out += [_markdown_row(["项目", "数量"] + [""] * (width - 2)), rule]  # a wrong header row
                    body = rows
                else:
                    out += [_markdown_row(rows[0]), rule]
                    body = rows[1:]
                out += [_markdown_row(r) for r in body]
            else:
                for r in rows:
                    out += ["", _markdown_row(r)] + ([rule] if rng.random() < 0.5 else [])
            out.append("")
            continue
        for row in _cells(block):
            for text, value in row:
                text = text.replace("\n", "")
                if not value and not text.strip():
                    continue
                if habit == "bar_lines":
                    out += ([text] if text else []) + ["|"]
                else:
                    out.append(f"{text} |" if text else "|")
    return "\n".join(out) + "\n"


def _display(text: str) -> str:
    return text.replace("\n", "")


def aligned(blocks: list[Block], rng: random.Random) -> str:
    """pdftotext -layout: a label column of 40 characters, values right-aligned in columns of 12."""
    out: list[str] = []
    page = 1

    def furniture() -> None:
        nonlocal page
        out.append(f"- {page} -")
        page += 1
        if rng.random() < 0.5:
            out.append(rng.choice(CHROME_LINES))

    for block in blocks:
        if isinstance(block, Paragraph):
            out.append(block.text)
            if rng.random() < 0.1:
                furniture()
            continue
        for row in slots(block.table):
            labels = [_display(c.text) for c in row if not c.covered and not c.value and c.text.strip()]
            values = [c.text.strip() for c in row if c.value]
            if block.name == "requests" and labels and labels[-1].startswith(("1.", "1．", "1. ")) and "掌握" in labels[-1]:
                if rng.random() < 0.5:
                    furniture()
                    out.append("三、本年度办理结果")
            if block.name == "review" and not values and len(labels) >= 10:
                out += _vertical(labels)
                continue
            label = " ".join(labels)
            if values:
                out.append(f"{label:<40}" + "".join(f"  {v:>10}" for v in values))
            else:
                out.append("    ".join(labels))
            if rng.random() < 0.03:
                furniture()
        out.append("")
    furniture()
    return "\n".join(out) + "\n"


def _vertical(labels: list[str]) -> list[str]:
    """Column headers printed one character per line, a column every 12 characters after the label column."""
    height = max(len(label) for label in labels)
    return [
        (" " * 40 + "".join(f"{(label[i] if i < len(label) else ''):>12}" for label in labels)).rstrip()
        for i in range(height)
    ]


RENDERERS = {"glued": glued, "lines": lines, "pipes": pipes, "aligned": aligned}


def traditional(text: str) -> str:
    """The text as a Taiwanese mirror site prints it (規範性檔案)."""
    import opencc

    return opencc.OpenCC("s2twp").convert(text)
