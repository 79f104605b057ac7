"""`nianbao serve` against a real Prefect server, driven through the API the way the UI drives it.

The session's server (`prefect server start` on a free 127.0.0.1 port, tests/conftest.py) is the
one `nianbao serve` registers with; `nianbao serve` runs in a subprocess, as operations run it.
The served nightly whose run the server's own scheduler starts is started with the module, so
that the minute it waits for passes while the other tests run.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT, SAMPLES, copy_samples_as
from tests.expected import warehouse_state
from tests.processes import PrefectServer, WriteLockHolder, wait_for

pytestmark = pytest.mark.slow
RUN_TIMEOUT = 180
#: Registered later than this before its minute, the night might be missed by the scheduler: the test says so.
REGISTERED_BEFORE = timedelta(seconds=15)
#: The scheduled night's minute is at least this far ahead when its `nianbao serve` starts: Serve waits up to
#: SERVE_TIMEOUT for the deployment to be registered (about 5 s when the machine is quiet), so it is
#: registered at least 30 s before the minute.
SERVE_TIMEOUT = 120
SCHEDULE_LEAD = timedelta(seconds=SERVE_TIMEOUT) + 2 * REGISTERED_BEFORE


class Serve:
    """`nianbao serve ...` in a subprocess, stopped with SIGTERM as a service manager stops it."""

    def __init__(self, api: PrefectServer, args: list[str], log: Path) -> None:
        self.log = log
        self.started_lines = log.read_text().count("is being served") if log.exists() else 0
        with log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flows.cli", "serve", *args],
                env=api.env(log.with_name("serve-prefect-home")), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )
        try:
            wait_for(self._served, SERVE_TIMEOUT, "nianbao serve to register its deployment", log)
        except BaseException:
            self.kill()
            raise

    def _served(self) -> bool:
        assert self.process.poll() is None, f"nianbao serve exited:\n{self.log.read_text()[-5000:]}"
        return self.log.read_text().count("is being served") > self.started_lines

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> str:
        """Stop it as a service manager (SIGTERM) or a person (Ctrl-C: SIGINT) does; it must exit 0, cleanly."""
        before = len(self.log.read_text())
        self.process.send_signal(sig)
        assert self.process.wait(timeout=60) == 0, self.log.read_text()[-5000:]
        log = self.log.read_text()[before:]
        assert f"{sig.name} received: stopping" in log
        for sign_of_a_dirty_stop in ("Traceback", "was never awaited", "CancelledError"):
            assert sign_of_a_dirty_stop not in log
        return log

    def kill(self) -> None:
        """After a failed test: nothing is left running."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def schedules(api: PrefectServer, deployment_name: str) -> tuple[bool, list[tuple[str, str, bool]]]:
    with api.client() as client:
        deployment = client.read_deployment_by_name(f"nianbao-ingest/{deployment_name}")
    return deployment.paused, [(s.schedule.cron, s.schedule.timezone, s.active) for s in deployment.schedules]


def test_the_served_schedule_is_the_one_asked_for_and_survives_a_restart(prefect_server, tmp_path):
    args = ["--cron", "30 3 * * *", "--timezone", "Asia/Shanghai", "--db", str(tmp_path / "w.duckdb"),
            "--name", "nightly-restart"]
    asked_for = (False, [("30 3 * * *", "Asia/Shanghai", True)])
    first = Serve(prefect_server, args, tmp_path / "serve.log")
    try:
        assert schedules(prefect_server, "nightly-restart") == asked_for
    finally:
        first.stop()
    assert schedules(prefect_server, "nightly-restart") == asked_for  # not paused by the shutdown
    second = Serve(prefect_server, args, tmp_path / "serve.log")
    try:
        assert schedules(prefect_server, "nightly-restart") == asked_for  # still one schedule, not two
    finally:
        second.stop()


#: The second night's new agencies, five reports each, extracted in BATCHES batches of ten.
AGENCIES = 20
NEW_FILES = 5 * AGENCIES
BATCHES = NEW_FILES // 10


def test_retry_from_the_ui_reuses_completed_batches_and_ends_like_a_clean_run(prefect_server, tmp_path):
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.objects import StateType
    from prefect.states import State

    db, clean_db = tmp_path / "w.duckdb", tmp_path / "clean.duckdb"
    first_night, second_night = tmp_path / "reports" / "2023", tmp_path / "reports" / "2024"
    shutil.copytree(SAMPLES, first_night)
    for agency in range(AGENCIES):  # new files in batches of 10: the lock is taken while most are still extracting
        copy_samples_as(second_night / f"agency-{agency:02d}", agency)
    sources = tmp_path / "sources.toml"
    sources.write_text('[[sources]]\nname = "2023"\npath = "reports/2023"\n', encoding="utf-8")
    serve = Serve(prefect_server, ["--sources", str(sources), "--db", str(db), "--name", "nightly-retry"],
                  tmp_path / "serve.log")
    # The night's chart page (checked by the scheduler's test below) is left out: 5-10 s a run.
    quick = {"batch_files": 10, "lock_retry_delays": [0.5, 0.5], "write_report_page": False}

    def run(client, parameters: dict) -> str:
        deployment = client.read_deployment_by_name("nianbao-ingest/nightly-retry")
        return str(client.create_flow_run_from_deployment(deployment.id, parameters=parameters).id)

    def final_state(client, flow_run_id: str):
        return wait_for(
            lambda: (state := client.read_flow_run(flow_run_id).state).is_final() and state,
            RUN_TIMEOUT, f"flow run {flow_run_id} to finish", serve.log,
        )

    def extract_batch_states(client, flow_run_id: str) -> Counter:
        """Final states only: a task run's states reach the API as events, so one may still read Running
        (or have no state) for a moment after it has ended as Cached or Completed."""
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        return Counter(
            t.state.name for t in task_runs if t.name.startswith("extract-batch") and t.state and t.state.is_final()
        )

    holder = WriteLockHolder(db)
    try:
        with prefect_server.client() as client:
            assert final_state(client, run(client, quick)).type == StateType.COMPLETED  # the night before
            before = warehouse_state(db)
            sources.write_text(sources.read_text() + '\n[[sources]]\nname = "2024"\npath = "reports/2024"\n')

            night = run(client, quick)
            staging = db.with_name(f".w.duckdb.{night}.loading")
            wait_for(staging.exists, RUN_TIMEOUT, "the night's first load into its copy", serve.log)
            holder.lock()  # an analyst opens the warehouse for writing in the middle of the night
            failed = final_state(client, night)
            assert failed.type == StateType.FAILED
            assert f"locked by process {holder.pid}" in failed.message
            assert "wait for that process to finish" in failed.message
            holder.release()
            assert warehouse_state(db) == before  # nothing of the failed night reached readers
            assert not staging.exists()
            executed_first = wait_for(
                lambda: (states := extract_batch_states(client, night)).total() == BATCHES and states,
                30, "the first attempt's extract-batch task runs",
            )
            assert executed_first == Counter({"Completed": BATCHES})

            client.set_flow_run_state(  # what the UI's Retry button sends
                night, State(type=StateType.SCHEDULED, name="AwaitingRetry", message="Retry from the UI"), force=True
            )
            retried = final_state(client, night)
            assert retried.type == StateType.COMPLETED, retried.message
            assert client.read_flow_run(night).run_count == 2
            after_retry = wait_for(
                lambda: (states := extract_batch_states(client, night)).total() == 2 * BATCHES and states,
                30, "the retry's extract-batch task runs",
            )
            assert after_retry == Counter({"Completed": BATCHES, "Cached": BATCHES})  # none extracted twice

            clean = run(client, quick | {"db": str(clean_db)})
            assert final_state(client, clean).type == StateType.COMPLETED
    finally:
        holder.kill()
        serve.stop(signal.SIGINT)
    assert warehouse_state(db) == warehouse_state(clean_db)
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute(
            "select status, files_seen, files_loaded, files_unchanged, files_failed, facts_loaded from runs "
            f"where run_id = '{night}'"
        ).fetchall() == [("completed", 5 + NEW_FILES, NEW_FILES, 5, 0, NEW_FILES * 998 // 5)]


class ScheduledNight:
    """`nianbao serve` of the samples whose schedule's first night is one minute at least SCHEDULE_LEAD ahead.

    A cron naming one minute (as "0 2 * * *" does) instead of "* * * * *": started with the module, it must
    not run again in the minutes before its test looks at what the first night left.
    """

    def __init__(self, api: PrefectServer, where: Path) -> None:
        self.db, self.reports, self.where = where / "w.duckdb", where / "reports", where
        shutil.copytree(SAMPLES, self.reports)
        sources = where / "sources.toml"
        sources.write_text('[[sources]]\npath = "reports"\n', encoding="utf-8")
        self.at = (datetime.now(UTC) + SCHEDULE_LEAD).replace(second=0, microsecond=0) + timedelta(minutes=1)
        self.serve = Serve(api, ["--cron", f"{self.at.minute} {self.at.hour} * * *", "--timezone", "UTC",
                                 "--sources", str(sources), "--db", str(self.db), "--name", "scheduled"],
                           where / "serve.log")
        registered = datetime.now(UTC)
        if registered > self.at - REGISTERED_BEFORE:
            self.serve.kill()
            raise AssertionError(f"nianbao serve registered at {registered:%H:%M:%S}, less than "
                                 f"{REGISTERED_BEFORE.seconds} s before its night at {self.at:%H:%M}")


@pytest.fixture(scope="module", autouse=True)
def scheduled_night(prefect_server, tmp_path_factory) -> Iterator[ScheduledNight]:
    night = ScheduledNight(prefect_server, tmp_path_factory.mktemp("scheduled"))
    try:
        yield night
    finally:
        if night.serve.process.poll() is None:  # its test failed before stopping it
            night.serve.process.send_signal(signal.SIGTERM)
            try:
                night.serve.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                night.serve.kill()


def test_the_servers_own_scheduler_starts_the_night_and_a_failed_night_stays_failed_on_retry(prefect_server,
                                                                                              scheduled_night):
    """The real scheduler creates the run (as it does at 02:00); Retry of a night with a bad file ends Failed again."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter
    from prefect.client.schemas.objects import StateType
    from prefect.states import State

    db, reports, serve = scheduled_night.db, scheduled_night.reports, scheduled_night.serve

    def final_state(client, flow_run_id):
        return wait_for(lambda: (state := client.read_flow_run(flow_run_id).state).is_final() and state,
                        RUN_TIMEOUT, f"flow run {flow_run_id} to finish", serve.log)

    try:
        with prefect_server.client() as client:
            deployment = client.read_deployment_by_name("nianbao-ingest/scheduled")
            by_deployment = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))

            def scheduled_run_finished():
                runs = client.read_flow_runs(deployment_filter=by_deployment)
                return next((r for r in runs if r.auto_scheduled and r.state and r.state.is_final()), None)

            left = (scheduled_night.at - datetime.now(UTC)).total_seconds()
            night = wait_for(scheduled_run_finished, max(left, 0) + 150, "the scheduler's run to finish", serve.log)
            assert night.state.type == StateType.COMPLETED, night.state.message
            assert night.created_by is None or night.created_by.type != "USER"
            with duckdb.connect(str(db), read_only=True) as conn:
                assert conn.execute("select count(*) from reports").fetchall() == [(5,)]
                assert conn.execute("select run_id, status, files_loaded from runs").fetchall() == [
                    (str(night.id), "completed", 5)
                ]
            assert "<title>" in (scheduled_night.where / "w.report.html").read_text(encoding="utf-8")  # the night's charts
            # Stop the schedule and its runs to come, so that only the run below touches the warehouse.
            for schedule in deployment.schedules:
                client.update_deployment_schedule(deployment.id, schedule.id, active=False)
            for waiting in client.read_flow_runs(deployment_filter=by_deployment, flow_run_filter=FlowRunFilter()):
                if waiting.state and waiting.state.type == StateType.SCHEDULED:
                    client.delete_flow_run(waiting.id)

            shutil.copy(ROOT / "tests" / "fixtures" / "bad" / "not_a_report.html", reports / "news.html")
            bad_night = str(client.create_flow_run_from_deployment(deployment.id).id)
            assert final_state(client, bad_night).message == "1 of 6 files failed"
            client.set_flow_run_state(  # what the UI's Retry button sends
                bad_night, State(type=StateType.SCHEDULED, name="AwaitingRetry", message="Retry from the UI"), force=True
            )
            wait_for(lambda: client.read_flow_run(bad_night).run_count == 2, RUN_TIMEOUT, "the retry to start", serve.log)
            retried = final_state(client, bad_night)
            assert (retried.type, retried.message) == (StateType.FAILED, "1 of 6 files failed")
    finally:
        serve.stop(signal.SIGINT)
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute(
            "select attempt, status, files_seen, files_loaded, files_unchanged, files_failed from runs "
            f"where run_id = '{bad_night}' order by attempt"
        ).fetchall() == [(1, "failed", 6, 0, 5, 1), (2, "failed", 6, 0, 5, 1)]
