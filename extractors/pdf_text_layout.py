"""A PDF read from text positions alone, when it has no ruled grid (or the grid misses a table).

Lines between a table's heading and the next heading are table lines. Numbers anchor the rows:
numbers level with each other are one row, whatever order the text layer emits them in, and rows a
line apart that fill different columns are one row whose cells are aligned differently. Columns are
the numbers' merged x-ranges, so a blank cell stays blank in its column. A label level with a row's
numbers is its label; a label line above or below is the rest of a wrapped label: one that starts a
label ('1.', '（二）', '第二十条') goes with the row below it, any other continues the row above,
never past another line and at most a line and a half away. Labels printed one character per line
are stacked back into one label. A line with words over the number columns and no number is a header
row, and one printed again at the top of the next page is dropped. OCRed boxes are read the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from extractors.document import Block, Row, scored
from extractors.labels import looks_like_value, normalise_label, table_of_heading
from extractors.pdf_boxes import Box, cut_line, group_lines, join_words, least_confidence, merge_boxes
from extractors.pdf_pages import Page
from extractors.pdf_paragraphs import margins_of, paragraphs
from extractors.pdf_rows import Cell, to_rows

#: A label line at most this many line heights above or below a row continues that row's label.
_WRAP_GAP = 1.5
#: Words further apart than this many character heights are in different cells.
_CELL_GAP = 0.6
#: What starts a label: '第二十条', '（三）', '1.', '2、', '一、' (after normalise_label).
_LABEL_START = re.compile(r"^(?:第[一二三四五六七八九十\d]+条|\([一二三四五六七八九十\d]{1,3}\)|\d{1,2}[.、,)]|[一二三四五六七八九十]{1,2}[、.])")


def _overlap(a: Box, top: float, bottom: float) -> float:
    return min(a.bottom, bottom) - max(a.top, top)


def _stack_vertical(segments: list[Box]) -> list[Box]:
    """Labels printed one character per line ('三、' '本' '年' '度' …), stacked back into one label."""
    short = [s for s in segments if len(normalise_label(s.text)) <= 2 and not looks_like_value(s.text)]
    others = [s for s in segments if not (len(normalise_label(s.text)) <= 2 and not looks_like_value(s.text))]
    short.sort(key=lambda s: (round(s.x0), s.top))
    stacked: list[Box] = []
    run: list[Box] = []

    def flush() -> None:
        if len(run) >= 3:
            stacked.append(Box("".join(s.text for s in run), min(s.x0 for s in run), max(s.x1 for s in run),
                                run[0].top, run[-1].bottom, run[0].page))
        else:
            stacked.extend(run)
        run.clear()

    for segment in short:
        if run and (
            abs(segment.x0 - run[-1].x0) > 1.5
            or segment.top - run[-1].top > 2.5 * run[-1].height
            or segment.page != run[-1].page
        ):
            flush()
        run.append(segment)
    flush()
    return others + stacked


def _one_label_per_cell(labels: list[Box]) -> list[Box]:
    """OCRed label lines of one ruled cell joined, top to bottom, into one label (a section label
    wrapped in a tall merged cell: '（六）其' / '他处理')."""
    by_cell: dict[tuple[int, int], list[Box]] = {}
    others = []
    for label in labels:
        if label.cell:
            by_cell.setdefault((label.page, label.cell), []).append(label)
        else:
            others.append(label)
    joined = []
    for parts in by_cell.values():
        parts.sort(key=lambda p: (p.top, p.x0))
        joined.append(Box("".join(p.text for p in parts), min(p.x0 for p in parts), max(p.x1 for p in parts),
                           parts[0].top, max(p.bottom for p in parts), parts[0].page, least_confidence(parts), parts[0].cell))
    return others + joined


def _cluster_intervals(boxes: Iterable[Box], slack: float = 0.5) -> list[tuple[float, float]]:
    """Overlapping x-ranges merged: the columns they print in, left to right."""
    columns: list[list[float]] = []
    for box in sorted(boxes, key=lambda b: b.x0):
        if columns and box.x0 <= columns[-1][1] + slack:
            columns[-1][1] = max(columns[-1][1], box.x1)
        else:
            columns.append([box.x0, box.x1])
    return [(a, b) for a, b in columns]


@dataclass
class _TextRow:
    values: list[Box]
    labels: list[Box] = field(default_factory=list)

    @property
    def boxes(self) -> list[Box]:
        return self.values + self.labels

    @property
    def top(self) -> float:
        return min(b.top for b in self.boxes)

    @property
    def bottom(self) -> float:
        return max(b.bottom for b in self.boxes)

    @property
    def value_top(self) -> float:
        return min(v.top for v in self.values)

    @property
    def value_bottom(self) -> float:
        return max(v.bottom for v in self.values)

    def columns(self, columns: list[tuple[float, float]]) -> set[int]:
        return {_column_of(v, columns) for v in self.values}


def _column_of(box: Box, columns: list[tuple[float, float]]) -> int:
    centre = (box.x0 + box.x1) / 2
    return min(range(len(columns)), key=lambda i: max(columns[i][0] - centre, centre - columns[i][1], 0.0))


def _starts_label(box: Box) -> bool:
    return bool(_LABEL_START.match(normalise_label(box.text)))


def text_rows(lines: list[list[Box]]) -> list[Row]:
    segments = [s for line in lines for s in cut_line(line, gap=_CELL_GAP)]
    values = [s for s in segments if normalise_label(s.text) and looks_like_value(s.text)]
    if not values:
        return [Row(tuple(s.text for s in group)) for group in group_lines(segments)]
    columns = _cluster_intervals(values)
    value_left = columns[0][0]

    # A line with words over the value columns and no number is a header row, kept whole.
    headers: list[Box] = []
    for line in group_lines(segments):
        if not any(s in values for s in line) and any(s.x1 > value_left + 0.5 * s.height for s in line):
            headers.extend(line)
    labels = _one_label_per_cell([s for s in segments if s not in values and s not in headers])
    labels = [s for s in labels if s.cell] + _stack_vertical([s for s in labels if not s.cell])

    # Numbers level with each other are one row.
    rows: list[_TextRow] = []
    for value in sorted(values, key=lambda v: v.middle):
        if rows:
            top, bottom = rows[-1].value_top, rows[-1].value_bottom
            if _overlap(value, top, bottom) >= 0.5 * min(value.height, bottom - top):
                rows[-1].values.append(value)
                continue
        rows.append(_TextRow([value]))
    # Cells of one row aligned differently (the total at the top, the rest centred) print their
    # numbers on different lines: rows a line apart filling different columns are one row,
    # unless the lower one has a label of its own starting ('2.', '（三）').
    merged: list[_TextRow] = []
    for row in rows:
        if merged:
            above = merged[-1]
            gap = row.value_top - above.value_bottom
            starts = any(
                _starts_label(ln) and _overlap(ln, row.value_top, row.value_bottom) > 0.3 * ln.height
                for ln in labels if ln.x1 <= value_left
            )
            if not (row.columns(columns) & above.columns(columns)) and gap <= 1.0 * row.values[0].height and not starts:
                above.values.extend(row.values)
                continue
        merged.append(row)
    rows = merged

    # Labels level with a row's numbers are its labels.
    unattached: list[Box] = []
    for label in labels:
        if label.x1 > value_left + 0.5 * label.height:
            row = max(rows, key=lambda r: _overlap(label, r.value_top, r.value_bottom))
            if _overlap(label, row.value_top, row.value_bottom) > 0.5 * label.height:
                row.values.append(label)  # text in a value cell ('不适用')
            else:
                headers.append(label)
            continue
        row = max(rows, key=lambda r: _overlap(label, r.value_top, r.value_bottom))
        # A ruled cell's label (OCR) may span several rows: it goes to the row it overlaps most.
        height = min(label.height, row.value_bottom - row.value_top) if label.cell else label.height
        if _overlap(label, row.value_top, row.value_bottom) > 0.3 * height:
            row.labels.append(label)
        else:
            unattached.append(label)
    # The rest of a wrapped label: a line that starts a label ('1.', '（二）') goes with the row
    # below it, any other line continues the row above; never past another line in between, and
    # at most a line and a half away.
    for _ in range(len(unattached)):
        progress = False
        for label in sorted(unattached, key=lambda ln: ln.top):
            target = _wrapped_label_row(label, rows, segments)
            if target is not None:
                target.labels.append(label)
                unattached.remove(label)
                progress = True
        if not progress:
            break

    label_columns = _cluster_starts([ln for r in rows for ln in r.labels])
    built: list[tuple[float, list[Cell]]] = []
    for row in rows:
        cells = []
        # Lines of one label column are one label; OCRed lines of one ruled cell too, however
        # they are aligned (a wrapped label centred in its cell).
        by_cell: dict[int, list[Box]] = {}
        for label in row.labels:
            by_cell.setdefault(label.cell or -1 - label_columns(label.x0), []).append(label)
        by_column: dict[int, list[Box]] = {}
        for parts in by_cell.values():
            by_column.setdefault(label_columns(min(p.x0 for p in parts)), []).extend(parts)
        for column, parts in sorted(by_column.items()):
            cells.append(Cell((0, column), "".join(p.text for p in sorted(parts, key=lambda p: (p.page, p.top)))))
        for index in range(len(columns)):
            inside = sorted((v for v in row.values if _column_of(v, columns) == index), key=lambda v: v.top)
            cells.append(Cell((1, index), scored("".join(v.text for v in inside), least_confidence(inside))))
        built.append((row.value_top, cells))
    # Header rows printed again at the top of a continuation page (above its first row) are dropped.
    seen: set[tuple[str, ...]] = set()
    first_row_top: dict[int, float] = {}
    for row in rows:
        page = row.values[0].page
        first_row_top[page] = min(first_row_top.get(page, row.top), row.top)
    for group in group_lines(unattached + headers):
        key = tuple(normalise_label(b.text) for b in group)
        top, page = min(b.top for b in group), group[0].page
        if key in seen and top < first_row_top.get(page, float("inf")) and page != min(first_row_top, default=page):
            continue
        seen.add(key)
        built.append((top, [Cell((0, i), b.text) for i, b in enumerate(group)]))
    built.sort(key=lambda item: item[0])
    return to_rows([cells for _, cells in built])


def _wrapped_label_row(label: Box, rows: list[_TextRow], segments: list[Box]) -> _TextRow | None:
    """The row a label line continues, or None (a header line, or too far from any row)."""
    above = [r for r in rows if r.value_top < label.top]
    below = [r for r in rows if r.value_top >= label.top]
    candidates = []
    if above and not _starts_label(label):
        row = max(above, key=lambda r: r.value_top)
        candidates.append((max(0.0, label.top - row.bottom), 0, row))
    if below:
        row = min(below, key=lambda r: r.value_top)
        candidates.append((max(0.0, row.top - label.bottom), 1, row))
    for gap, _, row in sorted(candidates, key=lambda c: (c[0], c[1])):
        if gap > _WRAP_GAP * label.height:
            continue
        low, high = (row.bottom, label.top) if row.value_top < label.top else (label.bottom, row.top)
        in_between = low < high and any(
            s is not label and s not in row.boxes and s.x0 < label.x1 and s.x1 > label.x0 and low < s.middle < high
            for s in segments
        )
        if not in_between:
            return row
    return None


def _cluster_starts(boxes: list[Box], tolerance: float = 3.0):
    """A function naming the label column a left edge belongs to (left edges within 3 pt)."""
    starts = sorted({round(b.x0, 1) for b in boxes})
    clusters: list[float] = []
    for start in starts:
        if not clusters or start - clusters[-1] > tolerance:
            clusters.append(start)

    def column(x0: float) -> int:
        return min(range(len(clusters)), key=lambda i: abs(clusters[i] - x0)) if clusters else 0

    return column


def text_blocks(pages: list[Page]) -> list[Block]:
    """Lines in a table's section (between its heading and the next one) are table lines; so are
    lines elsewhere cut into cells by wide gaps with a number among them. The rest is text."""
    kinds: list[tuple[str, list[Box]]] = []
    in_table = False
    for page in pages:
        for line in page.all_lines:
            cells = cut_line(line, gap=2.0)
            text = normalise_label(join_words(line))
            heading = table_of_heading(text) if len(cells) == 1 else None
            if heading is not None:
                in_table = bool(heading)
                kinds.append(("text", line))
                continue
            numbers = any(normalise_label(c.text) and looks_like_value(c.text) for c in cells)
            kinds.append(("table" if in_table or (len(cells) >= 2 and numbers) else "text", line))
    margins = margins_of(merge_boxes(line) for kind, line in kinds if kind == "text")
    blocks: list[Block] = []
    run: list[list[Box]] = []
    run_kind = None
    for kind, line in kinds + [("end", [])]:
        if run and kind != run_kind:
            if run_kind == "text":
                blocks.extend(paragraphs([merge_boxes(ln) for ln in run], margins))
            else:
                blocks.extend(text_rows(run))
            run = []
        run_kind = kind
        if line:
            run.append(line)
    return blocks
