"""Real servers for end-to-end tests: uvicorn running a copy of the example app, on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.05):  # noqa: ANN001, ANN201
    """Poll ``condition()`` until it returns a truthy value or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Uvicorn:
    """``python -m uvicorn src.main:app`` in ``<app>/apps/api``; the process we hold *is* the server."""

    def __init__(self, app_root: Path, *, env: dict[str, str] | None = None, host: str = "127.0.0.1",
                 log: Path | None = None) -> None:
        self.app_root = app_root
        self.host = host
        self.port = free_port("0.0.0.0" if host == "0.0.0.0" else host)
        self.env = {**os.environ, "FARM_ENV": "development", **(env or {})}
        self.log_path = log or app_root.parent / f"uvicorn-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "Uvicorn":
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "src.main:app", "--host", self.host, "--port", str(self.port)],
            cwd=self.app_root / "apps" / "api", env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.proc.returncode}:\n{self.log()}")
            try:
                return httpx.get(self.url + "/api/health", timeout=1.0).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=timeout, what=f"uvicorn on {self.url}")
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()
        self.proc = None
