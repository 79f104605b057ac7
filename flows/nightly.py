"""Serving the nightly deployment until a service manager or Ctrl-C stops it.

Prefect's own `flow.serve` stops badly here: Ctrl-C is not always honoured, and SIGTERM leaves a
coroutine never awaited and a CancelledError traceback. nianbao runs the same Runner itself and
turns SIGINT and SIGTERM into one clean stop: polling ends, a flow run in progress is cancelled
(Cancelled in the UI, nothing of it published), and the process exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from prefect import Flow
from prefect.deployments.runner import EntrypointType
from prefect.runner import Runner
from prefect.schedules import Schedule

logger = logging.getLogger("nianbao.serve")


class _Runner(Runner):
    """Prefect's Runner, stopped from its event loop instead of exiting from inside it."""

    loop: asyncio.AbstractEventLoop | None = None
    stop_requested: asyncio.Event | None = None

    def request_stop(self, signame: str) -> None:
        """Safe from a signal handler: the stop itself runs on the loop."""
        if self.loop is None or self.stop_requested is None or self.stop_requested.is_set():
            return
        print(f"{signame} received: stopping; a flow run in progress is cancelled", flush=True)
        self.loop.call_soon_threadsafe(self.stop_requested.set)

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        """start() installs this for SIGTERM (Prefect's own exits from inside the loop, leaving a traceback)."""
        self.request_stop("SIGTERM")


async def _run_until_signalled(runner: _Runner) -> None:
    runner.loop, runner.stop_requested = asyncio.get_running_loop(), asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        runner.loop.add_signal_handler(sig, runner.request_stop, sig.name)
    serving = asyncio.create_task(runner.start())
    stop = asyncio.create_task(runner.stop_requested.wait())
    await asyncio.wait({serving, stop}, return_when=asyncio.FIRST_COMPLETED)
    if not serving.done():
        while not runner.started and not serving.done():  # a signal right at start-up waits for it
            await asyncio.sleep(0.05)
        if runner.started:
            await runner.astop()
    stop.cancel()
    await serving


def serve_until_stopped(flow: Flow, *, name: str, schedule: Schedule, parameters: dict[str, Any],
                        description: str) -> None:
    """Register `flow` as the deployment `name` with `schedule` and run its flow runs until SIGINT or SIGTERM.

    The schedule is not paused on the way out, so a restart picks it up again.
    """
    runner = _Runner(name=name, pause_on_shutdown=False)
    runner.add_flow(flow, name=name, schedule=schedule, parameters=parameters, description=description,
                    entrypoint_type=EntrypointType.MODULE_PATH)
    print(f"Your flow {flow.name!r} is being served and polling for scheduled runs. Run one now with: "
          f"prefect deployment run '{flow.name}/{name}'. Stop with Ctrl-C or SIGTERM.", flush=True)
    asyncio.run(_run_until_signalled(runner))
    print("stopped", flush=True)
