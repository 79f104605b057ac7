"""DOCX reports: the official blank 2021 template filled with known numbers by python-docx; merged
cells read once; zips that are not Word files, zip bombs and external entities refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

import extractors.docx as docx_reader
from extractors.document import Paragraph, Row
from extractors.docx import READER, parse_docx
from extractors.files import discover
from flows.pipeline import process_batch
from tests.expected import fact_differences
from tests.office import AGENCY, BLANK_TEMPLATE, SIGNATURE_DATE, TITLE, YEAR, expected_facts_csv, filled_template


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("docx") / "filled-2023.docx"
    path.write_bytes(filled_template())
    return path


@pytest.fixture(scope="module")
def filled_batch(filled):
    return process_batch([str(filled)])


def _failure(path: Path) -> dict:
    batch = process_batch([str(path)])
    assert batch.reports.height == 0
    return batch.files.row(0, named=True)


def test_every_cell_of_the_filled_template_is_read(filled_batch, tmp_path):
    assert filled_batch.files["error"].to_list() == [None]
    assert fact_differences(filled_batch.facts, expected_facts_csv(tmp_path / "expected.csv")) == []


def test_docx_metadata_from_its_paragraphs(filled_batch):
    report = filled_batch.reports.row(0, named=True)
    assert (report["agency"], report["year"], report["title"]) == (AGENCY, YEAR, AGENCY + TITLE)
    assert report["signature_date"].isoformat() == SIGNATURE_DATE
    assert report["reader"] == READER == "docx/python-docx"
    assert (report["template_version"], report["requests_template_version"]) == ("2021", "2021")
    assert report["encoding"] is None


def test_filled_template_passes_every_check(filled_batch):
    assert filled_batch.checks.filter(~filled_batch.checks["passed"]).to_dicts() == []


def test_merged_cells_are_read_once(filled):
    # python-docx itself repeats a merged cell in every grid position it spans ...
    table_b = docx.Document(str(filled)).tables[1]
    assert [c.text for c in table_b.rows[0].cells].count("申请人情况") == 7
    assert [c.text for c in table_b.rows[8].cells][:2] == ["三、本年度办理结果", "（三）不予公开"]
    # ... the reader gives each <w:tc> once, where it starts, as HTML's colspan/rowspan would.
    rows = [b.cells for b in parse_docx(str(filled), filled.read_bytes()).blocks if isinstance(b, Row)]
    assert ("第二十条第（一）项",) in rows
    assert ("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况") in rows
    assert ("自然人", "法人或其他组织", "总计") in rows
    assert ("行政许可", "1234") in rows  # the value cell spans three grid columns
    state_secret = next(r for r in rows if "1.属于国家秘密" in r)
    assert state_secret[:2] == ("（三）不予公开", "1.属于国家秘密") and len(state_secret) == 9
    prohibited = next(r for r in rows if "2.其他法律行政法规禁止公开" in r)
    assert prohibited[0] == "2.其他法律行政法规禁止公开" and len(prohibited) == 8
    assert sum("三、本年度办理结果" in r for r in rows) == 1


def test_title_agency_and_signature_are_paragraphs(filled):
    paragraphs = [b.text for b in parse_docx(str(filled), filled.read_bytes()).blocks if isinstance(b, Paragraph)]
    assert paragraphs[:2] == [AGENCY, TITLE]
    assert paragraphs[-2:] == [AGENCY, "2024年1月22日"]


def test_the_blank_template_loads_with_every_cell_blank():
    batch = process_batch([str(BLANK_TEMPLATE)])
    # The template's title names no agency or year: it is not a report of any year.
    assert batch.files["reason"].to_list() == ["missing_metadata"]


def test_docx_files_are_found_in_directories(tmp_path, filled):
    for name in ("a.docx", "b.pdf", "c.doc", "d.DOCX", "e.xlsx"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in discover([tmp_path])] == ["a.docx", "b.pdf", "c.doc", "d.DOCX"]


def _track(paragraph, *, deleted: str, inserted: str, revision: int) -> None:
    """Rewrite the paragraph as Word tracks a correction: the text before `inserted`, `deleted` struck out, `inserted`
    added, the rest of the text; the correction moved-from a stale copy at the end (moveFrom), as when pasting over."""
    before, _, after = paragraph.text.partition(inserted)
    paragraph.text = before
    mark = f'{nsdecls("w")} w:author="审核" w:date="2024-01-20T09:00:00Z"'
    for xml in (
        f'<w:del w:id="{revision}" {mark}><w:r><w:delText>{deleted}</w:delText></w:r></w:del>',
        f'<w:ins w:id="{revision + 1}" {mark}><w:r><w:t>{inserted}</w:t></w:r></w:ins>',
        f'<w:r {nsdecls("w")}><w:t>{after}</w:t></w:r>',
        f'<w:moveFrom w:id="{revision + 2}" {mark}><w:r><w:t>{deleted}</w:t></w:r></w:moveFrom>',
    ):
        paragraph._p.append(parse_xml(xml))


def test_a_report_published_with_its_tracked_changes_reads_as_the_final_text(tmp_path):
    """Corrections left unaccepted sit in <w:ins> (python-docx's text drops them): the year of the title and of the
    signature, and a corrected number, are read as corrected, never as what was deleted or moved away."""
    document = docx.Document(io.BytesIO(filled_template()))
    title = next(p for p in document.paragraphs if p.text == TITLE)
    _track(title, deleted=str(YEAR - 1), inserted=str(YEAR), revision=1)
    _track(document.paragraphs[-1], deleted="2023", inserted="2024", revision=4)
    requests = document.tables[1]
    carried_forward = next(row for row in requests.rows if row.cells[0].text.startswith("四、"))
    natural_person = carried_forward.cells[3].paragraphs[0]  # three grid columns of label, then the numbers
    _track(natural_person, deleted="9", inserted=natural_person.text, revision=7)
    tracked = tmp_path / "tracked.docx"
    document.save(tracked)

    paragraphs = [b.text for b in parse_docx(str(tracked), tracked.read_bytes()).blocks if isinstance(b, Paragraph)]
    assert paragraphs[:2] == [AGENCY, TITLE]
    assert paragraphs[-1] == "2024年1月22日"
    batch = process_batch([str(tracked)])
    report = batch.reports.row(0, named=True)
    assert (report["agency"], report["year"], report["signature_date"].isoformat()) == (AGENCY, YEAR, SIGNATURE_DATE)
    assert fact_differences(batch.facts, expected_facts_csv(tmp_path / "expected.csv")) == []


def test_a_text_box_is_read_once_as_its_own_paragraph(tmp_path):
    """Word stores a text box twice (DrawingML and a VML fallback) inside the run that anchors it."""
    document = docx.Document(io.BytesIO(filled_template()))
    title = next(p for p in document.paragraphs if p.text == TITLE)
    box = "<w:txbxContent><w:p><w:r><w:t>（此件公开发布）</w:t></w:r></w:p></w:txbxContent>"
    namespaces = (f'{nsdecls("w")} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
                  'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
                  'xmlns:v="urn:schemas-microsoft-com:vml"')
    title._p.append(parse_xml(
        f'<w:r {namespaces}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>'
        f"<wps:txbx>{box}</wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict><v:textbox>{box}</v:textbox>"
        "</w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    ))
    boxed = tmp_path / "boxed.docx"
    document.save(boxed)
    paragraphs = [b.text for b in parse_docx(str(boxed), boxed.read_bytes()).blocks if isinstance(b, Paragraph)]
    assert paragraphs[:3] == [AGENCY, "（此件公开发布）", TITLE]


def test_tabs_breaks_and_hyphens_in_a_run_read_as_python_docx_reads_them(tmp_path):
    """Runs are read from their XML: a tab or line break separates words, a page break joins them, a
    non-breaking hyphen is a hyphen, as python-docx's Paragraph.text gives them."""
    document = docx.Document(io.BytesIO(filled_template()))
    paragraph = document.add_paragraph()
    paragraph._p.append(parse_xml(
        f'<w:r {nsdecls("w")}><w:t>二、主动公开</w:t><w:tab/><w:t>政府信息</w:t><w:br/><w:t>情况</w:t>'
        '<w:br w:type="page"/><w:t>续</w:t><w:cr/><w:t>2024</w:t><w:noBreakHyphen/><w:t>01</w:t><w:ptab/>'
        '<w:t>止</w:t></w:r>'
    ))
    runs = tmp_path / "runs.docx"
    document.save(runs)
    paragraphs = [b.text for b in parse_docx(str(runs), runs.read_bytes()).blocks if isinstance(b, Paragraph)]
    assert paragraphs[-1] == "二、主动公开 政府信息 情况续 2024-01 止"
    assert paragraphs[-1] == " ".join(docx.Document(str(runs)).paragraphs[-1].text.split())


# ---- refused -------------------------------------------------------------------------------

def test_a_docx_that_is_not_a_zip_is_refused(tmp_path):
    fake = tmp_path / "report.docx"
    fake.write_text("2023年政府信息公开工作年度报告", encoding="utf-8")
    failed = _failure(fake)
    assert failed["reason"] == "unreadable_container"
    assert failed["error"] == f"{fake}: not a DOCX file: it is not a zip archive (a .docx is a zip of XML parts)"


def test_a_zip_that_is_not_a_word_document_is_refused(tmp_path):
    other = tmp_path / "report.docx"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("hello.txt", "hello")
    failed = _failure(other)
    assert failed["reason"] == "unreadable_container"
    assert "not a readable Word document" in failed["error"]


def test_a_macro_enabled_document_is_refused_as_python_docx_refuses_it(tmp_path):
    """Only the main part is parsed, found through the package's relationships and checked by its
    content type, as docx.Document checks it."""
    source = zipfile.ZipFile(io.BytesIO(filled_template()))
    macro = tmp_path / "report.docx"
    with zipfile.ZipFile(macro, "w") as archive:
        for member in source.infolist():
            data = source.read(member)
            if member.filename == "[Content_Types].xml":
                data = data.replace(b"openxmlformats-officedocument.wordprocessingml.document.main+xml",
                                    b"ms-word.document.macroEnabled.main+xml")
            archive.writestr(member, data)
    with pytest.raises(ValueError, match="not a Word file"):
        docx.Document(str(macro))
    failed = _failure(macro)
    assert failed["reason"] == "unreadable_container"
    assert "not a readable Word document (ValueError: not a Word file: its main part word/document.xml is " \
        "application/vnd.ms-word.document.macroEnabled.main+xml)" in failed["error"]

def _zip_bomb(path: Path) -> Path:
    """A real DOCX whose document.xml is padded with 40 MB of zeros: it deflates about 1000x."""
    source = zipfile.ZipFile(io.BytesIO(filled_template()))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"</w:body>", b"<!--" + b"0" * 40_000_000 + b"--></w:body>")
            archive.writestr(item.filename, data)
    return path


def test_a_zip_bomb_is_refused(tmp_path):
    bomb = _zip_bomb(tmp_path / "bomb.docx")
    assert bomb.stat().st_size < 200_000
    failed = _failure(bomb)
    assert failed["reason"] == "unsafe_archive"
    assert "refused as a zip bomb: member 'word/document.xml' inflates" in failed["error"]


def test_an_oversized_member_is_refused(tmp_path, monkeypatch, filled):
    monkeypatch.setattr(docx_reader, "MAX_MEMBER_BYTES", 20_000)
    failed = _failure(filled)
    assert failed["reason"] == "unsafe_archive"
    assert "inflates to" in failed["error"] and "(limit 20000)" in failed["error"]


def test_members_adding_up_past_the_limit_are_refused(tmp_path, monkeypatch, filled):
    monkeypatch.setattr(docx_reader, "MAX_TOTAL_BYTES", 50_000)
    failed = _failure(filled)
    assert failed["reason"] == "unsafe_archive"
    assert "more than 50000 bytes in all" in failed["error"]


def test_external_entities_are_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    source = zipfile.ZipFile(io.BytesIO(filled_template()))
    hostile = tmp_path / "hostile.docx"
    with zipfile.ZipFile(hostile, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                declaration, _, body = data.partition(b"?>")
                doctype = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'.encode()
                data = declaration + b"?>" + doctype + body.replace(
                    "示例县教育局".encode(), "示例县教育局&xxe;".encode(), 1
                )
            archive.writestr(item.filename, data)
    document = parse_docx(str(hostile), hostile.read_bytes())
    texts = [b.text for b in document.blocks if isinstance(b, Paragraph)]
    assert texts[0] == AGENCY  # the entity reference is dropped, the file's content never read
    assert not any("TOP-SECRET" in t for t in texts)


def test_a_report_set_inside_one_layout_table_is_read_as_content(tmp_path):
    from docx.oxml import OxmlElement

    document = docx.Document(io.BytesIO(filled_template()))
    content = [child for child in document.element.body.iterchildren() if not child.tag.endswith("}sectPr")]
    cell = document.add_table(rows=1, cols=1).cell(0, 0)._tc  # the frame, at the end of the body
    for paragraph in cell.findall(qn("w:p")):
        cell.remove(paragraph)
    for child in content:
        cell.append(child)
    cell.append(OxmlElement("w:p"))  # a cell ends with a paragraph
    framed = tmp_path / "framed.docx"
    document.save(framed)
    assert len(docx.Document(str(framed)).tables) == 1  # at the top level, only the frame
    batch = process_batch([str(framed)])
    assert batch.files["error"].to_list() == [None]
    assert fact_differences(batch.facts, expected_facts_csv(tmp_path / "expected.csv")) == []
