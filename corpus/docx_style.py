"""How one synthetic DOCX report is written: by Word or WPS, merged or flat tables, wrapped labels,
split runs, repeated headers, a title broken by Shift+Enter, tracked changes left unaccepted."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

PRODUCERS = ("word", "wps")
DOCX_LAYOUTS = tuple(f"docx/{producer}-{merging}" for producer in PRODUCERS for merging in ("merged", "flat"))
_AUTHORS = ("Administrator", "admin", "user", "lenovo", "dell", "HP", "微软用户", "Windows 用户", "办公室", "xxgk")


@dataclass(frozen=True)
class DocxStyle:
    producer: str
    #: Covered cells written as plain empty cells instead of vMerge continuations.
    flat: bool
    #: A wrapped label broken by <w:br/> inside one paragraph rather than split into paragraphs.
    wrap_with_breaks: bool
    #: Numbers and labels split into two runs where the author edited them (Word only).
    split_runs: bool
    #: Table B's header rows marked to repeat on every page.
    header_repeats: bool
    #: A title on two lines written as one paragraph with a line break.
    title_break: bool
    #: Published with its tracked changes unaccepted: last year's figures and dates deleted, this year's inserted.
    revised: bool
    author: str
    saved: datetime

    @property
    def layout(self) -> str:
        return f"docx/{self.producer}-{'flat' if self.flat else 'merged'}"


def docx_style(rng: random.Random, year: int) -> DocxStyle:
    producer = rng.choices(PRODUCERS, (60, 40))[0]
    day = (year + 1, rng.randint(1, 3), rng.randint(1, 28))
    saved = datetime(*day, rng.randint(8, 18), rng.randrange(60), rng.randrange(60))
    return DocxStyle(
        producer=producer,
        flat=rng.random() < 0.25,
        wrap_with_breaks=rng.random() < 0.3,
        split_runs=producer == "word" and rng.random() < 0.5,
        header_repeats=rng.random() < 0.2,
        title_break=rng.random() < 0.25,
        revised=rng.random() < 0.1,
        author=rng.choice(_AUTHORS),
        saved=saved,
    )

