"""A synthetic DOCX's package: the parts every document of a producer shares, deflated once per
process, and the zip written directly around them and document.xml."""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

from corpus.document import Content
from corpus.docx_markup import XML_DECLARATION, document_xml
from corpus.docx_style import DocxStyle

#: zlib level of every member: 6 takes 2.5 times as long on document.xml for files 25% smaller.
DEFLATE_LEVEL = 3
#: Word writes every zip member with the DOS epoch as its time.
_WORD_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

_CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
    '<Override PartName="/word/settings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>'
    '<Override PartName="/word/fontTable.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>{custom}</Types>'
)
_CUSTOM_TYPE = ('<Override PartName="/docProps/custom.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>')
_RELATIONSHIPS = '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>'
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = (
    f'<Relationship Id="rId3" Type="{_OFFICE}/extended-properties" Target="docProps/app.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    f'<Relationship Id="rId1" Type="{_OFFICE}/officeDocument" Target="word/document.xml"/>'
)
_DOCUMENT_RELATIONSHIPS = (
    f'<Relationship Id="rId3" Type="{_OFFICE}/fontTable" Target="fontTable.xml"/>'
    f'<Relationship Id="rId2" Type="{_OFFICE}/settings" Target="settings.xml"/>'
    f'<Relationship Id="rId1" Type="{_OFFICE}/styles" Target="styles.xml"/>'
)
_GRID_BORDERS = "".join(f'<w:{side} w:val="single" w:color="auto" w:sz="4" w:space="0"/>'
                        for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
_W_ROOT = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_STYLES = (
    f"<w:styles {_W_ROOT}><w:docDefaults><w:rPrDefault><w:rPr>"
    '<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="宋体" w:cs="Times New Roman"/>'
    '<w:kern w:val="2"/><w:sz w:val="21"/><w:szCs w:val="24"/><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/>'
    "</w:rPr></w:rPrDefault><w:pPrDefault/></w:docDefaults>"
    '<w:style w:type="paragraph" w:default="1" w:styleId="{normal}"><w:name w:val="Normal"/><w:qFormat/>'
    '<w:pPr><w:widowControl w:val="0"/><w:jc w:val="both"/></w:pPr></w:style>'
    '<w:style w:type="character" w:default="1" w:styleId="{font}"><w:name w:val="Default Paragraph Font"/>'
    "<w:semiHidden/></w:style>"
    '<w:style w:type="table" w:default="1" w:styleId="{table}"><w:name w:val="Normal Table"/><w:semiHidden/>'
    '<w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/>'
    '<w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/>'
    "</w:tblCellMar></w:tblPr></w:style>"
    '<w:style w:type="table" w:styleId="{grid}"><w:name w:val="Table Grid"/><w:basedOn w:val="{table}"/>'
    f"<w:tblPr><w:tblBorders>{_GRID_BORDERS}</w:tblBorders></w:tblPr></w:style></w:styles>"
)
#: Word names its built-in styles a1, a2, a3 … in Chinese installs; WPS numbers them.
_STYLE_IDS = {"word": {"normal": "a", "font": "a0", "table": "a1", "grid": "a3"},
              "wps": {"normal": "1", "font": "2", "table": "3", "grid": "4"}}
_SETTINGS = (
    f'<w:settings {_W_ROOT}><w:zoom w:percent="100"/><w:bordersDoNotSurroundHeader/><w:bordersDoNotSurroundFooter/>'
    '<w:defaultTabStop w:val="420"/><w:drawingGridVerticalSpacing w:val="156"/>'
    '<w:displayHorizontalDrawingGridEvery w:val="0"/><w:displayVerticalDrawingGridEvery w:val="2"/>'
    '<w:characterSpacingControl w:val="compressPunctuation"/><w:compat><w:spaceForUL/>'
    "<w:balanceSingleByteDoubleByteWidth/><w:doNotLeaveBackslashAlone/><w:ulTrailSpace/><w:doNotExpandShiftReturn/>"
    "<w:adjustLineHeightInTable/><w:useFELayout/></w:compat>{rsids}"
    '<w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/><w:decimalSymbol w:val="."/><w:listSeparator w:val=","/>'
    "</w:settings>"
)
_WORD_RSIDS = ('<w:rsids><w:rsidRoot w:val="00C41F7A"/><w:rsid w:val="0086551B"/><w:rsid w:val="00A62D30"/>'
               '<w:rsid w:val="00C41F7A"/></w:rsids>')
_FONT_NAMES = ("Times New Roman", "宋体", "仿宋_GB2312", "黑体", "方正小标宋简体")
_FONT_TABLE = (f"<w:fonts {_W_ROOT}>"
               + "".join(f'<w:font w:name="{name}"><w:charset w:val="86"/><w:family w:val="auto"/></w:font>'
                         for name in _FONT_NAMES)
               + "</w:fonts>")
_APPLICATION = {"word": ("Microsoft Office Word", "16.0000"), "wps": ("WPS Office_11.1.0.11294", "")}
_WPS_CUSTOM = (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="KSOProductBuildVer">'
    "<vt:lpwstr>2052-11.1.0.11294</vt:lpwstr></property></Properties>"
)


@dataclass(frozen=True)
class _Member:
    """A zip member, deflated and checksummed."""

    name: bytes
    crc: int
    size: int
    deflated: bytes


def _member(name: str, data: bytes) -> _Member:
    packer = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate, as zip stores it
    return _Member(name.encode("ascii"), zlib.crc32(data), len(data), packer.compress(data) + packer.flush())


@cache
def _fixed_parts(producer: str) -> tuple[_Member, ...]:
    """The members every document of a producer shares, deflated once, in the order it writes them."""
    app_name, app_version = _APPLICATION[producer]
    version = f"<AppVersion>{app_version}</AppVersion>" if app_version else ""
    app = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
           'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
           f"<Template>Normal.dotm</Template><TotalTime>0</TotalTime><Application>{app_name}</Application>"
           f"<DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>{version}</Properties>")
    relationships = _PACKAGE_RELATIONSHIPS
    if producer == "wps":
        relationships += f'<Relationship Id="rId4" Type="{_OFFICE}/custom-properties" Target="docProps/custom.xml"/>'
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES.format(custom=_CUSTOM_TYPE if producer == "wps" else ""),
        "_rels/.rels": _RELATIONSHIPS.format(relationships),
        "word/_rels/document.xml.rels": _RELATIONSHIPS.format(_DOCUMENT_RELATIONSHIPS),
        "word/settings.xml": _SETTINGS.format(rsids=_WORD_RSIDS if producer == "word" else ""),
        "word/styles.xml": _STYLES.format(**_STYLE_IDS[producer]),
        "word/fontTable.xml": _FONT_TABLE,
        "docProps/app.xml": app,
        **({"docProps/custom.xml": _WPS_CUSTOM} if producer == "wps" else {}),
    }
    return tuple(_member(name, (XML_DECLARATION + xml).encode("utf-8")) for name, xml in parts.items())


def _core_properties(style: DocxStyle) -> bytes:
    stamp = style.saved.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        XML_DECLARATION
        + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{escape(style.author)}</dc:creator><cp:lastModifiedBy>{escape(style.author)}</cp:lastModifiedBy>"
        f'<cp:revision>2</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
    ).encode("utf-8")


def _zip(members: list[_Member], when: tuple[int, int, int, int, int, int]) -> bytes:
    """The zip of deflated members, all dated `when`, as written on Windows: no extra fields, no data descriptors.

    zipfile cannot take members deflated beforehand, and deflating the shared parts again
    for every report cost a third of a report's time.
    """
    year, month, day, hour, minute, second = when
    dos_time, dos_date = (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day
    entries, directory, offset = [], [], 0
    for m in members:
        fields = struct.pack("<HHHHHIII", 20, 0, zipfile.ZIP_DEFLATED, dos_time, dos_date, m.crc, len(m.deflated),
                             m.size)
        local = b"PK\x03\x04" + fields + struct.pack("<HH", len(m.name), 0) + m.name
        directory.append(b"PK\x01\x02" + struct.pack("<H", 20) + fields
                         + struct.pack("<HHHHHII", len(m.name), 0, 0, 0, 0, 0, offset) + m.name)
        entries += [local, m.deflated]
        offset += len(local) + len(m.deflated)
    central = b"".join(directory)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), offset, 0)
    return b"".join(entries) + central + end


def render_package(content: Content, style: DocxStyle) -> bytes:
    """The .docx, its members dated as the producer dates them (so a seed gives the same bytes)."""
    when = _WORD_ZIP_TIME if style.producer == "word" else style.saved.timetuple()[:6]
    members = [*_fixed_parts(style.producer), _member("word/document.xml", document_xml(content, style)),
               _member("docProps/core.xml", _core_properties(style))]
    return _zip(members, when)
