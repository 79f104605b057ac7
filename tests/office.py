"""Report files made in the tests: the official blank 2021 template (DOCX) filled with known numbers
by python-docx, and converted to PDF and DOC by LibreOffice; the expected facts written alongside."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import docx
import pytest
from docx.table import Table

from tests.conftest import ROOT

REAL_FIXTURES = ROOT / "tests" / "fixtures" / "real"
BLANK_TEMPLATE = REAL_FIXTURES / "blank-template-2021.docx"

AGENCY = "示例县教育局"
YEAR = 2023
TITLE = f"{YEAR}年政府信息公开工作年度报告"
SIGNATURE_DATE = "2024-01-22"

# Table A, in template order: (item, row code, {column code: printed text}).
ACTIVE = [
    ("art20_1", "regulations", {"issued": "2", "repealed": "1", "in_force": "15"}),
    ("art20_1", "normative_documents", {"issued": "12", "repealed": "3", "in_force": "48"}),
    ("art20_5", "administrative_licensing", {"decisions": "1234"}),
    ("art20_6", "administrative_penalty", {"decisions": "567"}),
    ("art20_6", "administrative_coercion", {"decisions": "89"}),
    ("art20_8", "administrative_fees", {"amount_10k_yuan": "12.5"}),
]
REQUEST_COLUMNS = [
    "natural_person", "commercial_enterprise", "research_institution", "social_welfare_org",
    "legal_service_agency", "other_org",
]
HANDLED_ROWS = [
    "granted", "partially_granted",
    "denied.state_secret", "denied.prohibited_by_law", "denied.security_stability", "denied.third_party_rights",
    "denied.internal_affairs", "denied.process_information", "denied.enforcement_files", "denied.administrative_query",
    "unable.not_held", "unable.needs_creation", "unable.unclear_after_correction",
    "not_processed.petition_complaint", "not_processed.duplicate", "not_processed.publication",
    "not_processed.excessive", "not_processed.confirmation",
    "other.no_correction", "other.unpaid_fee", "other.other",
]
REVIEW = {
    "review": ["3", "1", "2", "1", "7"],
    "litigation_direct": ["2", "0", "1", "1", "4"],
    "litigation_after_review": ["1", "1", "0", "0", "2"],
}
REVIEW_COLUMNS = ["upheld", "corrected", "other_result", "pending", "total"]


def request_values() -> dict[str, list[int]]:
    """Table B with every number different enough to catch a shifted column, and every check passing."""
    handled = {row: [(i * 7 + j * 3) % 11 for j in range(6)] for i, row in enumerate(HANDLED_ROWS)}
    total_handled = [sum(values[j] for values in handled.values()) for j in range(6)]
    carried_over = [4, 0, 1, 0, 2, 1]
    carried_forward = [3, 1, 0, 1, 0, 2]
    new_received = [total_handled[j] + carried_forward[j] - carried_over[j] for j in range(6)]
    rows = {"new_received": new_received, "carried_over": carried_over, **handled,
            "total_handled": total_handled, "carried_forward": carried_forward}
    return {row: values + [sum(values)] for row, values in rows.items()}


def _unique_cells(table: Table) -> list[list]:
    """Each row's cells, every merged cell once (where it starts)."""
    seen, rows = set(), []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            if cell._tc not in seen:
                seen.add(cell._tc)
                cells.append(cell)
        rows.append(cells)
    return rows


def _fill(table: Table, values_by_row: list[list[str]]) -> None:
    """Write values into the empty cells of the template's data rows, in order."""
    data_rows = [cells for cells in _unique_cells(table) if any(not c.text.strip() for c in cells)]
    assert len(data_rows) == len(values_by_row), (len(data_rows), len(values_by_row))
    for cells, values in zip(data_rows, values_by_row):
        empty = [c for c in cells if not c.text.strip()]
        assert len(empty) == len(values), ([c.text for c in cells], values)
        for cell, value in zip(empty, values):
            cell.text = value


def filled_template(*, header_repeats: bool = False) -> bytes:
    """The blank 2021 template with a title, an agency, known numbers and a signature."""
    document = docx.Document(str(BLANK_TEMPLATE))
    heading = next(p for p in document.paragraphs if "格式模板" in p.text)
    heading.text = TITLE
    heading.insert_paragraph_before(AGENCY)
    active, requests, review = document.tables
    _fill(active, [list(cells.values()) for _, _, cells in ACTIVE])
    values = request_values()
    _fill(requests, [[str(v) for v in row] for row in values.values()])
    _fill(review, [[v for group in REVIEW.values() for v in group]])
    if header_repeats:
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        for row in requests.rows[:3]:
            properties = row._tr.get_or_add_trPr()
            marker = OxmlElement("w:tblHeader")
            marker.set(qn("w:val"), "true")
            properties.append(marker)
    document.add_paragraph(AGENCY)
    document.add_paragraph("2024年1月22日")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def expected_facts_csv(path: Path, blank: tuple[str, str] | None = None) -> Path:
    """The facts the filled template must yield, in the hand-read CSV format of tests/data; `blank`
    is a (row, column) of table B printed empty."""
    rows = []
    for item, row, cells in ACTIVE:
        rows += [("active_disclosure", item, row, col, "number", text, text) for col, text in cells.items()]
    for row, values in request_values().items():
        for col, value in zip(REQUEST_COLUMNS + ["total"], values):
            printed = "" if (row, col) == blank else str(value)
            rows.append(("requests", "", row, col, "number" if printed else "blank", printed, printed))
    for group, values in REVIEW.items():
        rows += [("review_litigation", "", group, col, "number", v, v) for col, v in zip(REVIEW_COLUMNS, values)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["table_code", "item", "row_code", "col_code", "value_kind", "value", "raw_text"])
        writer.writerows(rows)
    return path


def _missing(what: str) -> None:
    """Skip on a developer's machine without LibreOffice; fail where it must be (.ci/run installs it)."""
    if os.environ.get("NIANBAO_REQUIRE_LIBREOFFICE"):
        pytest.fail(what)
    pytest.skip(what)


def convert(source: Path, target_format: str, out_dir: Path) -> Path:
    """LibreOffice headless conversion ('pdf', 'doc:MS Word 97'), with a private profile."""
    soffice = shutil.which("soffice")
    if not soffice:
        _missing("LibreOffice (soffice) is needed for these tests: apt-get install libreoffice-writer-nogui")
    if target_format == "pdf":
        fc_list = shutil.which("fc-list")
        chinese_fonts = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True).stdout if fc_list else ""
        if not chinese_fonts.strip():
            _missing("LibreOffice needs a Chinese font to print the report into a PDF with a text layer: "
                     "apt-get install fonts-wqy-zenhei")
    with tempfile.TemporaryDirectory(prefix="nianbao-test-profile-") as profile:
        subprocess.run(
            [soffice, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
             "--convert-to", target_format, "--outdir", str(out_dir), str(source)],
            check=True, capture_output=True, timeout=180, env={**os.environ, "HOME": profile},
        )
    extension = target_format.split(":")[0]
    converted = out_dir / f"{source.stem}.{extension}"
    assert converted.is_file(), f"LibreOffice made no {converted.name}"
    return converted
