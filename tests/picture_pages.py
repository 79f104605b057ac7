"""An HTML report whose table C is a picture, its ground truth, and scoring OCR-read facts against a truth."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import polars as pl
from lxml import etree

from corpus.report import make_report
from corpus.scan import table_picture
from corpus.tables import label_style, review_table

KEY = ["table_code", "row_code", "col_code"]


@dataclass(frozen=True)
class PicturePage:
    """The page's bytes (table C replaced by `<img src>`), and every printed cell: KEY, value_kind, value."""

    html: bytes
    truth: pl.DataFrame
    texts: dict


def review_as_picture(src: str, extra_pictures: str = "") -> PicturePage:
    """Report 7 of seed 0 as HTML with table C (行政复议、行政诉讼) replaced by `<img src=src>`; `extra_pictures`
    (HTML) is put right after it."""
    report = make_report(0, 7, ("html",))
    root = etree.fromstring(report.rendered.data, etree.HTMLParser())
    table = next(t for t in root.iter("table") if "行政复议" in "".join(t.itertext()) and not t.findall(".//table"))
    picture = etree.fromstring(f"<div><img src='{src}'/>{extra_pictures}</div>", etree.HTMLParser()).find(".//div")
    picture.tail = table.tail
    table.getparent().replace(table, picture)
    truth = pl.DataFrame({"table_code": report.keys.tables, "row_code": report.keys.rows,
                          "col_code": report.keys.cols, "value_kind": [p.kind for p in report.printed],
                          "value": [p.value for p in report.printed]})
    return PicturePage(etree.tostring(root, method="html", encoding=report.rendered.encoding or "utf-8"), truth,
                       {key: printed.text for key, printed in zip(report.keys.keys, report.printed)})


def review_png(page: PicturePage) -> bytes:
    """Table C of the page as a PNG picture (needs a CJK font)."""
    data = io.BytesIO()
    table_picture(review_table(page.texts, label_style(random.Random(0)))).save(data, "PNG")
    return data.getvalue()


def scored(facts: pl.DataFrame, checks: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Truth cells with right (same kind and value) and flagged (an ocr_* check names the cell)."""
    flagged = (
        checks.filter(~pl.col("passed") & pl.col("rule").str.starts_with("ocr_"))
        .select("report_id", pl.col("scope").str.split("/").list.to_struct(fields=KEY).alias("cell"))
        .unnest("cell").unique().with_columns(flagged=pl.lit(True))
    )
    got = facts.join(flagged, on=["report_id", *KEY], how="left").with_columns(pl.col("flagged").fill_null(False))
    scored = truth.join(got, on=["report_id", *KEY], how="left", suffix="_read")
    same_value = (pl.col("value") - pl.col("value_read")).abs().fill_null(0) < 1e-9
    return scored.with_columns(
        right=(pl.col("value_kind") == pl.col("value_kind_read"))
        & (pl.col("value").is_null() == pl.col("value_read").is_null()) & same_value,
        flagged=pl.col("flagged").fill_null(False),
    )
