"""Word 97-2003 (.doc) reports: converted by LibreOffice (the filled template saved as .doc by
LibreOffice in the test), and what happens without LibreOffice or when it hangs."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import pytest

import extractors.legacy_doc as legacy_doc
from extractors.formats import OLE2_MAGIC
from extractors.legacy_doc import READER
from flows.pipeline import process_batch
from tests.conftest import HTML_FIXTURES
from tests.expected import fact_differences
from tests.office import AGENCY, SIGNATURE_DATE, YEAR, convert, expected_facts_csv, filled_template
from tests.processes import wait_for


@pytest.fixture(scope="module")
def doc_file(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("doc")
    source = work / "filled-2023.docx"
    source.write_bytes(filled_template())
    converted = convert(source, "doc:MS Word 97", work)
    assert converted.read_bytes().startswith(OLE2_MAGIC)
    return converted


def test_every_cell_of_a_doc_report_is_read_through_libreoffice(doc_file, tmp_path):
    batch = process_batch([str(doc_file)])
    assert batch.files["error"].to_list() == [None]
    report = batch.reports.row(0, named=True)
    assert report["reader"] == READER == "doc/libreoffice+python-docx"
    assert (report["agency"], report["year"]) == (AGENCY, YEAR)
    assert report["signature_date"].isoformat() == SIGNATURE_DATE
    assert fact_differences(batch.facts, expected_facts_csv(tmp_path / "expected.csv")) == []
    assert batch.checks.filter(~batch.checks["passed"]).to_dicts() == []


def test_without_libreoffice_a_doc_fails_saying_to_install_it(doc_file, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice on it
    batch = process_batch([str(doc_file)])
    failed = batch.files.row(0, named=True)
    assert failed["status"] == "failed"
    assert failed["reason"] == "converter_missing"
    assert "needs LibreOffice, which is not installed" in failed["error"]
    assert "apt-get install libreoffice-writer-nogui" in failed["error"]


def gone_or_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_a_hanging_conversion_is_killed_and_reported(doc_file, monkeypatch, tmp_path):
    """The converter's child, which would outlive it by minutes, is killed with it: the whole process group."""
    fake = tmp_path / "soffice"
    child_pid = tmp_path / "child.pid"
    fake.write_text(f"#!/bin/sh\nsh -c 'echo $$ > {child_pid}; exec sleep 300' &\nsleep 300\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin{os.pathsep}/bin")
    # 3 s, not 1: time for the fake to start its child and write its PID even on a loaded machine.
    monkeypatch.setattr(legacy_doc, "CONVERT_TIMEOUT_SECONDS", 3)
    started = time.monotonic()
    failed = process_batch([str(doc_file)]).files.row(0, named=True)
    assert time.monotonic() - started < 15  # at its timeout, not when the fake would have ended
    assert failed["reason"] == "conversion_failed"
    assert "LibreOffice did not convert the .doc file within 3 s" in failed["error"]
    pid = int(child_pid.read_text())
    try:
        wait_for(lambda: gone_or_zombie(pid), 30, f"the converter's child (process {pid}) to be killed with it")
    finally:
        if not gone_or_zombie(pid):  # the test failed: nothing of the fake is left running
            os.killpg(os.getpgid(pid), signal.SIGKILL)


def test_a_web_page_saved_by_word_as_doc_is_read_as_html(tmp_path):
    page = tmp_path / "report.doc"
    page.write_bytes((HTML_FIXTURES / "report_2021_utf8.html").read_bytes())
    batch = process_batch([str(page)])
    assert batch.reports["reader"].to_list() == ["html/lxml"]
    assert fact_differences(batch.facts, HTML_FIXTURES / "report_2021_utf8.facts.csv") == []
