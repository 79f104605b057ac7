"""A Prefect server for one command, that dies with it.

Without PREFECT_API_URL, Prefect starts a temporary server in a child process and stops it at
exit, but a command killed with SIGKILL never reaches its exit handlers, and the server lives on
holding its port and its database. nianbao starts that server itself, the same way, with the
kernel told to kill it when its parent dies (Linux's PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import prefect
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    temporary_settings,
)

_PR_SET_PDEATHSIG = 1


class ServerDidNotStart(RuntimeError):
    """The temporary Prefect server exited or did not answer in time."""


def _die_with_parent() -> None:
    """Runs in the child before it executes the server: SIGKILL it when the process that started it dies."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    """Prefect's own API app under uvicorn on 127.0.0.1, without the UI, as Prefect's temporary server runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
         "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
         "--lifespan", "on"],
        env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1"},
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )


def _wait_healthy(process: subprocess.Popen, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerDidNotStart(f"the temporary Prefect server exited with code {process.returncode}")
            try:
                if client.get(f"{url}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise ServerDidNotStart(
        f"the temporary Prefect server did not answer within {timeout:.0f} s; raise "
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS or run `prefect server start` and set PREFECT_API_URL"
    )


def _drain_to(process: subprocess.Popen) -> None:
    """Send the logs and events still queued while the server is there to take them."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    if process.poll() is None:
        APILogWorker.drain_all(timeout=5)
        EventsWorker.drain_all(timeout=5)


@contextmanager
def prefect_api() -> Iterator[str]:
    """The Prefect API this command talks to: PREFECT_API_URL when set, else a temporary server of its own."""
    configured = PREFECT_API_URL.value()
    if configured:
        yield configured
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    process = start_server(port)
    try:
        _wait_healthy(process, url, float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()))
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        _drain_to(process)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
