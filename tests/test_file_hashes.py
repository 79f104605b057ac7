"""The plan's index of file hashes (flows/file_hashes.py): a file is read again only when its stat changed."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import polars as pl
import pytest

from flows import file_hashes
from flows.file_hashes import SCHEMA, FileHashes, index_path, stamp_of
from flows.plan import plan_files
from tests.conftest import SAMPLES


@pytest.fixture
def no_racy_window(monkeypatch):
    """Files a test has just written count as settled (else each is hashed again at every run, as it should be)."""
    monkeypatch.setattr(file_hashes, "RACY_SECONDS", 0.0)


@pytest.fixture
def wide_racy_window(monkeypatch):
    """Files a test has just written count as racy however long a loaded machine took to hash them."""
    monkeypatch.setattr(file_hashes, "RACY_SECONDS", 3600.0)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def forbid_reading(monkeypatch) -> None:
    def refuse(self: Path) -> bytes:
        raise AssertionError(f"{self} was read again although its stat had not changed")

    monkeypatch.setattr(Path, "read_bytes", refuse)


def write_index(db: Path, rows: list[tuple]) -> None:
    pl.DataFrame(rows, schema=SCHEMA, orient="row").write_parquet(index_path(db))


@pytest.mark.usefixtures("no_racy_window")
def test_an_unchanged_collection_is_planned_again_without_reading_a_file(samples_copy, tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    first = plan_files([str(samples_copy)], [], str(db))
    assert index_path(db).name == ".w.duckdb.hashes" and index_path(db).exists()
    assert [f.sha256 for f in first.to_process] == [sha256_of(Path(f.path)) for f in first.to_process]

    forbid_reading(monkeypatch)
    again = plan_files([str(samples_copy)], [], str(db))
    assert [(f.path, f.sha256, f.size_bytes) for f in again.to_process] == \
        [(f.path, f.sha256, f.size_bytes) for f in first.to_process]
    assert len(first.to_process) == len(list(SAMPLES.glob("*.txt")))


@pytest.mark.usefixtures("wide_racy_window")
def test_the_index_is_trusted_while_the_stat_is_unchanged_and_not_with_nianbao_rehash(samples_copy, tmp_path,
                                                                                      monkeypatch):
    """An index entry whose stat matches is believed, even when it lies; NIANBAO_REHASH=1 reads every file."""
    db = tmp_path / "w.duckdb"
    report = sorted(samples_copy.glob("*.txt"))[0]
    write_index(db, [(str(report), *stamp_of(report.stat()), "0" * 64)])
    planned = {f.path: f.sha256 for f in plan_files([str(report)], [], str(db)).to_process}
    assert planned == {str(report): "0" * 64}

    monkeypatch.setenv("NIANBAO_REHASH", "1")
    planned = {f.path: f.sha256 for f in plan_files([str(report)], [], str(db)).to_process}
    assert planned == {str(report): sha256_of(report)}
    # The file was written a moment ago: its new hash is not kept (racy), and the false one is gone.
    assert pl.read_parquet(index_path(db)).height == 0


@pytest.mark.usefixtures("no_racy_window")
def test_a_same_size_edit_whose_mtime_was_put_back_is_read_again(tmp_path):
    """The change time moves with every write and no program can set it back."""
    report = tmp_path / "a.txt"
    report.write_bytes(b"rows: 1 2 3")
    before = report.stat()
    hashes = FileHashes(tmp_path / "index")
    assert hashes.hash(str(report)) == (sha256_of(report), 11)
    time.sleep(0.05)  # past the file system's timestamp tick, as any real edit after a run is
    report.write_bytes(b"rows: 1 2 4")
    os.utime(report, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (report.stat().st_size, report.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert hashes.hash(str(report)) == (sha256_of(report), 11)
    assert (hashes.hashed, hashes.trusted) == (2, 0)


@pytest.mark.usefixtures("wide_racy_window")
def test_a_file_modified_just_before_it_was_hashed_is_hashed_again(tmp_path):
    report = tmp_path / "a.txt"
    report.write_bytes(b"written a moment ago")
    hashes = FileHashes(tmp_path / "index")
    hashes.hash(str(report))
    hashes.hash(str(report))
    assert (hashes.hashed, hashes.trusted, hashes.entries) == (2, 0, {})


@pytest.mark.usefixtures("no_racy_window")
def test_an_index_that_cannot_be_read_is_taken_as_empty_and_written_again(tmp_path):
    report = tmp_path / "a.txt"
    report.write_bytes(b"report")
    index = tmp_path / ".w.duckdb.hashes"
    index.write_bytes(b"PAR1 half a file")
    hashes = FileHashes.load(index)
    assert hashes.hash(str(report)) == (sha256_of(report), 6)
    hashes.save()
    assert FileHashes.load(index).entries == {str(report): (stamp_of(report.stat()), sha256_of(report))}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".w.duckdb.hashes", "a.txt"]


@pytest.mark.usefixtures("no_racy_window")
def test_files_not_seen_by_a_run_keep_their_entries(tmp_path):
    """Runs over parts of a collection into one warehouse do not make each other hash everything again."""
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    index = tmp_path / "index"
    hashes = FileHashes.load(index)
    hashes.hash(str(first))
    hashes.save()
    hashes = FileHashes.load(index)
    hashes.hash(str(second))
    hashes.save()
    assert sorted(FileHashes.load(index).entries) == [str(first), str(second)]


def test_an_index_beside_a_read_only_directory_is_not_an_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(file_hashes.os, "replace", refuse)
    hashes = FileHashes(tmp_path / "index", {"x": ((1, 2, 3, 4), "0" * 64)}, changed=True)
    hashes.save()
    assert list(tmp_path.iterdir()) == []
