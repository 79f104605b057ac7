"""Scans read by OCR: image-only PDFs, image files, pictures in HTML; confidence on facts, flags
in checks; bad images refused with their own reasons."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import duckdb
import polars as pl
import pytest
from PIL import Image

from corpus.scan import font_file
from corpus.synth import generate
from extractors.scan import local_pictures
from flows.pipeline import process_batch
from tests.picture_pages import KEY, review_as_picture, review_png
from tests.picture_pages import scored as _scored
from transforms.checks import OCR_MIN_CONFIDENCE, run_checks
from warehouse.schema import SCHEMA_VERSION, ensure_schema

ROOT = Path(__file__).resolve().parents[1]
HUAIAN = ROOT / "tests" / "fixtures" / "real" / "huaian-city-government-2024.pdf"
HUAIAN_FACTS = ROOT / "tests" / "data" / "real" / "huaian-city-government-2024.facts.csv"
needs_font = pytest.mark.skipif(font_file() is None, reason="no CJK font to draw scans: apt-get install fonts-wqy-zenhei")


def _failure(path: Path) -> dict:
    batch = process_batch([str(path)])
    assert batch.reports.height == 0
    return batch.files.row(0, named=True)


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims width x height pixels: what a decompression bomb looks like before decoding."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# ---- bad input ------------------------------------------------------------------------------

def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(20_000, 20_000))
    failed = _failure(bomb)
    assert (failed["status"], failed["reason"]) == ("failed", "image_too_large")
    assert failed["error"].startswith(f"{bomb}: Image size (400000000 pixels) exceeds limit")
    smaller = tmp_path / "smaller.png"  # below pillow's own limit, above nianbao's
    smaller.write_bytes(_png_header_only(8_000, 8_000))
    assert _failure(smaller)["error"] == (
        f"{smaller}: page 1 is 8000 x 8000 pixels, more than the 40,000,000 nianbao decodes (a decompression "
        "bomb, or a scan at a needlessly high resolution: rescan at 300 dpi)"
    )


def test_a_corrupt_image_fails_with_its_own_reason(tmp_path):
    data = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(data, "JPEG")
    corrupt = tmp_path / "scan.jpg"
    corrupt.write_bytes(data.getvalue()[:200])
    failed = _failure(corrupt)
    assert failed["reason"] == "corrupt_image"
    assert failed["error"].startswith(f"{corrupt}: not a readable image (")


def test_a_scanned_page_with_no_text_and_no_table_fails_with_no_text_found(tmp_path):
    blank = tmp_path / "blank.pdf"
    Image.new("RGB", (1240, 1754), "white").save(blank, "PDF", resolution=150)
    failed = _failure(blank)
    assert failed["reason"] == "no_text_found"
    assert failed["error"] == (f"{blank}: no text found: the PDF has no text layer and OCR finds no text on its "
                               "pages (blank scans?)")


def test_only_pictures_beside_the_html_page_are_read(tmp_path):
    (tmp_path / "pics").mkdir()
    for name in ("pics/a.png", "b.JPG", "c.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path.parent / "outside.png").write_bytes(b"x")
    page = str(tmp_path / "report.html")
    pictures = [(0, "pics/a.png"), (1, "http://example.gov.cn/t.png"), (2, "../outside.png"), (3, "b.JPG?v=2"),
                (4, "c.txt"), (5, "data:image/png;base64,AAAA"), (6, "missing.png"), (7, "//cdn.example/x.png")]
    assert local_pictures(page, pictures) == [(0, tmp_path / "pics/a.png"), (3, tmp_path / "b.JPG")]


# ---- confidence and flags -------------------------------------------------------------------

def _facts_of_a_fixture() -> pl.DataFrame:
    batch = process_batch([str(ROOT / "tests" / "fixtures" / "html" / "report_2021_utf8.html")])
    assert batch.checks.filter(~pl.col("passed")).is_empty()
    return batch.facts


def test_facts_of_other_readers_have_no_confidence_and_raise_no_ocr_flag():
    facts = _facts_of_a_fixture()
    assert facts["confidence"].null_count() == facts.height


def test_an_ocr_misread_is_flagged_with_the_value_that_would_make_its_checks_pass():
    facts = _facts_of_a_fixture().with_columns(confidence=pl.when(pl.col("value_kind") != "missing").then(0.99))
    cell = (pl.col("table_code") == "requests") & (pl.col("row_code") == "granted") & (pl.col("col_code") == "natural_person")
    printed = facts.filter(cell)["value"][0]
    misread = facts.with_columns(value=pl.when(cell).then(printed + 5).otherwise("value"),
                                 raw_text=pl.when(cell).then(pl.lit(str(int(printed + 5)))).otherwise("raw_text"))
    outside = pl.DataFrame(schema=dict.fromkeys(("report_id", *KEY), pl.String))
    flags = run_checks(misread, outside).filter(pl.col("rule").str.starts_with("ocr_"))
    assert flags.select("rule", "scope", "passed", "lhs", "rhs").rows() == [
        ("ocr_correction_fits", "requests/granted/natural_person", False, printed + 5, printed)
    ]
    assert "would make requests_handled_total, requests_row_total pass" in flags["detail"][0]

    doubtful = facts.with_columns(confidence=pl.when(cell).then(0.5).otherwise("confidence"))
    flags = run_checks(doubtful, outside).filter(pl.col("rule").str.starts_with("ocr_"))
    assert flags.select("rule", "scope", "lhs", "rhs").rows() == [
        ("ocr_low_confidence", "requests/granted/natural_person", 0.5, OCR_MIN_CONFIDENCE)
    ]


def test_an_older_warehouse_gains_the_confidence_column():
    conn = duckdb.connect(":memory:")
    ensure_schema(conn)
    conn.execute("alter table facts drop column confidence; update schema_info set schema_version = 3")
    ensure_schema(conn)
    assert conn.execute("select count(*) from information_schema.columns where table_name = 'facts' "
                        "and column_name = 'confidence'").fetchone() == (1,)
    assert conn.execute("select schema_version from schema_info").fetchall() == [(SCHEMA_VERSION,)]


# ---- accuracy -------------------------------------------------------------------------------

@pytest.mark.slow
@needs_font
def test_synthetic_scans_are_read_right_or_flagged(tmp_path):
    """Two scanned reports (an image-only PDF and a multi-page TIFF, rotated, blurred, grainy, with a
    seal): every printed cell is read right or flagged, no wrong number goes unflagged."""
    generate(tmp_path, 2, seed=0, formats=("scan",), workers=1)
    reports = pl.read_parquet(tmp_path / "truth_reports.parquet")
    assert sorted(reports["layout"]) == ["scan/pdf", "scan/tiff"]
    batch = process_batch([str(tmp_path / file) for file in reports["file"]])
    assert batch.files["status"].to_list() == ["loaded", "loaded"]
    assert sorted(batch.reports["reader"]) == ["image/rapidocr", "pdf/rapidocr"]
    assert batch.reports.select("agency", "year").sort("agency").rows() == reports.select("agency", "year").sort("agency").rows()
    ids = batch.files.select(file=pl.col("path").str.strip_prefix(f"{tmp_path}/"), report_id="report_id")
    truth = pl.read_parquet(tmp_path / "truth.parquet").join(ids, on="file")
    scored = _scored(batch.facts, batch.checks, truth)
    assert scored.height == truth.height > 300
    assert scored.filter(~pl.col("right") & ~pl.col("flagged")).is_empty()
    printed = batch.facts.filter(pl.col("value_kind") != "missing")
    assert printed["confidence"].null_count() == 0 and printed["confidence"].is_between(0, 1).all()


@pytest.mark.slow
@needs_font
def test_a_table_shown_as_a_picture_in_an_html_page_is_read_in_its_place(tmp_path):
    """An HTML report whose table C is a picture beside the page: read by OCR where the <img> stands."""
    picture_page = review_as_picture("review.png")
    (tmp_path / "review.png").write_bytes(review_png(picture_page))
    page = tmp_path / "report.html"
    page.write_bytes(picture_page.html)

    batch = process_batch([str(page)])
    assert batch.reports["reader"].to_list() == ["html/rapidocr"]
    truth = picture_page.truth.with_columns(report_id=pl.lit(batch.reports["report_id"][0]))
    scored = _scored(batch.facts, batch.checks, truth)
    review = scored.filter(pl.col("table_code") == "review_litigation")
    assert review.height == 15 and review["confidence"].null_count() == 0
    assert scored.filter(~pl.col("right") & ~pl.col("flagged")).is_empty()
    assert scored.filter(pl.col("table_code") != "review_litigation")["confidence"].null_count() == scored.height - 15


@pytest.mark.slow
def test_a_scanned_page_in_a_pdf_with_a_text_layer_is_read_by_ocr(tmp_path):
    """The real PDF with its fifth page (the end of table B, table C) replaced by a scan of it."""
    import pypdf

    from extractors.scan import pdf_page_images

    picture = io.BytesIO()
    Image.fromarray(pdf_page_images(str(HUAIAN), HUAIAN.read_bytes(), [5])[0]).save(picture, "PDF", resolution=200)
    original, writer = pypdf.PdfReader(HUAIAN), pypdf.PdfWriter()
    for number, page in enumerate(original.pages, start=1):
        writer.add_page(pypdf.PdfReader(picture).pages[0] if number == 5 else page)
    mixed = tmp_path / "mixed.pdf"
    with mixed.open("wb") as handle:
        writer.write(handle)

    batch = process_batch([str(mixed)])
    assert batch.reports["reader"].to_list() == ["pdf/rapidocr"]
    truth = pl.read_csv(HUAIAN_FACTS, schema_overrides={"raw_text": pl.String, "value": pl.Float64}).with_columns(
        report_id=pl.lit(batch.reports["report_id"][0]))
    scored = _scored(batch.facts, batch.checks, truth)
    assert scored.filter(~pl.col("right") & ~pl.col("flagged")).is_empty()
    assert scored["right"].sum() >= 198
    ocred = scored.filter(pl.col("confidence").is_not_null())
    # Page 5 holds table C and the rows of table B from （四）3 on: read by OCR; the rest from the text layer.
    assert set(ocred["table_code"]) == {"requests", "review_litigation"}
    assert ocred.filter(pl.col("table_code") == "review_litigation").height == 15
    active = scored.filter(pl.col("table_code") == "active_disclosure")
    assert active.height == active["confidence"].null_count() == 10


@pytest.mark.slow
def test_the_real_report_scanned_is_read_right_or_flagged(tmp_path):
    """The real PDF's pages as pictures in an image-only PDF: 99% or more of its 200 hand-read cells
    right (all 200 when measured), any wrong one flagged."""
    from extractors.scan import pdf_page_images

    pages = [Image.fromarray(page) for page in pdf_page_images(str(HUAIAN), HUAIAN.read_bytes())]
    scan = tmp_path / "huaian-scanned.pdf"
    pages[0].save(scan, "PDF", resolution=200, save_all=True, append_images=pages[1:])
    batch = process_batch([str(scan)])
    assert batch.reports.select("reader", "agency", "year").rows() == [("pdf/rapidocr", "淮安市人民政府", 2024)]
    truth = pl.read_csv(HUAIAN_FACTS, schema_overrides={"raw_text": pl.String, "value": pl.Float64}).with_columns(
        report_id=pl.lit(batch.reports["report_id"][0]))
    scored = _scored(batch.facts, batch.checks, truth)
    assert scored.height == 200
    assert scored["right"].sum() >= 199
    assert scored.filter(~pl.col("right") & ~pl.col("flagged")).is_empty()
