"""``farm watch --serve``: the backend and the Vite dev server as supervised child processes.

Each server runs in its own session (process group), so the terminal's Ctrl-C reaches farm
only and farm stops the whole group (uvicorn's reloader *and* its worker). farm waits for a
server to answer HTTP on its URL, prefixes its output (``api │``, ``web │``), and stops it on
exit: SIGTERM to the group, SIGKILL for whatever is left after a short grace. On Linux a server
also gets SIGTERM if farm itself is killed (``PR_SET_PDEATHSIG``).

A server that exits on its own is restarted under the same policy as every other side effect
(:mod:`farmbuild.recovery`, key ``<name> process``): up to ``max_retries`` restarts,
``cooldown_ms`` apart, then farm stops restarting it and says so; the next save starts it once
more (like nodemon's "waiting for file changes"). A run of more than :data:`STABLE_S` seconds
ends the episode. A command that cannot be started at all (not found, not executable) is not
retried. :meth:`ManagedServer.restart` is the *fallback* of the other side effects: when Vite or
the backend keeps failing although its process runs, the watch loop restarts it.

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
from ..metrics import Metric
from ..project import Project
from ..recovery import Action, Decision, Key, Recovery, Verdict, classify

log = logging.getLogger(__name__)

HEALTH_PATH = {"api": "/__farm/health", "web": "/"}
STABLE_S = 30.0  # a server that ran this long before it exited was fine: its exit starts a new episode


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
    """One supervised child process (see the module docstring for what happens when it exits)."""

    def __init__(self, spec: ServerSpec, *, out: Callable[[str, str], None],
                 on_ready: Callable[["ManagedServer"], None] | None = None, recovery: Recovery | None = None,
                 record: Callable[[Metric], None] | None = None, ready_timeout_s: float = 60.0,
                 stop_grace_s: float = 0.5) -> None:
        self.spec = spec
        self.out = out
        self.on_ready = on_ready
        self.recovery = recovery if recovery is not None else Recovery()
        self.record = record
        self.key = Key(spec.name, "process")
        self.ready_timeout_s = ready_timeout_s
        self.stop_grace_s = stop_grace_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.ready = threading.Event()
        self.parked = threading.Event()  # farm stopped restarting it: waiting for the next save
        self._stopping = threading.Event()
        self._wake = threading.Event()  # ends a cooldown or a park early (restart, revive, stop)
        self._restart = threading.Event()  # the exit that follows was asked for: not a crash
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None
        self._pumping: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self._supervisor = threading.Thread(target=self._supervise, name=f"farm-serve-{self.spec.name}", daemon=True)
        self._supervisor.start()

    def _spawn(self) -> tuple[subprocess.Popen[bytes] | None, OSError | None]:
        env = dict(os.environ)
        env.update(self.spec.env)
        try:
            # started from the supervisor thread, which lives exactly as long as the server is wanted
            proc = subprocess.Popen(self.spec.argv, cwd=self.spec.cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_PDEATHSIG)
        except OSError as exc:
            return None, exc
        self.starts += 1
        self._pumping = threading.Thread(target=self._pump, args=(proc,), name=f"farm-serve-{self.spec.name}-out",
                                         daemon=True)
        self._pumping.start()
        return proc, None

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

    def _metric(self, ok: bool, seconds: float) -> None:
        if self.record is not None:
            name = f"{self.spec.name} server"  # farm stats: starts (time to ready) and unexpected exits
            self.record(Metric(name, name, round(seconds * 1000, 2), ok, time.time()))

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self._restart.clear()
                self._wake.clear()
                proc, error = self._spawn()
                self.proc = proc
            if proc is None:
                assert error is not None
                decision = self.recovery.failed(
                    self.key, classify(error), f"cannot start {shlex.join(self.spec.argv)}: {error.strerror or error}",
                    schedule=False, can_fall_back=False)
            else:
                started = time.monotonic()
                ready = self._wait_ready(proc)
                if ready:
                    self.ready.set()
                    self._metric(True, time.monotonic() - started)
                    self.out(self.spec.name, f"ready at {self.spec.url}")
                    if self.on_ready:
                        self.on_ready(self)
                code = proc.wait()
                self.ready.clear()
                if self._stopping.is_set():
                    return
                _signal_group(proc, signal.SIGKILL)  # what the dead leader left behind (uvicorn's worker holds the port)
                if self._pumping is not None:
                    self._pumping.join(1.0)  # its last words (a traceback) come before our line about it
                if self._restart.is_set():
                    continue  # restart() asked for it: start again at once, it is not a crash
                lived = time.monotonic() - started
                self._metric(False, lived)
                if lived > STABLE_S:
                    self.recovery.succeeded(self.key)  # it had been fine: this exit starts a new episode
                decision = self.recovery.failed(self.key, Verdict.TRANSIENT, f"exited with status {code}",
                                                schedule=False, can_fall_back=False)
            self._say(decision)
            if decision.action is Action.RETRY:
                self._wake.wait(decision.delay_s)
                self._wake.clear()
                continue
            # gave up (or must not retry): wait for the next save, a restart, or the end
            self.parked.set()
            self._wake.wait()
            self._wake.clear()
            self.parked.clear()
            if not self._stopping.is_set() and not self._restart.is_set():
                self.out(self.spec.name, "starting again (a file was saved)")

    def _say(self, d: Decision) -> None:
        name = self.spec.name
        if d.action is Action.RETRY:
            text = f"{d.message}; restart {d.attempt}/{d.retries} in {_secs(d.delay_s)}"
        elif d.action is Action.GIVE_UP and d.repeat:
            text = f"{d.message} again; waiting for the next save"
        elif d.action is Action.GIVE_UP:
            times = d.attempt
            text = (f"{d.message} ({times} time{'s' if times != 1 else ''} in a row); not restarting it any more:"
                    " fix what its output above says, then save a file and farm starts it again")
        elif d.action is Action.FAIL_FAST:
            key = "frontend_command" if name == "web" else "backend_command"
            text = (f"{d.message}; not retried: fix development.servers.{key} in farm.toml (or install the"
                    " command), then save a file and farm starts it again")
        elif d.action is Action.REPORT:
            text = (f"{d.message}; not restarted (development.hot_reload.error_recovery.enabled = false);"
                    " the next save starts it again")
        else:
            text = f"{d.message}"
        # a start after a save that failed again is worth its line too: that save asked for it
        if d.loud or d.action is Action.FAIL_FAST or (d.action is Action.GIVE_UP and d.repeat):
            self.out(name, text)

    def restart(self, why: str = "") -> None:
        """Stop the process so the supervisor starts a new one at once (the fallback of a side
        effect that keeps failing against it); a parked server is started again."""
        self.out(self.spec.name, f"restarting{': ' + why if why else ''}")
        with self._lock:
            self._restart.set()
            proc = self.proc
        self._wake.set()  # a cooldown or a park ends now
        if proc is not None and proc.poll() is None:
            _stop_group(proc, self.stop_grace_s)

    def revive(self) -> None:
        """Start a server farm gave up on once more (a save happened)."""
        if self.parked.is_set():
            self._wake.set()

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL what is left after the grace period."""
        self._stopping.set()
        self._wake.set()
        with self._lock:
            proc = self.proc
        if proc is not None:
            _stop_group(proc, self.stop_grace_s)
        if self._supervisor is not None:
            self._supervisor.join(timeout=1.0)


def _secs(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:g} s"


def _stop_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(proc, signal.SIGKILL)  # children of an exited leader too (and a stopped process)
    try:
        proc.wait(1.0)
    except subprocess.TimeoutExpired:
        pass


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
                 on_ready: Callable[[ManagedServer], None] | None = None, recovery: Recovery | None = None,
                 record: Callable[[Metric], None] | None = None) -> None:
        self.recovery = recovery if recovery is not None else Recovery()
        self.servers = [ManagedServer(s, out=out, on_ready=on_ready, recovery=self.recovery, record=record)
                        for s in specs]

    def restart(self, name: str) -> None:
        """The fallback: restart the server ``name`` (``web``, ``api``)."""
        what = {"web": "Vite kept failing farm's notifications", "api": "the backend kept failing farm's dev calls"}
        self[name].restart(what.get(name, ""))

    def revive(self) -> None:
        """A save happened: start the servers farm had stopped restarting."""
        for s in self.servers:
            s.revive()

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
