"""PDF reports with a text layer to paragraphs and rows, with pdfplumber.

Two ways to rebuild the tables, both ending in the rows the locator reads:

- pdf/pdfplumber-grid, preferred: the table's ruling lines give the cells (pdfplumber's
  find_tables). A cell covered by a merged cell is absent (None), so it is read once,
  where it starts, as in HTML. A cell's lines are joined without a gap, so labels wrapped
  in a narrow cell or printed one character per line read as one label.
- pdf/pdfplumber-text, when the PDF has no ruled grid (or the grid misses a table): text
  positions. Lines between a table's heading and the next heading are table lines. Numbers
  anchor the rows: numbers level with each other are one row, whatever order the text layer
  emits them in, and rows a line apart that fill different columns are one row whose cells
  are aligned differently. Columns are the numbers' merged x-ranges, so a blank cell stays
  blank in its column. A label level with a row's numbers is its label; a label line above or
  below is the rest of a wrapped label: one that starts a label ('1.', '（二）', '第二十条') goes
  with the row below it, any other continues the row above, never past another line and at
  most a line and a half away. Labels printed one character per line are stacked back into
  one label. A line with words over the number columns and no number is a header row, and one
  printed again at the top of the next page is dropped.

Both: page numbers are dropped; a table that continues on the next page continues the same
rows (a repeated header is dropped); a row label cut by the page break, or a section label
centred beside its numbered sub-rows ('（三）不予公开' beside 1. to 8.), goes back to the
sub-row 1. that opens its section, the row it belongs to; text lines outside tables are
joined into paragraphs (a line that reaches the right margin continues on the next line,
also across a page break), so headings stay separate paragraphs.

Scanned pages (no text layer, an image) are OCRed (extractors/scan.py) and their text boxes
read by text positions like a text layer's words, each keeping its recognition confidence
(document.ScoredText): pdf/rapidocr. A PDF that needs a password to open fails with
EncryptedFile; one where neither the text layer nor OCR finds any text with NoTextFound.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from extractors.document import Block, Document, Paragraph, Row, SECTION_HEADING, scored
from extractors.errors import EncryptedFile, ExtractionError, NoTextFound, UnreadableContainer
from extractors.labels import looks_like_value, normalise_label, table_of_heading

READER_GRID = "pdf/pdfplumber-grid"
READER_TEXT = "pdf/pdfplumber-text"
READER_OCR = "pdf/rapidocr"
NO_TEXT = "no text found: the PDF has no text layer and OCR finds no text on its pages (blank scans?)"

#: Fewer printed characters than this on a page: a scanned page (perhaps with a page number).
MIN_TEXT_CHARS = 20
#: Share of a page's height at its top and bottom where page numbers are looked for.
_FURNITURE_ZONE = 0.1
_PAGE_NUMBER = re.compile(r"^(?:[-—－–]*\d{1,4}[-—－–]*|第\d{1,4}页(?:共\d{1,4}页)?|\d{1,4}/\d{1,4})$")
#: A numbered sub-row label: '1.属于国家秘密', '2、申请人逾期…'.
_NUMBERED = re.compile(r"^(\d{1,2})[.、,)]")
#: A label line at most this many line heights above or below a row continues that row's label.
_WRAP_GAP = 1.5
#: Words further apart than this many character heights are in different cells.
_CELL_GAP = 0.6
#: What starts a label: '第二十条', '（三）', '1.', '2、', '一、' (after normalise_label).
_LABEL_START = re.compile(r"^(?:第[一二三四五六七八九十\d]+条|\([一二三四五六七八九十\d]{1,3}\)|\d{1,2}[.、,)]|[一二三四五六七八九十]{1,2}[、.])")
_ASCII_END = re.compile(r"[A-Za-z0-9]$")
_ASCII_START = re.compile(r"^[A-Za-z0-9]")


# ---- geometry -------------------------------------------------------------------------------

@dataclass
class _Box:
    """Text with its position; top/bottom are document-wide (pdfplumber's doctop), so pages stack."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    page: int
    #: Recognition confidence of OCRed text; None for a text layer's words.
    confidence: float | None = None
    #: For OCRed text, the ruled table cell it was found in (0 outside tables); None for a text layer.
    cell: int | None = None

    @property
    def height(self) -> float:
        return max(self.bottom - self.top, 1.0)

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def _join_words(words: Sequence[_Box]) -> str:
    """Words of one line, in x order: a visible gap between Latin letters or digits keeps a space."""
    text = ""
    previous: _Box | None = None
    for word in words:
        if previous is not None and word.x0 - previous.x1 > 0.25 * word.height and (
            _ASCII_END.search(text) or _ASCII_START.match(word.text)
        ):
            text += " "
        text += word.text
        previous = word
    return text


def _confidence(boxes: Iterable[_Box]) -> float | None:
    """The least confidence of OCRed parts: a cell is as doubtful as its worst glyphs."""
    return min((b.confidence for b in boxes if b.confidence is not None), default=None)


def _merge(boxes: Sequence[_Box]) -> _Box:
    ordered = sorted(boxes, key=lambda b: b.x0)
    return _Box(
        text=_join_words(ordered),
        x0=min(b.x0 for b in boxes),
        x1=max(b.x1 for b in boxes),
        top=min(b.top for b in boxes),
        bottom=max(b.bottom for b in boxes),
        page=boxes[0].page,
        confidence=_confidence(boxes),
        cell=boxes[0].cell,
    )


def _group_lines(words: Iterable[_Box]) -> list[list[_Box]]:
    """Words sharing most of their height form a line; lines in top-to-bottom order."""
    lines: list[list[_Box]] = []
    extents: list[tuple[float, float]] = []
    for word in sorted(words, key=lambda w: (w.top, w.x0)):
        for index in range(len(lines) - 1, max(len(lines) - 4, -1), -1):
            top, bottom = extents[index]
            overlap = min(bottom, word.bottom) - max(top, word.top)
            if overlap >= 0.5 * min(word.height, bottom - top):
                lines[index].append(word)
                extents[index] = (min(top, word.top), max(bottom, word.bottom))
                break
        else:
            lines.append([word])
            extents.append((word.top, word.bottom))
    return [sorted(line, key=lambda w: w.x0) for line in lines]


def _segments(line: Sequence[_Box], gap: float = 1.0) -> list[_Box]:
    """A line cut into cells where the gap between words is wider than `gap` character heights; a
    number is cut from the words beside it at a quarter of that (a label filling its cell can end
    a few points before the number in the next one). OCRed words in two ruled cells are two cells."""
    segments: list[list[_Box]] = []
    for word in line:
        if segments:
            previous = segments[-1][-1]
            if previous.cell and word.cell and previous.cell != word.cell:
                segments.append([word])
                continue
            numeric = _is_number(word.text) or _is_number(previous.text)
            if word.x0 - previous.x1 <= (0.25 if numeric else 1.0) * gap * word.height:
                segments[-1].append(word)
                continue
        segments.append([word])
    return [_merge(s) for s in segments]


def _is_number(text: str) -> bool:
    return bool(normalise_label(text)) and looks_like_value(text)


# ---- pages ----------------------------------------------------------------------------------

@dataclass
class _GridTable:
    """A ruled table on one page: rows of (column index, text); cells covered by a merge are left out."""

    rows: list[list[tuple[int, str]]]
    columns: int
    x0: float
    x1: float
    top: float
    bottom: float
    page: int


@dataclass
class _Page:
    number: int
    #: Lines outside the ruled tables, and all lines (for reading by text positions).
    lines: list[list[_Box]]
    all_lines: list[list[_Box]]
    tables: list[_GridTable] = field(default_factory=list)


def _cell_text(text: str | None) -> str:
    """A cell's lines joined without a gap: wrapped labels and one-character-per-line labels."""
    return "".join(" ".join(line.split()) for line in (text or "").split("\n"))


def _is_real_table(rows: list[list[str | None]]) -> bool:
    """A grid with two or more cells in at least two rows: not a box drawn round a paragraph."""
    return sum(1 for row in rows if sum(cell is not None for cell in row) >= 2) >= 2


def _is_furniture(line: list[_Box], page_top: float, page_height: float) -> bool:
    """A page number in the top or bottom margin ('- 4 -', '第4页共6页', '4/6')."""
    in_margin = (
        line[0].top < page_top + _FURNITURE_ZONE * page_height
        or line[0].bottom > page_top + (1 - _FURNITURE_ZONE) * page_height
    )
    return in_margin and bool(_PAGE_NUMBER.match(normalise_label("".join(w.text for w in line))))


def _without_furniture(lines: list[list[_Box]], page_top: float, page_height: float) -> list[list[_Box]]:
    """The page's lines less a page number printed first or last on it (a lone number inside the
    page, such as a table cell, is kept)."""
    ends = {0, len(lines) - 1}
    return [line for i, line in enumerate(lines) if not (i in ends and _is_furniture(line, page_top, page_height))]


def _open(path: str, data: bytes):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    if b"%PDF" not in data[:1024]:
        raise UnreadableContainer(path, "not a PDF file: no %PDF header")
    try:
        return pdfplumber.open(io.BytesIO(data))
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise EncryptedFile(
                path, "encrypted PDF: it needs a password to open, so its text cannot be read "
                "(ask for an unencrypted copy)"
            ) from exc
        raise UnreadableContainer(path, f"not a readable PDF ({type(cause).__name__}: {cause})") from exc
    except Exception as exc:  # pdfminer raises assorted errors on broken files
        raise UnreadableContainer(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc


def _read_page(page, number: int, *, find_tables: bool) -> _Page:
    offset = float(page.initial_doctop)
    grid: list[_GridTable] = []
    if find_tables:
        for table in page.find_tables():
            extracted = table.extract()
            if not extracted or not _is_real_table(extracted):
                continue
            rows = [[(j, _cell_text(cell)) for j, cell in enumerate(row) if cell is not None] for row in extracted]
            x0, top, x1, bottom = table.bbox
            grid.append(_GridTable([r for r in rows if r], len(extracted[0]), x0, x1, top + offset, bottom + offset, number))
    words = [
        _Box(w["text"], float(w["x0"]), float(w["x1"]), float(w["top"]) + offset, float(w["bottom"]) + offset, number)
        for w in page.extract_words(x_tolerance=1.5, y_tolerance=3, keep_blank_chars=False, use_text_flow=False)
    ]

    def in_grid(box: _Box) -> bool:
        centre_x = (box.x0 + box.x1) / 2
        return any(t.x0 <= centre_x <= t.x1 and t.top <= box.middle <= t.bottom for t in grid)

    def lines_of(boxes: list[_Box]) -> list[list[_Box]]:
        return _without_furniture(_group_lines(boxes), offset, float(page.height))

    outside = [w for w in words if not in_grid(w)]
    all_lines = lines_of(words)
    return _Page(number, lines_of(outside) if grid else all_lines, all_lines, grid)


def boxes_page(boxes: Iterable, number: int, offset: float, height: float) -> _Page:
    """A page of positioned text from elsewhere (OCR boxes in points: text, x0, x1, top, bottom,
    confidence, ruled cell), stacked `offset` points down the document, as _read_page makes from a text layer."""
    words = [_Box(b.text, b.x0, b.x1, b.top + offset, b.bottom + offset, number, b.confidence, b.cell) for b in boxes]
    lines = _without_furniture(_group_lines(words), offset, height)
    return _Page(number, lines, lines)


def _is_scanned(page) -> bool:
    return sum(1 for c in page.chars if not c["text"].isspace()) < MIN_TEXT_CHARS and bool(page.images)


def _read_pages(path: str, data: bytes, *, find_tables: bool) -> tuple[list[_Page], bool]:
    """The pages, and whether some were OCRed: a page with an image and no text layer is a scan."""
    from extractors.scan import ocr_pages, pdf_page_images

    with _open(path, data) as pdf:
        try:
            scanned = [number for number, page in enumerate(pdf.pages, start=1) if _is_scanned(page)]
            ocred = dict(zip(scanned, ocr_pages(pdf_page_images(path, data, scanned)))) if scanned else {}
            pages = [
                boxes_page(ocred[number].boxes, number, float(page.initial_doctop), float(page.height))
                if number in ocred else _read_page(page, number, find_tables=find_tables)
                for number, page in enumerate(pdf.pages, start=1)
            ]
        except ExtractionError:
            raise
        except Exception as exc:  # a broken page stream, an unsupported filter
            raise UnreadableContainer(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if not any(page.all_lines for page in pages):
        raise NoTextFound(path, NO_TEXT)
    return pages, bool(ocred)


# ---- paragraphs -----------------------------------------------------------------------------

def _is_heading(text: str) -> bool:
    return table_of_heading(text) is not None or bool(SECTION_HEADING.match(text))


def _paragraphs(lines: list[_Box], margins: dict[int, tuple[float, float]]) -> list[Paragraph]:
    """Lines to paragraphs: a line that reaches the right margin continues on the next one, unless
    that one is indented or a heading; the same across a page break."""
    paragraphs: list[str] = []
    last: _Box | None = None
    for line in lines:
        if last is not None and _continues(last, line, margins):
            separator = " " if _ASCII_END.search(paragraphs[-1]) and _ASCII_START.match(line.text) else ""
            paragraphs[-1] += separator + line.text
        else:
            paragraphs.append(line.text)
        last = line
    return [Paragraph(text) for text in paragraphs if text.strip()]


def _continues(a: _Box, b: _Box, margins: dict[int, tuple[float, float]]) -> bool:
    _, right = margins[a.page]
    left, _ = margins[b.page]
    reaches_right = a.x1 >= right - 1.5 * a.height
    not_indented = b.x0 <= left + 0.8 * b.height
    if b.page == a.page:
        close = b.top - a.bottom <= 1.5 * max(a.height, b.height)
    else:
        close = b.page == a.page + 1
    return reaches_right and not_indented and close and not _is_heading(normalise_label(b.text))


def _margins(lines: Iterable[_Box]) -> dict[int, tuple[float, float]]:
    margins: dict[int, tuple[float, float]] = {}
    for line in lines:
        left, right = margins.get(line.page, (line.x0, line.x1))
        margins[line.page] = (min(left, line.x0), max(right, line.x1))
    return margins


# ---- rows: spanning labels ------------------------------------------------------------------

@dataclass
class _Cell:
    #: Orders the cells of a row and tells columns apart: label columns first, then value columns.
    key: tuple
    text: str
    #: Emptied because its label went to the row it belongs to.
    moved: bool = False


def _label_cells(row: list[_Cell]) -> list[_Cell]:
    return [cell for cell in row if cell.text and not looks_like_value(cell.text)]


def _sub_row_number(row: list[_Cell]) -> int | None:
    labels = _label_cells(row)
    if not labels:
        return None
    match = _NUMBERED.match(normalise_label(labels[-1].text))
    return int(match.group(1)) if match else None


def _attach_spanning_labels(rows: list[list[_Cell]]) -> None:
    """Move a label printed beside sub-row n>1 to the sub-row 1. that opens its numbered run.

    Such a label belongs to a cell spanning the run: a section label centred beside it
    ('（三）不予公开' level with 4. and 5.), the rest of a label cut by a page break ('（四）无' /
    '法提供'), characters of a label printed one per line. Text already in that column of row 1.
    comes first. A label moves only within an unbroken run of numbered sub-rows, and only when no
    row in between has a label of its own in that column.
    """
    for index, row in enumerate(rows):
        number = _sub_row_number(row)
        labels = _label_cells(row)
        if number is None or number <= 1 or len(labels) < 2:
            continue
        for cell in labels[:-1]:
            target = None
            for earlier in range(index - 1, -1, -1):
                earlier_number = _sub_row_number(rows[earlier])
                if earlier_number is None:
                    break
                if earlier_number == 1:
                    target = rows[earlier]
                    break
                if any(c.key == cell.key and c.text for c in rows[earlier]):
                    break
            if target is None:
                continue
            same = next((c for c in target if c.key == cell.key), None)
            if same is None:
                target.append(_Cell(cell.key, cell.text))
                target.sort(key=lambda c: c.key)
            elif cell.text != same.text:
                same.text += cell.text
            cell.text, cell.moved = "", True


def _to_rows(rows: list[list[_Cell]]) -> list[Row]:
    _attach_spanning_labels(rows)
    blocks = []
    for row in rows:
        cells = tuple(cell.text for cell in row if not cell.moved)
        if cells:
            blocks.append(Row(cells))
    return blocks


# ---- rows: ruled grid -----------------------------------------------------------------------

def _grid_rows(tables: list[_GridTable]) -> list[Row]:
    """Tables one after the other with no text between them: one table, perhaps continued over
    pages. A header the continuation repeats is dropped."""
    first = tables[0]
    header = [tuple(normalise_label(t) for _, t in row) for row in first.rows]
    rows: list[list[_Cell]] = []
    for table in tables:
        table_rows = table.rows
        if table is not first and table.page != first.page:
            repeated = 0
            while (
                repeated < min(len(table_rows), len(header))
                and tuple(normalise_label(t) for _, t in table_rows[repeated]) == header[repeated]
                and not any(normalise_label(t) and looks_like_value(t) for _, t in table_rows[repeated])
            ):
                repeated += 1
            table_rows = table_rows[repeated:]
        rows.extend([_Cell((table.columns, j), text) for j, text in row] for row in table_rows)
    return _to_rows(rows)


# ---- rows: text positions -------------------------------------------------------------------

def _overlap(a: _Box, top: float, bottom: float) -> float:
    return min(a.bottom, bottom) - max(a.top, top)


def _stack_vertical(segments: list[_Box]) -> list[_Box]:
    """Labels printed one character per line ('三、' '本' '年' '度' …), stacked back into one label."""
    short = [s for s in segments if len(normalise_label(s.text)) <= 2 and not looks_like_value(s.text)]
    others = [s for s in segments if not (len(normalise_label(s.text)) <= 2 and not looks_like_value(s.text))]
    short.sort(key=lambda s: (round(s.x0), s.top))
    stacked: list[_Box] = []
    run: list[_Box] = []

    def flush() -> None:
        if len(run) >= 3:
            stacked.append(_Box("".join(s.text for s in run), min(s.x0 for s in run), max(s.x1 for s in run),
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


def _one_label_per_cell(labels: list[_Box]) -> list[_Box]:
    """OCRed label lines of one ruled cell joined, top to bottom, into one label (a section label
    wrapped in a tall merged cell: '（六）其' / '他处理')."""
    by_cell: dict[tuple[int, int], list[_Box]] = {}
    others = []
    for label in labels:
        if label.cell:
            by_cell.setdefault((label.page, label.cell), []).append(label)
        else:
            others.append(label)
    joined = []
    for parts in by_cell.values():
        parts.sort(key=lambda p: (p.top, p.x0))
        joined.append(_Box("".join(p.text for p in parts), min(p.x0 for p in parts), max(p.x1 for p in parts),
                           parts[0].top, max(p.bottom for p in parts), parts[0].page, _confidence(parts), parts[0].cell))
    return others + joined


def _cluster_intervals(boxes: Iterable[_Box], slack: float = 0.5) -> list[tuple[float, float]]:
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
    values: list[_Box]
    labels: list[_Box] = field(default_factory=list)

    @property
    def boxes(self) -> list[_Box]:
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


def _column_of(box: _Box, columns: list[tuple[float, float]]) -> int:
    centre = (box.x0 + box.x1) / 2
    return min(range(len(columns)), key=lambda i: max(columns[i][0] - centre, centre - columns[i][1], 0.0))


def _starts_label(box: _Box) -> bool:
    return bool(_LABEL_START.match(normalise_label(box.text)))


def _text_rows(lines: list[list[_Box]]) -> list[Row]:
    segments = [s for line in lines for s in _segments(line, gap=_CELL_GAP)]
    values = [s for s in segments if normalise_label(s.text) and looks_like_value(s.text)]
    if not values:
        return [Row(tuple(s.text for s in group)) for group in _group_lines(segments)]
    columns = _cluster_intervals(values)
    value_left = columns[0][0]

    # A line with words over the value columns and no number is a header row, kept whole.
    headers: list[_Box] = []
    for line in _group_lines(segments):
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
                _starts_label(l) and _overlap(l, row.value_top, row.value_bottom) > 0.3 * l.height
                for l in labels if l.x1 <= value_left
            )
            if not (row.columns(columns) & above.columns(columns)) and gap <= 1.0 * row.values[0].height and not starts:
                above.values.extend(row.values)
                continue
        merged.append(row)
    rows = merged

    # Labels level with a row's numbers are its labels.
    unattached: list[_Box] = []
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
        for label in sorted(unattached, key=lambda l: l.top):
            target = _wrapped_label_row(label, rows, segments)
            if target is not None:
                target.labels.append(label)
                unattached.remove(label)
                progress = True
        if not progress:
            break

    label_columns = _cluster_starts([l for r in rows for l in r.labels])
    built: list[tuple[float, list[_Cell]]] = []
    for row in rows:
        cells = []
        # Lines of one label column are one label; OCRed lines of one ruled cell too, however
        # they are aligned (a wrapped label centred in its cell).
        by_cell: dict[int, list[_Box]] = {}
        for label in row.labels:
            by_cell.setdefault(label.cell or -1 - label_columns(label.x0), []).append(label)
        by_column: dict[int, list[_Box]] = {}
        for parts in by_cell.values():
            by_column.setdefault(label_columns(min(p.x0 for p in parts)), []).extend(parts)
        for column, parts in sorted(by_column.items()):
            cells.append(_Cell((0, column), "".join(p.text for p in sorted(parts, key=lambda p: (p.page, p.top)))))
        for index in range(len(columns)):
            inside = sorted((v for v in row.values if _column_of(v, columns) == index), key=lambda v: v.top)
            cells.append(_Cell((1, index), scored("".join(v.text for v in inside), _confidence(inside))))
        built.append((row.value_top, cells))
    # Header rows printed again at the top of a continuation page (above its first row) are dropped.
    seen: set[tuple[str, ...]] = set()
    first_row_top = {}
    for row in rows:
        page = row.values[0].page
        first_row_top[page] = min(first_row_top.get(page, row.top), row.top)
    for group in _group_lines(unattached + headers):
        key = tuple(normalise_label(b.text) for b in group)
        top, page = min(b.top for b in group), group[0].page
        if key in seen and top < first_row_top.get(page, float("inf")) and page != min(first_row_top, default=page):
            continue
        seen.add(key)
        built.append((top, [_Cell((0, i), b.text) for i, b in enumerate(group)]))
    built.sort(key=lambda item: item[0])
    return _to_rows([cells for _, cells in built])


def _wrapped_label_row(label: _Box, rows: list[_TextRow], segments: list[_Box]) -> _TextRow | None:
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


def _cluster_starts(boxes: list[_Box], tolerance: float = 3.0):
    """A function naming the label column a left edge belongs to (left edges within 3 pt)."""
    starts = sorted({round(b.x0, 1) for b in boxes})
    clusters: list[float] = []
    for start in starts:
        if not clusters or start - clusters[-1] > tolerance:
            clusters.append(start)

    def column(x0: float) -> int:
        return min(range(len(clusters)), key=lambda i: abs(clusters[i] - x0)) if clusters else 0

    return column


# ---- documents ------------------------------------------------------------------------------

def _line_box(line: list[_Box]) -> _Box:
    return _merge(line)


def _grid_document(pages: list[_Page]) -> list[Block]:
    items: list[tuple[float, object]] = []
    for page in pages:
        items.extend((line[0].top, _line_box(line)) for line in page.lines)
        items.extend((table.top, table) for table in page.tables)
    items.sort(key=lambda item: item[0])
    margins = _margins(item for _, item in items if isinstance(item, _Box))
    blocks: list[Block] = []
    run: list = []
    for _, item in items + [(float("inf"), None)]:
        if run and (item is None or type(item) is not type(run[-1])):
            blocks.extend(_paragraphs(run, margins) if isinstance(run[0], _Box) else _grid_rows(run))
            run = []
        if item is not None:
            run.append(item)
    return blocks


def _text_document(pages: list[_Page]) -> list[Block]:
    """Lines in a table's section (between its heading and the next one) are table lines; so are
    lines elsewhere cut into cells by wide gaps with a number among them. The rest is text."""
    kinds: list[tuple[str, list[_Box]]] = []
    in_table = False
    for page in pages:
        for line in page.all_lines:
            cells = _segments(line, gap=2.0)
            text = normalise_label(_join_words(line))
            heading = table_of_heading(text) if len(cells) == 1 else None
            if heading is not None:
                in_table = bool(heading)
                kinds.append(("text", line))
                continue
            numbers = any(normalise_label(c.text) and looks_like_value(c.text) for c in cells)
            kinds.append(("table" if in_table or (len(cells) >= 2 and numbers) else "text", line))
    margins = _margins(_line_box(line) for kind, line in kinds if kind == "text")
    blocks: list[Block] = []
    run: list[list[_Box]] = []
    run_kind = None
    for kind, line in kinds + [("end", [])]:
        if run and kind != run_kind:
            if run_kind == "text":
                blocks.extend(_paragraphs([_line_box(l) for l in run], margins))
            else:
                blocks.extend(_text_rows(run))
            run = []
        run_kind = kind
        if line:
            run.append(line)
    return blocks


def parse_pdf(path: str, data: bytes, *, strategy: str = "auto") -> Iterator[Document]:
    """The file read as documents to try, best first, each made only when asked for: the ruled grid
    when the PDF has one, then text positions. strategy 'grid' or 'text' asks for one of them only.
    The file is opened, and refused if it is no readable PDF, before the first is asked for."""
    pages, ocred = _read_pages(path, data, find_tables=strategy != "text")

    def documents() -> Iterator[Document]:
        if strategy != "text" and any(page.tables for page in pages):
            yield Document(_grid_document(pages), reader=READER_GRID + ("+rapidocr" if ocred else ""))
        if strategy != "grid":
            yield Document(_text_document(pages), reader=READER_OCR if ocred else READER_TEXT)

    return documents()


def text_document(pages: list[_Page], reader: str) -> Document:
    """Pages made by boxes_page read by text positions (images given directly, pictures in HTML)."""
    return Document(_text_document(pages), reader=reader)
