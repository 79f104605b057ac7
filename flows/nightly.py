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
    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        """Prefect's handler exits from inside the event loop; stopping is done by `serve_until_stopped` instead."""


async def _run_until_signalled(runner: Runner) -> None:
    loop = asyncio.get_running_loop()
    started = asyncio.create_task(runner.start())
    await asyncio.sleep(0)  # let start() take its first step, where it installs its own SIGTERM handler

    def stop(signame: str) -> None:
        if runner.stopping:
            return
        print(f"{signame} received: stopping; a flow run in progress is cancelled", flush=True)
        loop.create_task(runner.astop())

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig.name)
    await started


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
