"""Text boxes from page images, with RapidOCR (PP-OCR's Chinese models, shipped inside the
rapidocr-onnxruntime wheel, run by ONNX Runtime; nothing is downloaded).

Why each step:
- Ink is the darkest channel's complement (each pixel's brightest channel): a red or blue seal
  printed over the text turns white, black text under it stays black.
- The page is deskewed first (the angle whose row profile is sharpest, within ±5°), so that
  rows and columns line up again for the text-position table reader.
- Text detection runs on a copy at about 1000 px wide (a third of the cost of the full page).
  The tables' ruling lines are found (long straight runs of ink) and every box learns the ruled
  cell it sits in: a box across a rule is cut there, and the table reader never joins two cells.
  PP-OCR's detector misses lone small glyphs (the many '0' of a statistical table), so ink left
  inside a ruled cell outside every detected box is recognised too.
- Recognition, the expensive part, runs only where the tables are: lines with two or more
  boxes side by side are table lines; a page's table region runs from its first to its last
  table line, with a few lines above it for the table's heading. Prose is recognised only at
  the top of the first page (the title) and the bottom of the last (signature and date).
- Every box keeps its recognition confidence, so a doubtful number is flagged, not trusted.

ONNX Runtime's CUDA provider is used when the installed onnxruntime offers it, the CPU
otherwise, one thread per process (Dask's workers are the parallelism).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np

#: Pixels per inch the page images are normalised to: 7-pt table digits are then ~18 px high.
PAGE_DPI = 200
#: Page images are scaled to this width (A4 at PAGE_DPI), by at most a factor of two either way.
_PAGE_WIDTH_PX = 1654
#: Width of the copy the detector sees.
_DET_WIDTH_PX = 1000
_MAX_SKEW_DEGREES = 5.0
_SKEW_STEP = 0.2
#: Lines above a table region recognised with it (its heading), in line heights.
_HEADING_LINES = 4
#: Prose lines recognised at the top of the first page and the bottom of the last.
_TITLE_LINES = 6
_SIGNATURE_LINES = 5
#: A page with at least this many table lines is a table page (a table's last row may be alone on a page).
_MIN_TABLE_LINES = 1
#: Recovered ink read with less confidence than this (and not as a number) is noise, not text.
_NOISE_CONFIDENCE = 0.5
#: A box whose whole text is a dash-like glyph: PP-OCR reads a lone '—' as '一'.
_DASH_LIKE = re.compile(r"^[一—－―─\-_]{1,2}$")
#: A box whose whole text is a round glyph: a lone '0' that PP-OCR read as a letter or a full stop.
#: Read as the digit (its low confidence is kept, so the cell is still flagged), lest the cell
#: pass for a label and shift its row.
_ZERO_LIKE = re.compile(r"^[oO〇○。°.·]$")
_NUMBER = re.compile(r"^[\d,.]+$")
#: A mark a speck of dirt left beside a number: '0°', '7.'.
_SPECK_AFTER_NUMBER = re.compile(r"^(\d[\d,.]*?)[°.·'`]$")


@dataclass(frozen=True)
class OcrBox:
    """Recognised text at its place on the deskewed page, in pixels at PAGE_DPI."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    confidence: float
    #: The ruled table cell the box sits in (0: outside every table): boxes of two cells are two cells
    #: to the table reader, however close their text.
    cell: int = 0


@cache
def _engine():
    """One RapidOCR per process; CUDA when ONNX Runtime has it."""
    from rapidocr_onnxruntime import RapidOCR

    cuda = execution_provider() == "CUDAExecutionProvider"
    return RapidOCR(
        intra_op_num_threads=1, inter_op_num_threads=1,
        det_use_cuda=cuda, cls_use_cuda=cuda, rec_use_cuda=cuda,
        det_box_thresh=0.4,
    )


def execution_provider() -> str:
    """What runs the models: 'CUDAExecutionProvider' or 'CPUExecutionProvider'."""
    import onnxruntime

    return "CUDAExecutionProvider" if "CUDAExecutionProvider" in onnxruntime.get_available_providers() else "CPUExecutionProvider"


@dataclass
class DetectedPage:
    """A deskewed page with its text boxes found, before any is recognised."""

    gray: np.ndarray
    #: Ink without the ruling lines (255 ink, 0 paper).
    ink: np.ndarray
    boxes: list[np.ndarray]
    #: boxes[:detected] are the detector's; the rest, ink it missed.
    detected: int
    #: The ruled cell of each box (0 outside tables).
    cells: list[int]

    def lines(self) -> list[list[int]]:
        """Box indices grouped into lines, top to bottom."""
        order = sorted(range(len(self.boxes)), key=lambda i: self.boxes[i][:, 1].min())
        lines: list[list[int]] = []
        extents: list[tuple[float, float]] = []
        for index in order:
            top, bottom = float(self.boxes[index][:, 1].min()), float(self.boxes[index][:, 1].max())
            for k in range(len(lines) - 1, max(len(lines) - 4, -1), -1):
                low, high = extents[k]
                if min(high, bottom) - max(low, top) >= 0.5 * min(bottom - top, high - low):
                    lines[k].append(index)
                    extents[k] = (min(low, top), max(high, bottom))
                    break
            else:
                lines.append([index])
                extents.append((top, bottom))
        return lines


# ---- one page: ink, skew, boxes ------------------------------------------------------------

def normalise_page(rgb: np.ndarray) -> np.ndarray:
    """The page as ink on white (seals dropped), at PAGE_DPI for an A4-wide page."""
    import cv2

    gray = rgb.max(axis=2) if rgb.ndim == 3 else rgb
    scale = min(2.0, max(0.5, _PAGE_WIDTH_PX / gray.shape[1]))
    if abs(scale - 1.0) > 0.05:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return np.ascontiguousarray(gray)


def _ink_mask(gray: np.ndarray, *, despeckle: bool = True) -> np.ndarray:
    """Ink as 255, paper as 0; isolated noise specks removed first (which also removes hairline rules)."""
    import cv2

    _, mask = cv2.threshold(cv2.medianBlur(gray, 3) if despeckle else gray, 0, 255,
                            cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return mask


def skew_angle(mask: np.ndarray) -> float:
    """The rotation (degrees) that makes text rows and ruling lines horizontal."""
    import cv2

    scale = 600 / mask.shape[1]
    small = cv2.resize(mask, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    height, width = small.shape
    centre = (width / 2, height / 2)
    best, best_score = 0.0, -1.0
    for angle in np.arange(-_MAX_SKEW_DEGREES, _MAX_SKEW_DEGREES + 1e-9, _SKEW_STEP):
        rotated = cv2.warpAffine(small, cv2.getRotationMatrix2D(centre, float(angle), 1.0), (width, height))
        score = float(np.var(rotated.sum(axis=1, dtype=np.float64)))
        if score > best_score:
            best, best_score = float(angle), score
    return best


def deskew(gray: np.ndarray) -> np.ndarray:
    """The page turned straight (a scan a few degrees off), paper-white where the corners were."""
    import cv2

    angle = skew_angle(_ink_mask(gray))
    if abs(angle) < _SKEW_STEP / 2:
        return gray
    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    return cv2.warpAffine(gray, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=255)


def _rect(x0: float, top: float, x1: float, bottom: float) -> np.ndarray:
    return np.array([[x0, top], [x1, top], [x1, bottom], [x0, bottom]], dtype=np.float32)


def detect(gray: np.ndarray) -> DetectedPage:
    """Text boxes (4x2 corner arrays, full-resolution pixels) on a deskewed page: the detector's,
    cut where a ruling line crosses them (narrow cells side by side), then ink it missed."""
    import cv2

    scale = min(1.0, _DET_WIDTH_PX / gray.shape[1])
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    found, _ = _engine().text_det(np.dstack([small] * 3))
    mask = _ink_mask(gray)
    horizontal, vertical = _ruling_lines(_ink_mask(gray, despeckle=False))
    boxes = _without_overlaps([part for b in (found if found is not None else [])
                               for part in _cut_at_rules(np.asarray(b, np.float32) / scale, vertical)])
    rules = cv2.dilate(horizontal | vertical, np.ones((3, 3), np.uint8))
    ink = cv2.bitwise_and(mask, cv2.bitwise_not(rules))
    missed = _missed_ink(ink, boxes)
    cells = _cells_of(boxes + missed, rules)
    # Missed ink counts inside ruled cells only: elsewhere it is a piece of a big heading's glyph.
    kept = [box for box, cell in zip(missed, cells[len(boxes):]) if cell]
    return DetectedPage(gray, ink, boxes + kept, detected=len(boxes),
                        cells=cells[: len(boxes)] + [cell for cell in cells[len(boxes):] if cell])


def _cells_of(boxes: list[np.ndarray], rules: np.ndarray) -> list[int]:
    """The ruled cell (a region the ruling lines enclose) each box's centre lies in; 0 for the
    region around the tables, the page itself."""
    import cv2

    if not boxes:
        return []
    _, labels = cv2.connectedComponents(np.where(rules > 0, 0, 255).astype(np.uint8), connectivity=4)
    height, width = labels.shape
    centres = [(min(int(b[:, 1].mean()), height - 1), min(int(b[:, 0].mean()), width - 1)) for b in boxes]
    outside = labels[0, 0]
    return [0 if labels[y, x] == outside else int(labels[y, x]) for y, x in centres]


def _ruling_lines(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal, vertical) ruling lines of the tables: long straight runs of ink."""
    import cv2

    # Longer than any glyph's stroke (a bold 30-pt title's '一' is ~80 px at 200 dpi), shorter than a
    # table's rules, which run on across its cells.
    height, width = mask.shape
    horizontal = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(width // 14, 20), 1)))
    vertical = cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(height // 22, 20))))
    return horizontal, vertical


def _cut_at_rules(box: np.ndarray, vertical: np.ndarray) -> list[np.ndarray]:
    """A box cut where a vertical ruling line runs through its whole height."""
    x0, x1 = int(max(box[:, 0].min(), 0)), int(min(box[:, 0].max(), vertical.shape[1]))
    top, bottom = int(max(box[:, 1].min(), 0)), int(min(box[:, 1].max(), vertical.shape[0]))
    if bottom - top < 4 or x1 - x0 < 4:
        return [box]
    inner = vertical[top + (bottom - top) // 4 : bottom - (bottom - top) // 4, x0:x1]
    ruled = np.flatnonzero(inner.min(axis=0) > 0)
    if not len(ruled):
        return [box]
    # Pieces keep clear of the rule (a cell's padding), so that the table reader sees two cells.
    margin = 0.35 * (bottom - top)
    cuts = [x0 - margin] + [x0 + int(c) for c in ruled] + [x1 + margin]
    pieces = []
    for left, right in zip(cuts, cuts[1:]):
        if right - left - 2 * margin > 0.3 * (bottom - top):
            pieces.append(_rect(left + margin, top, right - margin, bottom))
    return pieces or [box]


def _without_overlaps(boxes: list[np.ndarray]) -> list[np.ndarray]:
    """Boxes less those lying mostly (70%) inside a bigger one: the detector sometimes finds a
    word twice, once alone and once with its neighbour."""
    spans = [(b[:, 0].min(), b[:, 0].max(), b[:, 1].min(), b[:, 1].max()) for b in boxes]
    areas = [(x1 - x0) * (y1 - y0) for x0, x1, y0, y1 in spans]
    kept = []
    for i, (x0, x1, y0, y1) in enumerate(spans):
        inside = any(
            j != i and (areas[j] > areas[i] or (areas[j] == areas[i] and j < i))
            and max(min(x1, a1) - max(x0, a0), 0) * max(min(y1, b1) - max(y0, b0), 0) >= 0.7 * areas[i]
            for j, (a0, a1, b0, b1) in enumerate(spans)
        )
        if not inside:
            kept.append(boxes[i])
    return kept


def _missed_ink(mask: np.ndarray, boxes: list[np.ndarray]) -> list[np.ndarray]:
    """Glyph clusters of the ink (ruling lines removed) outside every detected box: lone digits in table cells."""
    import cv2

    height, width = mask.shape
    heights = [float(b[:, 1].max() - b[:, 1].min()) for b in boxes]
    text_height = float(np.median(heights)) if heights else 24.0
    covered = np.zeros_like(mask)
    for box in boxes:
        cv2.fillPoly(covered, [box.astype(np.int32)], 255)
    # The detector's boxes can clip a glyph's edge: what sticks out is not a glyph of its own.
    margin = cv2.getStructuringElement(cv2.MORPH_RECT, (max(int(text_height * 0.6), 5), 5))
    mask = cv2.bitwise_and(mask, cv2.bitwise_not(cv2.dilate(covered, margin)))
    grouped = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (max(int(text_height * 0.4), 3), 3)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    recovered = []
    for x, y, w, h, area in stats[1:count]:
        if 0.4 * text_height <= h <= 2.0 * text_height and w <= 12 * text_height and area >= 0.1 * text_height ** 2:
            pad = 0.3 * h
            recovered.append(_rect(max(x - pad, 0), max(y - pad, 0), min(x + w + pad, width), min(y + h + pad, height)))
    return recovered


def _padded(box: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The box with half its height of margin all round."""
    x0, x1, top, bottom = box[:, 0].min(), box[:, 0].max(), box[:, 1].min(), box[:, 1].max()
    pad = 0.5 * (bottom - top)
    return _rect(max(x0 - pad, 0), max(top - pad, 0), min(x1 + pad, shape[1] - 1), min(bottom + pad, shape[0] - 1))


def _widened(box: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A box at least 0.75 times as wide as it is high: RapidOCR turns a crop 1.5 times higher than
    wide on its side (for vertical text), and a lone '1' read sideways comes out as '→'. Wider
    still, a lone '0' comes out as '。'."""
    x0, x1, top, bottom = box[:, 0].min(), box[:, 0].max(), box[:, 1].min(), box[:, 1].max()
    pad = max(0.75 * (bottom - top) - (x1 - x0), 0) / 2
    if not pad:
        return box.copy()
    return _rect(max(x0 - pad, 0), top, min(x1 + pad, shape[1] - 1), bottom)


def _ink_extent(ink: np.ndarray, box: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, x1, top, bottom) of the ink inside a box: the detector pads its boxes, and padded boxes
    of neighbouring cells would look like one cell's words to the table reader."""
    x0, x1 = int(max(box[:, 0].min(), 0)), int(min(box[:, 0].max(), ink.shape[1]))
    top, bottom = int(max(box[:, 1].min(), 0)), int(min(box[:, 1].max(), ink.shape[0]))
    inside = ink[top:bottom, x0:x1]
    columns, rows = np.flatnonzero(inside.any(axis=0)), np.flatnonzero(inside.any(axis=1))
    if not len(columns):
        return float(x0), float(x1), float(top), float(bottom)
    return float(x0 + columns[0]), float(x0 + columns[-1] + 1), float(top + rows[0]), float(top + rows[-1] + 1)


def recognise(page: DetectedPage, indices: list[int]) -> list[OcrBox]:
    """Text, confidence and ink extent of the page's boxes at these indices; recovered ink is
    dropped as noise when nothing is read in it with some confidence."""
    if not indices:
        return []
    gray, boxes = page.gray, [page.boxes[i] for i in indices]
    engine = _engine()
    image = np.dstack([gray] * 3)
    crops = engine.get_crop_img_list(image, [_widened(b, gray.shape) for b in boxes])
    results = list(engine.text_rec(crops)[0])
    # Nothing read in a box of ink: once more with a margin round it (a faint lone '0' needs context).
    empty = [k for k, result in enumerate(results) if not str(result[0]).strip()]
    if empty:
        margins = [_widened(_padded(boxes[k], gray.shape), gray.shape) for k in empty]
        for k, result in zip(empty, engine.text_rec(engine.get_crop_img_list(image, margins))[0]):
            results[k] = result
    out = []
    for index, box, result in zip(indices, boxes, results):
        text, confidence = " ".join(str(result[0]).split()), float(result[1])
        if not text:
            continue
        if _ZERO_LIKE.match(text):
            text = "0"
        elif speck := _SPECK_AFTER_NUMBER.match(text):
            text = speck.group(1)
        elif _DASH_LIKE.match(text) and (box[:, 0].max() - box[:, 0].min()) > 1.2 * (box[:, 1].max() - box[:, 1].min()):
            text = "—"
        # Missed ink read with little confidence is noise, unless it reads as a number: a faint
        # digit is kept, with its low confidence, so that its cell is flagged rather than blank.
        if index >= page.detected and confidence < _NOISE_CONFIDENCE and not _NUMBER.match(text):
            continue
        out.append(OcrBox(text, *_ink_extent(page.ink, box), confidence, page.cells[index]))
    return out


# ---- a document: which boxes are worth recognising -----------------------------------------

def _is_table_line(page: DetectedPage, line: list[int]) -> bool:
    """Two or more boxes side by side with a cell's gap between them."""
    if len(line) < 2:
        return False
    spans = sorted((float(page.boxes[i][:, 0].min()), float(page.boxes[i][:, 0].max())) for i in line)
    height = float(np.median([page.boxes[i][:, 1].max() - page.boxes[i][:, 1].min() for i in line]))
    return any(b[0] - a[1] > 1.0 * height for a, b in zip(spans, spans[1:]))


def boxes_to_read(pages: list[DetectedPage]) -> list[list[int]]:
    """Per page, the indices of the boxes to recognise: table regions with their headings, the
    title lines of the first page, the signature lines of the last."""
    chosen: list[set[int]] = []
    for number, page in enumerate(pages):
        lines = page.lines()
        picked: set[int] = set()
        table = [k for k, line in enumerate(lines) if _is_table_line(page, line)]
        if len(table) >= _MIN_TABLE_LINES:
            for k in range(max(table[0] - _HEADING_LINES, 0), min(table[-1] + 2, len(lines))):
                picked.update(lines[k])
            if table[0] <= _HEADING_LINES and number > 0:
                previous = pages[number - 1].lines()
                for line in previous[-_HEADING_LINES:]:
                    chosen[number - 1].update(line)
        if number == 0:
            for line in lines[:_TITLE_LINES]:
                picked.update(line)
        if number == len(pages) - 1:
            for line in lines[-_SIGNATURE_LINES:]:
                picked.update(line)
        chosen.append(picked)
    return [sorted(c) for c in chosen]


@dataclass(frozen=True)
class OcrPage:
    boxes: list[OcrBox]
    #: The page's height in pixels at PAGE_DPI.
    height: int


def read_pages(images: list[np.ndarray]) -> list[OcrPage]:
    """Each page image (RGB or gray) to its recognised boxes, on the deskewed page at PAGE_DPI."""
    pages = [detect(deskew(normalise_page(image))) for image in images]
    return [OcrPage(recognise(page, indices), page.gray.shape[0]) for page, indices in zip(pages, boxes_to_read(pages))]
