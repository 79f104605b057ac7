"""The process of nianbao's local Prefect server: Prefect's API and UI, alive until idle.

Started detached by flows/local_server.py on a socket it already bound to 127.0.0.1, so the
port is known before this process has imported anything. Prefect's server runs as its temporary
server does (the few services a flow run needs, not the scheduler and the other background
services), plus the UI, so that `nianbao server status` can point at the runs. It stops itself
after `--idle-seconds` without a request while no nianbao command holds a lease (a file named
after its PID in the state directory's leases/), and removes its state file when it stops.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
import time
from pathlib import Path

from flows.settings import apply_prefect_defaults

CHECK_EVERY_SECONDS = 1.0


class Activity:
    """ASGI middleware noting when the last request or websocket ended and how many are still open."""

    def __init__(self, app) -> None:
        self.app = app
        self.open = 0
        self.last = time.monotonic()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        self.open += 1
        self.last = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.last = time.monotonic()


def live_leases(leases: Path) -> list[int]:
    """PIDs of the nianbao commands using the server now; a lease left by a killed command is removed."""
    alive = []
    for lease in leases.glob("*"):
        try:
            pid = int(lease.name)
            os.kill(pid, 0)
        except ProcessLookupError:
            lease.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            continue
        else:
            alive.append(pid)
    return alive


def idle_for(activity: Activity, leases: Path) -> float:
    """Seconds since the server was last used; 0 while a request is open or a command holds a lease."""
    if activity.open or live_leases(leases):
        return 0.0
    return time.monotonic() - activity.last


def _stop_when_idle(server, activity: Activity, leases: Path, idle_seconds: float) -> None:
    while not server.should_exit:
        time.sleep(CHECK_EVERY_SECONDS)
        if server.started and idle_for(activity, leases) >= idle_seconds:
            print(f"idle for {idle_seconds:.0f} s: stopping", flush=True)
            server.should_exit = True


def build_app():
    """Prefect's app as its temporary server builds it (no background services), with the UI mounted again."""
    from prefect.server.api.server import create_app, create_ui_app
    from starlette.routing import Mount

    app = create_app(ephemeral=True, final=True)
    app.router.routes = [Mount("/", app=create_ui_app(ephemeral=False), name="ui") if getattr(route, "name", None) == "ui"
                         else route for route in app.router.routes]
    return app


def _remove_state_if_mine(state_file: Path) -> None:
    try:
        if json.loads(state_file.read_text())["pid"] == os.getpid():
            state_file.unlink()
    except (OSError, ValueError, KeyError):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="the listening socket, bound by the starter")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--idle-seconds", type=float, required=True)
    args = parser.parse_args()
    apply_prefect_defaults()
    sock = socket.socket(fileno=args.fd)
    os.environ["PREFECT_UI_API_URL"] = f"http://127.0.0.1:{sock.getsockname()[1]}/api"

    import uvicorn

    activity = Activity(build_app())
    server = uvicorn.Server(uvicorn.Config(activity, lifespan="on", log_level="warning"))
    watcher = threading.Thread(target=_stop_when_idle, daemon=True,
                               args=(server, activity, args.state_dir / "leases", args.idle_seconds))
    watcher.start()
    try:
        server.run(sockets=[sock])
    finally:
        _remove_state_if_mine(args.state_dir / "server.json")


if __name__ == "__main__":
    main()
