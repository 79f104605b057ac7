"""Cutting the files to extract into batches: one extraction task per batch, its memory bounded.

A task costs ~10 ms of orchestration, so a batch holds many files; it is cut by bytes as well
as by count so that a batch of large PDFs takes no more memory than one of small pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from flows.plan import PlannedFile

DEFAULT_BATCH_BYTES = 16 * 1024 * 1024
DEFAULT_BATCH_FILES = 500


def batches(files: Iterable[PlannedFile], max_bytes: int = DEFAULT_BATCH_BYTES,
            max_files: int = DEFAULT_BATCH_FILES) -> Iterator[list[PlannedFile]]:
    """The files in order, in batches of at most `max_files` files and `max_bytes` bytes (a larger file alone)."""
    current: list[PlannedFile] = []
    size = 0
    for planned in files:
        if current and (size + planned.size_bytes > max_bytes or len(current) >= max_files):
            yield current
            current, size = [], 0
        current.append(planned)
        size += planned.size_bytes
    if current:
        yield current
