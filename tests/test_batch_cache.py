"""A retried flow run reuses an extracted batch only for the same files, bytes and code."""

from __future__ import annotations

import flows.tasks
from extractors.rawstore import write_pictures
from flows.plan import PlannedFile
from flows.tasks import batch_cache_key

BATCH = [PlannedFile("/reports/a.html", "aa" * 32, 10), PlannedFile("/reports/b.html", "bb" * 32, 20)]


def key(files=BATCH) -> str:
    return batch_cache_key(None, {"files": files})


def test_the_same_files_with_the_same_bytes_share_a_key():
    assert key() == key(list(BATCH))
    assert key().startswith("nianbao-extract-")


def test_a_changed_file_is_never_served_from_cache():
    changed = [BATCH[0], PlannedFile("/reports/b.html", "cc" * 32, 20)]
    assert key(changed) != key()


def test_a_moved_file_is_never_served_from_cache():
    # report_id is derived from the path, so the same bytes elsewhere are another report
    moved = [BATCH[0], PlannedFile("/elsewhere/b.html", "bb" * 32, 20)]
    assert key(moved) != key()


def test_a_new_parser_version_is_never_served_from_cache(monkeypatch):
    before = key()
    monkeypatch.setattr(flows.tasks, "PARSER_VERSION", "next")
    assert key() != before


def test_an_edit_to_the_extraction_code_is_never_served_from_cache(monkeypatch):
    before = key()
    monkeypatch.setattr(flows.tasks, "extraction_code_version", lambda: "edited")
    assert key() != before


def test_a_crawled_page_with_other_pictures_is_never_served_from_cache(tmp_path):
    page = tmp_path / "raw" / ("dd" * 32 + ".html")
    page.parent.mkdir()
    page.write_text("<img src='t.png'>", encoding="utf-8")
    crawled = [PlannedFile(str(page), "dd" * 32, 17, url="http://example.gov.cn/ndbg/1.html")]
    without = key(crawled)
    write_pictures(page, {"t.png": "ee.png"})
    with_one = key(crawled)
    write_pictures(page, {"t.png": "ff.png"})
    assert len({without, with_one, key(crawled)}) == 3
