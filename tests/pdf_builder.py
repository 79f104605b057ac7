"""A minimal PDF writer for tests: text placed at given positions, in the order given, with no ruling
lines, so that a test controls both the layout and the order the text layer emits it in.

Chinese text uses the PDF standard CJK font STSong-Light with the UniGB-UCS2-H encoding (no font
embedded; pdfminer maps the codes back to Unicode through the CMap it ships). Positions are in
points from the top-left corner of an A4 page, as pdfplumber reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PAGE_WIDTH, PAGE_HEIGHT = 595, 842
#: STSong-Light's ascent (880/1000): the baseline sits this far below a text's top.
_ASCENT = 0.88


@dataclass
class Page:
    #: (x, top, size, text) in the order the content stream draws them.
    texts: list[tuple[float, float, float, str]] = field(default_factory=list)

    def text(self, x: float, top: float, text: str, size: float = 9) -> None:
        self.texts.append((x, top, size, text))


def _hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def _stream(page: Page) -> bytes:
    ops = []
    for x, top, size, text in page.texts:
        baseline = PAGE_HEIGHT - top - _ASCENT * size
        ops.append(f"BT /F1 {size:g} Tf {x:.2f} {baseline:.2f} Td <{_hex(text)}> Tj ET")
    return "\n".join(ops).encode("ascii")


def build_pdf(pages: list[Page]) -> bytes:
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_id = add(b"")
    descriptor = add(
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [0 -120 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
    )
    cid_font = add(
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
        + f"/FontDescriptor {descriptor} 0 R /DW 1000 >>".encode()
    )
    font = add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        + f"/DescendantFonts [{cid_font} 0 R] >>".encode()
    )
    kids = []
    for page in pages:
        content = _stream(page)
        content_id = add(f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream")
        kids.append(add(
            f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {content_id} 0 R >>".encode()
        ))
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode()
    objects[pages_id - 1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    )

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
