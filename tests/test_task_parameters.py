"""Prefect is handed a batch's files without walking them: its look for futures among a task's parameters
visited every field of every file twice, some 2% of a text report's CPU (BENCHMARKS.md)."""

from __future__ import annotations

import prefect.task_engine
import prefect.utilities.engine
import pytest

import flows.api
from flows.ingest import ingest_flow
from flows.plan import PlannedFile


@pytest.mark.usefixtures("prefect_server")
def test_an_extract_batch_task_gets_its_files_without_prefect_walking_them(samples_copy, tmp_path, monkeypatch):
    walked: list[object] = []
    received: list[object] = []

    def watching(visit_collection):
        def visit(expr, *args, **kwargs):
            if isinstance(expr, list) and any(isinstance(item, PlannedFile) for item in expr):
                walked.append(expr)
            return visit_collection(expr, *args, **kwargs)
        return visit

    # the two places a task run's parameters are visited: resolving them, and collecting its inputs
    monkeypatch.setattr(prefect.task_engine, "visit_collection", watching(prefect.task_engine.visit_collection))
    monkeypatch.setattr(prefect.utilities.engine, "visit_collection",
                        watching(prefect.utilities.engine.visit_collection))
    extract = flows.api.extract
    monkeypatch.setattr(flows.api, "extract", lambda files: received.append(files) or extract(files))

    state = ingest_flow(paths=[str(samples_copy)], db=str(tmp_path / "w.duckdb"), batch_files=2, return_state=True)

    assert state.is_completed()
    assert state.result().files_loaded == 5
    assert [len(files) for files in received] == [2, 2, 1]
    assert all(isinstance(files, list) and all(isinstance(f, PlannedFile) for f in files) for files in received)
    assert walked == []
