"""extractors.files.discover walks directories with os.scandir: the same files, in the same order, as Path.rglob."""

from __future__ import annotations

from pathlib import Path

from extractors.files import discover
from extractors.formats import DISCOVERED_SUFFIXES


def rglob_reference(directory: Path) -> list[Path]:
    """What discover found before it used scandir."""
    return sorted(p for p in directory.resolve().rglob("*") if p.is_file() and p.suffix.lower() in DISCOVERED_SUFFIXES)


def test_discover_finds_what_rglob_finds_in_the_same_order(tmp_path):
    corpus = tmp_path / "corpus"
    for name in ("a/b.txt", "a-c.txt", "a/z/B.HTML", "a.b/x.pdf", ".hidden/y.docx", "notes.md", "c/.txt", "d/e.TXT"):
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "far.txt").write_bytes(b"x")
    (corpus / "linked-dir").symlink_to(outside, target_is_directory=True)  # not entered, as rglob does not
    (corpus / "linked.txt").symlink_to(outside / "far.txt")  # a file: taken at its link's path
    (corpus / "broken.txt").symlink_to(tmp_path / "gone.txt")

    found = list(discover([corpus]))
    assert found == rglob_reference(corpus)
    assert [str(p.relative_to(corpus)) for p in found] == [
        ".hidden/y.docx", "a/b.txt", "a/z/B.HTML", "a-c.txt", "a.b/x.pdf", "d/e.TXT", "linked.txt",
    ]
    assert list(discover([corpus, corpus / "a" / "b.txt"])) == found  # each file once
