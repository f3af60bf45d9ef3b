"""``farm watch --serve``: the backend and the Vite dev server as supervised child processes.

Each server runs in its own session (process group), so the terminal's Ctrl-C reaches farm
only and farm stops the whole group (uvicorn's reloader *and* its worker). farm waits for a
server to answer HTTP on its URL, prefixes its output (``api │``, ``web │``), restarts it when it
exits on its own (with a growing pause, so a server that cannot start does not spin), and
stops it on exit: SIGTERM to the group, SIGKILL for whatever is left after a short grace. On
Linux a server also gets SIGTERM if farm itself is killed (``PR_SET_PDEATHSIG``).

The default commands, overridable in ``[development.servers]`` (``{python}``, ``{host}``,
``{port}``, ``{app}`` and ``{url}`` are filled in)::

    backend:  {python} -m uvicorn <backend.app> --host H --port P --reload --reload-dir <backend package>
    frontend: <frontend.root>/node_modules/.bin/vite --host H --port P --strictPort
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ..devtoken import ENV_FILE, HEADER, ensure_token, token_path
from ..errors import ConfigError, ProjectError
from ..project import Project

log = logging.getLogger(__name__)

HEALTH_PATH = {"api": "/__farm/health", "web": "/"}


def _die_with_parent_hook() -> Callable[[], None] | None:
    """Linux: a child gets SIGTERM when the thread that started it dies (PR_SET_PDEATHSIG), so a
    ``kill -9`` of farm does not leave uvicorn and Vite serving. Resolved before any fork: the
    hook runs between fork and exec and must not import or take locks."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


_PDEATHSIG = _die_with_parent_hook()


@dataclass
class ServerSpec:
    name: str  # short label for prefixes: "api", "web"
    argv: list[str]
    cwd: Path
    url: str
    env: dict[str, str] = field(default_factory=dict)
    health_path: str = "/"


def _host_port(url: str, key: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not parts.port:
        raise ConfigError("farm.toml", key, f"{url!r} has no port; farm watch --serve needs one, e.g. http://127.0.0.1:8000")
    return host, port


def _fill(template: str, values: dict[str, str], key: str) -> list[str]:
    try:
        argv = shlex.split(template)
    except ValueError as exc:
        raise ConfigError("farm.toml", key, f"cannot split the command: {exc}") from None
    out = []
    for arg in argv:
        for k, v in values.items():
            arg = arg.replace("{" + k + "}", v)
        out.append(arg)
    if not out:
        raise ConfigError("farm.toml", key, "the command is empty")
    return out


def server_specs(project: Project) -> list[ServerSpec]:
    """The backend and frontend servers of ``project`` (commands from config or the defaults)."""
    servers = project.config.development.servers
    env = {
        ENV_FILE: str(token_path(project.root)),
        "FARM_ENV": "development",  # the app mounts farmbuild's dev router (farmbuild.runtime)
        "FARM_BACKEND_URL": servers.backend_url,
        "FARM_FRONTEND_URL": servers.frontend_url,
        "PYTHONUNBUFFERED": "1",
    }
    specs = []
    host, port = _host_port(servers.backend_url, "development.servers.backend_url")
    app = project.config.backend.app
    values = {"python": sys.executable, "host": host, "port": str(port), "app": app, "url": servers.backend_url}
    if servers.backend_command:
        argv = _fill(servers.backend_command, values, "development.servers.backend_command")
    else:
        top = project.backend_root / project.app_module().split(".")[0]
        reload_dir = top if top.is_dir() else project.backend_root
        argv = [sys.executable, "-m", "uvicorn", app, "--host", host, "--port", str(port),
                "--reload", "--reload-dir", str(reload_dir)]
    # the app imports from backend.root, plugins from the project root (as the worker does)
    pythonpath = os.pathsep.join([*(str(p) for p in project.sys_path), *filter(None, [os.environ.get("PYTHONPATH")])])
    specs.append(ServerSpec("api", argv, project.backend_root, servers.backend_url,
                            {**env, "PYTHONPATH": pythonpath}, HEALTH_PATH["api"]))
    host, port = _host_port(servers.frontend_url, "development.servers.frontend_url")
    values = {"python": sys.executable, "host": host, "port": str(port), "app": app, "url": servers.frontend_url}
    if servers.frontend_command:
        argv = _fill(servers.frontend_command, values, "development.servers.frontend_command")
    else:
        vite = project.frontend_root / "node_modules" / ".bin" / "vite"
        if not vite.exists():
            raise ProjectError(
                f"{project.rel(vite)} not found: run `npm install` in {project.rel(project.frontend_root)}"
                " (or set development.servers.frontend_command in farm.toml)"
            )
        argv = [str(vite), "--host", host, "--port", str(port), "--strictPort"]
    specs.append(ServerSpec("web", argv, project.frontend_root, servers.frontend_url, env, HEALTH_PATH["web"]))
    return specs


class ManagedServer:
    """One supervised child process."""

    def __init__(self, spec: ServerSpec, *, out: Callable[[str, str], None],
                 on_ready: Callable[["ManagedServer"], None] | None = None,
                 ready_timeout_s: float = 60.0, max_backoff_s: float = 10.0, stop_grace_s: float = 0.5) -> None:
        self.spec = spec
        self.out = out
        self.on_ready = on_ready
        self.ready_timeout_s = ready_timeout_s
        self.max_backoff_s = max_backoff_s
        self.stop_grace_s = stop_grace_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.ready = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self._supervisor = threading.Thread(target=self._supervise, name=f"farm-serve-{self.spec.name}", daemon=True)
        self._supervisor.start()

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        env = dict(os.environ)
        env.update(self.spec.env)
        try:
            # started from the supervisor thread, which lives exactly as long as the server is wanted
            proc = subprocess.Popen(self.spec.argv, cwd=self.spec.cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_PDEATHSIG)
        except OSError as exc:
            self.out(self.spec.name, f"cannot start {shlex.join(self.spec.argv)}: {exc.strerror or exc}")
            return None
        self.starts += 1
        threading.Thread(target=self._pump, args=(proc,), name=f"farm-serve-{self.spec.name}-out", daemon=True).start()
        return proc

    def _pump(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.out(self.spec.name, line)
        proc.stdout.close()

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> bool:
        url = self.spec.url + self.spec.health_path
        deadline = time.monotonic() + self.ready_timeout_s
        token_file = self.spec.env.get(ENV_FILE)
        headers = {}
        if token_file:
            token = read_token_file(Path(token_file))
            if token:
                headers[HEADER] = token
        with httpx.Client(timeout=1.0, trust_env=False, headers=headers) as client:
            while not self._stopping.is_set() and proc.poll() is None:
                try:
                    client.get(url)  # any answer means it is serving (404: no dev router mounted)
                    return True
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.out(self.spec.name, f"not answering at {self.spec.url} after {self.ready_timeout_s:g} s; still waiting")
                    deadline = float("inf")
                self._stopping.wait(0.1)
        return False

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                proc = self.proc = self._spawn()
            if proc is None:
                failures += 1
            else:
                started = time.monotonic()
                if self._wait_ready(proc):
                    self.ready.set()
                    self.out(self.spec.name, f"ready at {self.spec.url}")
                    if self.on_ready:
                        self.on_ready(self)
                code = proc.wait()
                self.ready.clear()
                if self._stopping.is_set():
                    return
                _signal_group(proc, signal.SIGKILL)  # what the dead leader left behind (uvicorn's worker holds the port)
                failures = 0 if time.monotonic() - started > 30 else failures + 1
                self.out(self.spec.name, f"exited with status {code}; restarting")
            delay = min(self.max_backoff_s, 0.25 * 2 ** max(0, failures - 1))
            if self._stopping.wait(delay):
                return

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL what is left after the grace period."""
        self._stopping.set()
        with self._lock:
            proc = self.proc
        if proc is not None and proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(self.stop_grace_s)
            except subprocess.TimeoutExpired:
                pass
        if proc is not None:
            _signal_group(proc, signal.SIGKILL)  # children of an exited leader too
            try:
                proc.wait(1.0)
            except subprocess.TimeoutExpired:
                pass
        if self._supervisor is not None:
            self._supervisor.join(timeout=1.0)


def read_token_file(path: Path) -> str | None:
    try:
        return path.read_text("utf-8").strip() or None
    except OSError:
        return None


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class ServerGroup:
    """The servers of one ``farm watch --serve``; stops them all, in parallel, on :meth:`stop`."""

    def __init__(self, specs: list[ServerSpec], *, out: Callable[[str, str], None],
                 on_ready: Callable[[ManagedServer], None] | None = None) -> None:
        self.servers = [ManagedServer(s, out=out, on_ready=on_ready) for s in specs]

    def start(self, project_root: Path) -> None:
        ensure_token(project_root)  # before the servers read it
        for s in self.servers:
            s.start()

    def stop(self) -> None:
        threads = [threading.Thread(target=s.stop, daemon=True) for s in self.servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=3.0)

    def __getitem__(self, name: str) -> ManagedServer:
        return next(s for s in self.servers if s.spec.name == name)
