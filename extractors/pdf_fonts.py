"""How far below the baseline pdfminer boxes each font's characters, read from the fonts' dictionaries.

pdfminer makes a character's box its font size tall, from the descent its font descriptor states
(LibreOffice, for one, writes 0 there); pdfium boxes it by the font program's own descent. To give
the same words and cells as pdfminer, extractors/pdf_pdfium.py places pdfium's characters by the
descents found here, with pdfminer's own font classes reading the font dictionaries (no content
stream is interpreted, which is what cost the time).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

#: Form XObjects nested deeper than this are not searched for fonts (a report nests one or two).
_MAX_FORM_DEPTH = 8
_SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")


def font_descents(data: bytes) -> list[dict[str, float]] | None:
    """Per page, each font's BaseFont name to pdfminer's descent (a fraction of the font size, <= 0).
    None when pdfminer cannot open the file, or a font is one pdfminer boxes another way (Type 3,
    vertical writing), or two fonts of a page share a name but not a descent: the caller then reads
    the file with pdfplumber."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        pages = []
        for page in PDFPage.create_pages(document):
            descents: dict[str, float] = {}
            for name, spec in _font_specs(page.resources, 0):
                descent = _descent(spec)
                if descent is None:
                    return None
                # pdfium names some fonts without their subset prefix ('BAAAAA+'): both names are kept
                for key in {name, _SUBSET_PREFIX.sub("", name)}:
                    if descents.setdefault(key, descent) != descent:
                        return None
            pages.append(descents)
        return pages
    except Exception:  # pdfminer raises assorted errors on broken or encrypted files: pdfplumber says which
        return None


def _descent(spec: dict) -> float | None:
    """The descent pdfminer's font classes take: the standard 14 fonts' from their metrics, others'
    from the font descriptor (a Type 0 font's from its descendant's), made negative; None for a
    Type 3 font (boxed by its glyph space) or one written vertically."""
    from pdfminer.fontmetrics import FONT_METRICS
    from pdfminer.pdftypes import PDFStream, dict_value, list_value, num_value, resolve1
    from pdfminer.psparser import PSLiteral, literal_name

    subtype = resolve1(spec.get("Subtype"))
    subtype = literal_name(subtype) if isinstance(subtype, PSLiteral) else "Type1"
    if subtype == "Type3":
        return None
    if subtype == "Type0":
        encoding = resolve1(spec.get("Encoding"))
        if isinstance(encoding, PSLiteral) and literal_name(encoding).endswith("-V"):
            return None
        if isinstance(encoding, PDFStream) and num_value(encoding.get("WMode", 0)) == 1:
            return None
        descendants = list_value(spec["DescendantFonts"])
        return _descent({**dict_value(descendants[0]), "Subtype": resolve1(dict_value(descendants[0]).get("Subtype"))})
    descriptor = None
    if subtype not in ("CIDFontType0", "CIDFontType2"):
        base = resolve1(spec.get("BaseFont"))
        if isinstance(base, PSLiteral) and literal_name(base) in FONT_METRICS:
            descriptor = FONT_METRICS[literal_name(base)][0]
    if descriptor is None:
        descriptor = dict_value(spec.get("FontDescriptor", {}))
    descent = num_value(descriptor.get("Descent", 0))
    return -abs(descent) * 0.001


def _font_specs(resources, depth: int) -> Iterator[tuple[str, dict]]:
    from pdfminer.pdftypes import PDFStream, dict_value, resolve1
    from pdfminer.psparser import PSLiteral, literal_name

    resources = dict_value(resources)
    for spec in dict_value(resources.get("Font", {})).values():
        spec = dict_value(spec)
        base = resolve1(spec.get("BaseFont"))
        if isinstance(base, PSLiteral):
            yield literal_name(base), spec
    if depth >= _MAX_FORM_DEPTH:
        return
    for xobject in dict_value(resources.get("XObject", {})).values():
        xobject = resolve1(xobject)
        if isinstance(xobject, PDFStream) and literal_name(xobject.get("Subtype")) == "Form" and "Resources" in xobject:
            yield from _font_specs(xobject["Resources"], depth + 1)
