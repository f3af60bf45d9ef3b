"""Stand-ins for the servers farm talks to, for the recovery tests: real HTTP on 127.0.0.1, a fixed
port (so a server can go down and come back where farm expects it), scripted answers, every request
recorded, and waits on conditions with deadlines (no sleeps)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

DEADLINE_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeClock:
    """The recovery policy's clock: cooldowns pass when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@dataclass
class Hit:
    method: str
    path: str
    status: int
    body: Any


class ScriptedHTTP:
    """Answers each path with the statuses in ``script[path]`` first, then 200 with ``ok[path](body)``."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.script: dict[str, list[int]] = {}
        self.ok: dict[str, Callable[[Any], Any]] = {}
        self.hits: list[Hit] = []
        self._cv = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ScriptedHTTP:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                body = json.loads(raw) if raw else None
                with outer._cv:
                    queue = outer.script.get(self.path)
                    status = queue.pop(0) if queue else 200
                if status == 200:
                    payload = outer.ok.get(self.path, lambda b: {"ok": True})(body)
                else:
                    payload = {"detail": f"scripted {status}"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                with outer._cv:
                    outer.hits.append(Hit(self.command, self.path, status, body))
                    outer._cv.notify_all()

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)

    def got(self, path: str) -> list[Hit]:
        with self._cv:
            return [h for h in self.hits if h.path == path]

    def wait(self, pred: Callable[[list[Hit]], bool], timeout: float = DEADLINE_S) -> None:
        deadline = time.monotonic() + timeout
        with self._cv:
            while not pred(self.hits):
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"condition not met within {timeout} s; hits: {self.hits!r}"
                self._cv.wait(remaining)


def backend_standin(port: int | None = None) -> ScriptedHTTP:
    """The backend's dev router as far as farm's client is concerned (health, ai/reload, plugins/reload)."""
    s = ScriptedHTTP(port)
    s.ok["/__farm/health"] = lambda b: {"ok": True, "pid": 4242, "ai": None, "plugins": None}
    s.ok["/__farm/ai/reload"] = lambda b: {"pid": 4242, "changes": [], "models": [], "default": None}
    return s


DEV_APP = """\
import os

from fastapi import FastAPI

from farmbuild.runtime import AIRegistry, dev_router

# an empty registry at every start: what farm swaps in is what it serves
app = FastAPI()
app.include_router(dev_router(ai=AIRegistry(), project_root=os.environ["FARM_TEST_PROJECT"]))
"""


class DevBackend:
    """A real uvicorn serving farmbuild's real dev router (``/__farm/*``) on a fixed port."""

    def __init__(self, workdir: Path, project: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.project = project
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "devapp.py").write_text(DEV_APP)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DevBackend:
        env = dict(os.environ, FARM_TEST_PROJECT=str(self.project), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "devapp:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--no-access-log"], cwd=self.workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + DEADLINE_S
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                assert self.proc.poll() is None, f"uvicorn exited with {self.proc.returncode}"
                try:
                    client.get(self.url + "/__farm/health")  # any answer: it is serving (403 without the token)
                    return self
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def health(self) -> dict[str, Any]:
        token = (self.project / ".farm" / "dev-token").read_text().strip()
        r = httpx.get(self.url + "/__farm/health", headers={"X-Farm-Token": token}, trust_env=False, timeout=10)
        r.raise_for_status()
        return r.json()
