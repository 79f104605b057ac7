"""nianbao's local Prefect server: started once in the background, found again by every command.

Starting Prefect's server costs 10-16 s, more than a small ingest itself, so a command without
PREFECT_API_URL does not start one of its own: it reuses the server an earlier command left
running, or starts one that outlives it (flows/server_process.py), bound to 127.0.0.1. The server
is found again through server.json in a per-user directory (0700) under PREFECT_HOME, naming its
PID and port; a server whose process is dead, which is not this user's or this PREFECT_HOME's, or
which does not answer, is not reused. A command holds a lease (a file named after its PID) while
it runs, so the server does not stop under it; the server stops itself after
NIANBAO_SERVER_IDLE_SECONDS (30 min) unused. Nothing here imports Prefect: the server can be
started before the command imports it.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from flows.settings import server_idle_seconds, server_startup_seconds

STATE_FILE = "server.json"
LOG_FILE = "server.log"
LEASES = "leases"
#: A reused server that does not answer for this long is taken as hung, stopped and started again (long:
#: a server starved of CPU on a busy machine, or busy with another command, must not be taken for a hung one).
UNRESPONSIVE_SECONDS = 60.0
SERVER_MODULE = "flows.server_process"
_started: list[subprocess.Popen] = []  # kept so that Python reaps a server that stops while this process lives


class ServerDidNotStart(RuntimeError):
    """The local Prefect server exited or did not answer in time."""


class UnsafeStateDir(RuntimeError):
    """The state directory belongs to another user: nianbao never shares its server between users."""


@dataclass(frozen=True)
class ServerState:
    """What server.json says about a running server."""

    pid: int
    port: int
    uid: int
    prefect_home: str
    idle_seconds: float
    started_at: float

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class LocalServer:
    """The server a command uses, and whether this command started it."""

    state: ServerState
    directory: Path
    started: bool


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser().resolve()


def state_dir(home: Path | None = None) -> Path:
    """This user's directory for the server's state, leases and log (mode 0700), created if missing."""
    path = (home or prefect_home()) / "nianbao-server"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise UnsafeStateDir(
            f"{path} belongs to another user (uid {info.st_uid}); nianbao does not share its local Prefect server "
            "between users: set PREFECT_HOME to a directory of your own, or PREFECT_API_URL to a server you run"
        )
    if info.st_mode & 0o077:
        path.chmod(0o700)
    (path / LEASES).mkdir(mode=0o700, exist_ok=True)
    return path


def read_state(directory: Path) -> ServerState | None:
    """The server the state file names, if the file is this user's and names this PREFECT_HOME; else None."""
    file = directory / STATE_FILE
    try:
        if file.stat().st_uid != os.getuid():
            return None
        state = ServerState(**json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    if state.uid != os.getuid() or state.prefect_home != str(directory.parent):
        return None
    return state


def is_running(pid: int) -> bool:
    """Whether the PID is a live nianbao server process (on Linux its command line must say so: PIDs are reused)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path(f"/proc/{pid}")
    for _ in range(40):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if cmdline or (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX":
                return SERVER_MODULE.encode() in cmdline
        except FileNotFoundError:
            return not Path("/proc/self").exists()  # no /proc (macOS): the PID's liveness is all there is
        except (OSError, IndexError):
            return False
        time.sleep(0.025)  # a process being exec'd has an empty command line for a moment; a zombie's stays empty
    return False


def answers(port: int, timeout: float = 2.0) -> bool:
    """Whether Prefect's health endpoint answers on 127.0.0.1 (straight, never through an HTTP proxy)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/api/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


Announce = Callable[[LocalServer], None]


def find_or_start(announce: Announce | None = None) -> LocalServer:
    """This user's running server, or a new one starting in the background (not waited for: see `wait_ready`).

    The command's lease is taken first, so a server found here does not stop for idleness under it.
    `announce` is called when a server is started, to tell the user why this run waits.
    """
    directory = state_dir()
    take_lease(directory)
    with _locked(directory):
        state = read_state(directory)
        if state and is_running(state.pid):
            return LocalServer(state, directory, started=False)
        server = LocalServer(_spawn(directory), directory, started=True)
    if announce:
        announce(server)
    return server


def wait_ready(server: LocalServer, announce: Announce | None = None) -> LocalServer:
    """The server once it answers. A reused server that died or hangs is replaced by a new one."""
    if server.started:
        _wait_answering(server.state, server.directory, server_startup_seconds())
        return server
    deadline = max(server.state.started_at + server_startup_seconds(), time.time() + UNRESPONSIVE_SECONDS)
    while time.time() < deadline and is_running(server.state.pid):
        if answers(server.state.port):
            return server
        time.sleep(0.1)
    with _locked(server.directory):
        if read_state(server.directory) == server.state:
            _stop_process(server.state.pid)
            (server.directory / STATE_FILE).unlink(missing_ok=True)
    return wait_ready(find_or_start(announce), announce)


def take_lease(directory: Path) -> None:
    (directory / LEASES / str(os.getpid())).touch(mode=0o600)


def release_lease(directory: Path) -> None:
    (directory / LEASES / str(os.getpid())).unlink(missing_ok=True)


def api_url_set_elsewhere() -> bool:
    """Whether PREFECT_API_URL is or may be set: Prefect's own answer if this process has imported Prefect
    (a test harness sets it in-process), else the environment and the profiles file, read without Prefect."""
    settings = sys.modules.get("prefect.settings")
    if settings is not None:
        return bool(settings.PREFECT_API_URL.value())
    return api_url_in_environment_or_profile()


def api_url_in_environment_or_profile() -> bool:
    if os.environ.get("PREFECT_API_URL"):
        return True
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH") or prefect_home() / "profiles.toml").expanduser()
    try:
        return "PREFECT_API_URL" in profiles.read_text(encoding="utf-8")
    except OSError:
        return False


@contextmanager
def prefect_api(server: LocalServer | None, announce: Announce | None = None) -> Iterator[str]:
    """The Prefect API this command talks to: PREFECT_API_URL when set, else nianbao's local server.

    `server` is the one `find_or_start` gave earlier in the command (None: found or started now).
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = PREFECT_API_URL.value()
    try:
        if configured:
            yield configured
            return
        server = wait_ready(server or find_or_start(announce), announce)
        with temporary_settings(updates={PREFECT_API_URL: server.state.api_url}):
            yield server.state.api_url
    finally:
        if server:
            release_lease(server.directory)


def status() -> tuple[ServerState | None, bool]:
    """The server of this user and PREFECT_HOME, if its process is alive, and whether it answers."""
    state = read_state(state_dir())
    if not state or not is_running(state.pid):
        return None, False
    return state, answers(state.port)


def stop() -> ServerState | None:
    """Stop this user's server (SIGTERM, SIGKILL if it lingers); the state it had, or None when none ran."""
    directory = state_dir()
    with _locked(directory):
        state = read_state(directory)
        if state and is_running(state.pid):
            _stop_process(state.pid)
        else:
            state = None
        (directory / STATE_FILE).unlink(missing_ok=True)
    return state


def _spawn(directory: Path) -> ServerState:
    """Start the server on a socket bound here, so that its port is known before it has imported anything."""
    idle_seconds = server_idle_seconds()
    with socket.socket() as sock, open(directory / LOG_FILE, "wb") as log:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        process = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, "--fd", str(sock.fileno()), "--state-dir", str(directory),
             "--idle-seconds", str(idle_seconds)],
            pass_fds=[sock.fileno()], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=directory, start_new_session=True,  # not in the command's process group: Ctrl-C does not reach it
        )
        state = ServerState(pid=process.pid, port=sock.getsockname()[1], uid=os.getuid(),
                            prefect_home=str(directory.parent), idle_seconds=idle_seconds, started_at=time.time())
    _started.append(process)
    partial = directory / f".{STATE_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(asdict(state)), encoding="utf-8")
    partial.replace(directory / STATE_FILE)
    return state


def _wait_answering(state: ServerState, directory: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(state.pid):
            raise ServerDidNotStart(f"nianbao's local Prefect server (process {state.pid}) exited while starting; "
                                    f"its log, {directory / LOG_FILE}, ends with:\n{_log_tail(directory)}")
        if answers(state.port):
            return
        time.sleep(0.1)
    raise ServerDidNotStart(
        f"nianbao's local Prefect server (process {state.pid}) did not answer within {timeout:.0f} s; raise "
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or run `prefect server start` and set PREFECT_API_URL"
    )


def _log_tail(directory: Path, lines: int = 20) -> str:
    try:
        return "\n".join((directory / LOG_FILE).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_process(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM (the server stops cleanly), then SIGKILL if it is still there after `timeout`. To its process
    group (the server leads its own session): a child migrating the database stops with it."""
    deadline = time.monotonic() + timeout
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:  # not a group leader (never so when nianbao started it): the process alone
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        while is_running(pid) and (sig == signal.SIGKILL or time.monotonic() < deadline):
            time.sleep(0.05)
        if not is_running(pid):
            return


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One command at a time decides whether to start a server, so that two commands never start two."""
    with open(directory / "start.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
