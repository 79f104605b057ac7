"""The process of nianbao's local Prefect server: Prefect's API and UI, alive until idle.

Started detached by flows/local_server.py on a socket it already bound to 127.0.0.1, so the
port is known before this process has imported anything. Prefect's server runs as its temporary
server does (the few services a flow run needs, not the scheduler and the other background
services), plus the UI, so that `nianbao server status` can point at the runs. It stops itself
after `--idle-seconds` without a request while no nianbao command holds a lease (a file named
after its PID in the state directory's leases/), and removes its state file when it stops.

Its start is on the first command's path, so it is arranged to cost that command little: a new
SQLite database is made from the SQL that Prefect's migrations leave (flows/prefect_schema.py: tens
of milliseconds instead of 3-4.5 CPU s) when the installed Prefect is the version it was written for;
any other database is migrated in a forked child while this process imports the API (on the two
cores); and Prefect's block types, which no flow run of nianbao needs, are registered once no command
is using the server instead of before it answers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path

from flows.prefect_schema import SCHEMA_FILE, create_from_schema, sqlite_file
from flows.settings import apply_defaults

CHECK_EVERY_SECONDS = 1.0
BLOCKS_REGISTERED = "blocks-registered"  # the key of the last block registration


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


def unused(activity: Activity, leases: Path) -> bool:
    """No request open and no command holding a lease."""
    return not activity.open and not live_leases(leases)


def idle_for(activity: Activity, leases: Path) -> float:
    """Seconds since the server was last used; 0 while a request is open or a command holds a lease."""
    if not unused(activity, leases):
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


def migrate_alongside(schema: Path = SCHEMA_FILE) -> Callable[[], float | None]:
    """Make or migrate Prefect's database: a new SQLite one from `schema`, any other in a forked child while
    this process goes on importing Prefect's API.

    A new database goes through Prefect's alembic migrations, about 110 of them (3-4.5 CPU s, the largest
    part of a first start), unless the schema file was written for the installed Prefect: then executing
    it makes the same database (tests/test_prefect_schema.py) in tens of milliseconds. Otherwise (another
    Prefect version, an existing database to bring up to date, not SQLite) a child runs what Prefect's
    start-up would (`create_db`) on the other core while this process imports the rest of Prefect's
    server. The fork comes after the imports both need (settings, the database layer), before any thread
    or connection exists. Prefect's start-up is then told not to migrate (`settings_for_the_start_up`).
    Returns the wait for the child, which gives the child's CPU seconds (0 when no child was needed; None:
    no migration, the user turned them off), or raises SystemExit when the migrations failed (their
    traceback is in the log).
    """
    import prefect
    from prefect.server.database import provide_database_interface
    from prefect.settings import get_current_settings

    if not get_current_settings().server.database.migrate_on_start:
        return lambda: None
    database, before = sqlite_file(provide_database_interface().database_config.connection_url), time.process_time()
    if database and create_from_schema(database, prefect.__version__, schema):
        print(f"created Prefect's database from {schema.name} (Prefect {prefect.__version__}) in "
              f"{time.process_time() - before:.2f} CPU s, without its migrations", flush=True)
        return lambda: 0.0
    print(f"migrating Prefect's database in a child process (forked after {time.process_time():.2f} CPU s)", flush=True)
    child = os.fork()
    if child == 0:
        code = 1
        try:
            asyncio.run(provide_database_interface().create_db())
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def wait() -> float:
        _, status, usage = os.wait4(child, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"migrating Prefect's database failed (exit status {os.waitstatus_to_exitcode(status)}); "
                             "its traceback is above")
        return usage.ru_utime + usage.ru_stime

    return wait


class AfterStartup:
    """ASGI middleware running a coroutine on the server's event loop once the app has started."""

    def __init__(self, app, task: Callable[[], Coroutine[None, None, None]]) -> None:
        self.app = app
        self.task = task
        self.running: asyncio.Task | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_noting_startup(message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                self.running = asyncio.get_running_loop().create_task(self.task())

        await self.app(scope, receive, send_noting_startup)


def block_registration_key() -> str:
    """What the block types Prefect registers depend on: its version, the database, the installed collections."""
    from importlib.metadata import entry_points

    import prefect
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    collections = sorted(f"{point.name}={point.value} {point.dist.version if point.dist else ''}"
                         for point in entry_points(group="prefect.collections"))
    key = [prefect.__version__, str(PREFECT_API_DATABASE_CONNECTION_URL.value()), collections]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()  # a hash: the URL may hold a password


async def register_block_types_when_unused(activity: Activity, leases: Path, done: Path) -> None:
    """Prefect's block registration (the block catalogue of the UI: about 1 CPU s on a new database), done
    as soon as no command is using the server, rather than before the server answers the first one; and
    only once for the same Prefect, database and collections (`done` remembers it) if the types are there."""
    from prefect.server.database import provide_database_interface
    from prefect.server.models.block_registration import run_block_auto_registration
    from sqlalchemy import func, select

    while not unused(activity, leases):
        await asyncio.sleep(CHECK_EVERY_SECONDS)
    started, key, db = time.process_time(), block_registration_key(), provide_database_interface()
    try:
        async with await db.session() as session:
            if done.exists() and done.read_text() == key and await session.scalar(
                    select(func.count()).select_from(db.BlockType)):
                return
            await run_block_auto_registration(session=session)
    except Exception:  # the server still serves flow runs; the log says what went wrong
        traceback.print_exc()
        print("registering Prefect's block types failed (the UI's block catalogue may lack some): see above; "
              "`prefect block register` or a restart of the server tries again", flush=True)
        return
    done.write_text(key)
    print(f"registered Prefect's block types ({time.process_time() - started:.2f} CPU s)", flush=True)


def settings_for_the_start_up(migrated: bool) -> dict:
    """Prefect's settings for its start-up, without what this process does otherwise: the migrations (done
    by the child), the block registration (done later), and the load of every installed Prefect collection
    (prefect-dask: Dask, distributed, numpy; about 0.6 CPU s) that Prefect's memo of that registration
    makes even when the registration is off. The block registration is left alone when the user turned
    it off."""
    from prefect.settings import (
        PREFECT_API_BLOCKS_REGISTER_ON_START,
        PREFECT_API_DATABASE_MIGRATE_ON_START,
        PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION,
    )

    updates = {PREFECT_API_DATABASE_MIGRATE_ON_START: False} if migrated else {}
    if PREFECT_API_BLOCKS_REGISTER_ON_START.value():
        updates |= {PREFECT_API_BLOCKS_REGISTER_ON_START: False, PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION: False}
    return updates


def _remove_state_if_mine(state_file: Path) -> None:
    try:
        if json.loads(state_file.read_text())["pid"] == os.getpid():
            state_file.unlink()
    except (OSError, ValueError, KeyError):
        pass


def serve(sock: socket.socket, state_dir: Path, idle_seconds: float, started: float) -> None:
    """Migrate (in the child), import, start Prefect's app and serve until idle."""
    leases = state_dir / "leases"
    migrated = migrate_alongside()

    import uvicorn

    activity = Activity(build_app())
    migration_cpu = migrated()
    from prefect.settings import PREFECT_API_BLOCKS_REGISTER_ON_START, temporary_settings

    updates = settings_for_the_start_up(migrated=migration_cpu is not None)

    async def after_startup() -> None:
        child = f", {migration_cpu:.2f} in the child that migrated the database" if migration_cpu else ""
        print(f"serving on 127.0.0.1:{sock.getsockname()[1]}, started in {time.monotonic() - started:.2f} s: "
              f"{time.process_time():.2f} CPU s here{child}", flush=True)
        if PREFECT_API_BLOCKS_REGISTER_ON_START in updates:
            await register_block_types_when_unused(activity, leases, state_dir / BLOCKS_REGISTERED)

    server = uvicorn.Server(uvicorn.Config(AfterStartup(activity, after_startup), lifespan="on", log_level="warning"))
    threading.Thread(target=_stop_when_idle, daemon=True, args=(server, activity, leases, idle_seconds)).start()
    with temporary_settings(updates=updates):  # Prefect's start-up reads them from the context
        server.run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="the listening socket, bound by the starter")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--idle-seconds", type=float, required=True)
    args = parser.parse_args()
    started = time.monotonic()
    apply_defaults()
    sock = socket.socket(fileno=args.fd)
    os.environ["PREFECT_UI_API_URL"] = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
    try:
        serve(sock, args.state_dir, args.idle_seconds, started)
    finally:
        _remove_state_if_mine(args.state_dir / "server.json")


if __name__ == "__main__":
    main()
