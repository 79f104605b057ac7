"""Reports as Word and WPS save them: WordprocessingML written straight into a zip (the style of one
report in corpus/docx_style.py, its XML in docx_markup.py, the zip in docx_package.py).

python-docx takes about 100 ms to fill the blank template (tests/office.py), so 100,000
reports would take over an hour on two cores. Here document.xml is joined from cell, run and
paragraph XML built once and cached, the parts every document shares are deflated once per
process, and the zip is written directly: about 2.5 ms a document on top of the report's
content, half of it deflating document.xml.

Producers: 'word' writes Microsoft Word's markup (rsid attributes, a run split where the
author edited a number or label, the _GoBack bookmark, every zip member dated 1980-01-01
as Word leaves them); 'wps' the heavier markup of WPS Office and the official blank
template (borders, shading and margins on every cell, members dated when saved). Tables
keep Word's merges (gridSpan, and vMerge restart/continue for row spans) or come 'flat',
with the covered positions as plain empty cells. A label wrapped in a narrow cell is split
into paragraphs, as the template splits 商业 / 企业, or by a line break; a title on two
lines is two paragraphs or one broken by Shift+Enter. Some reports are published with their
tracked changes unaccepted: last year's year and figures deleted (<w:del>), this year's
inserted (<w:ins>), which a reader must show as the final text.
"""

from corpus.docx_package import render_package
from corpus.docx_style import DOCX_LAYOUTS, PRODUCERS, DocxStyle, docx_style

__all__ = ["DOCX_LAYOUTS", "PRODUCERS", "DocxStyle", "docx_style", "render_package"]
