"""The farmbuild side of the worker: start it, send jobs, replace it when it misbehaves.

A worker that crashes (EOF on its pipe), hangs past the job timeout, or grows past the
memory bound is killed and replaced on the next job; the job that hit the problem fails
with a :class:`~farmbuild.errors.UserCodeError` naming the module, never with a traceback
from farmbuild.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import UserCodeError, WorkerTimeout
from . import protocol

log = logging.getLogger(__name__)

PRELOAD = ("pydantic", "fastapi", "fastapi.openapi.utils")


class Worker:
    """One worker process, started lazily on the first :meth:`call`.

    >>> w = Worker([Path("apps/api")], [Path("apps/api")], Path("."))  # doctest: +SKIP
    >>> w.call("schema", module="src.models.catalog", source="apps/api/src/models/catalog.py")  # doctest: +SKIP
    """

    def __init__(
        self,
        roots: list[Path],
        scan: list[Path],
        project_root: Path,
        *,
        timeout_s: float = 60.0,
        max_memory_mb: int = 2048,
        max_source_bytes: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.roots = [str(Path(r).resolve()) for r in roots]
        self.scan = [str(Path(s).resolve()) for s in scan]
        self.project_root = str(Path(project_root).resolve())
        self.timeout_s = timeout_s
        self.max_memory_mb = max_memory_mb
        self.max_source_bytes = max_source_bytes  # a larger user module is refused, not imported
        self.env = env
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._next_id = 0
        self.started = 0  # how many processes this Worker has started (tests read it)
        self.pid: int | None = None
        self.last_dropped: list[str] = []
        self._check = True  # the next job must first look for changed user files
        self._in_build = False

    def begin_build(self) -> None:
        """Jobs until :meth:`end_build` belong to one build: user files are checked for changes
        before the first of them only (stat-ing every loaded module before each of 500 jobs
        dominated a cold build). Outside a build every job checks."""
        self._in_build = True
        self._check = True

    def end_build(self) -> None:
        self._in_build = False

    # -- lifecycle ------------------------------------------------------------------

    def _start(self) -> None:
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # never litter the user's tree with __pycache__
        env.setdefault("PYTHONUNBUFFERED", "1")
        # The worker must import farmbuild itself even when it runs from a source checkout.
        pkg_parent = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join([pkg_parent, *filter(None, [env.get("PYTHONPATH")])])
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "farmbuild.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            cwd=self.project_root,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal is handled by farmbuild, which stops us
        )
        self.started += 1
        self.pid = self._proc.pid
        self._request("init", {"roots": self.roots, "scan": self.scan, "project_root": self.project_root,
                               "preload": list(PRELOAD), "max_source_bytes": self.max_source_bytes}, timeout=max(self.timeout_s, 30.0), changed=None)

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (subprocess.TimeoutExpired, OSError):
            self._kill(proc)
        finally:
            if proc.stdout:
                proc.stdout.close()

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            try:
                proc.kill()
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _discard(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            self._kill(proc)
            for s in (proc.stdin, proc.stdout):
                try:
                    if s:
                        s.close()
                except OSError:
                    pass

    def kill(self) -> None:
        """Stop the process now, without the grace :meth:`close` gives (Ctrl-C must not wait on user code)."""
        self._discard()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- jobs -----------------------------------------------------------------------

    def _request(self, op: str, args: dict[str, Any], *, timeout: float, changed: list[str] | None) -> Any:
        assert self._proc is not None and self._proc.stdin is not None and self._proc.stdout is not None
        self._next_id += 1
        check = self._check or not self._in_build
        msg = {"id": self._next_id, "op": op, "args": args, "changed": changed, "check": check}
        self._check = False
        try:
            protocol.send(self._proc.stdin, msg)  # type: ignore[arg-type]
            reply = protocol.recv(self._proc.stdout.fileno(), time.monotonic() + timeout)
        except protocol.ProtocolTimeout:
            self._discard()
            raise WorkerTimeout(
                f"{_what(op, args)} did not finish within {timeout:g} s (an import that hangs or loops?)",
                file=args.get("source"),
                hint="the worker was stopped; fix the code or raise [worker] timeout_s in farm.toml",
            ) from None
        except (protocol.ProtocolEOF, BrokenPipeError, OSError):
            code = self._proc.poll() if self._proc else None
            self._discard()
            raise UserCodeError(
                f"the worker process died during {_what(op, args)} (exit status {code})",
                file=args.get("source"),
                hint="user code crashed the interpreter (os._exit, a segfault in an extension?); it will be restarted",
            ) from None
        self.last_dropped = reply.get("dropped") or []
        if op != "init" and reply.get("rss_mb", 0) > self.max_memory_mb:
            log.info("worker grew to %.0f MB (bound %d MB); replacing it", reply["rss_mb"], self.max_memory_mb)
            self._discard()
        if not reply.get("ok"):
            err = reply.get("error") or {}
            exc = UserCodeError(
                err.get("problem", "unknown error"),
                file=err.get("file") or args.get("source"),
                line=err.get("line"),
                hint=err.get("hint"),
            )
            exc.kind = err.get("kind", "exception")  # type: ignore[attr-defined]
            raise exc
        return reply.get("result")

    def call(self, op: str, *, timeout: float | None = None, changed: list[str] | None = None, **args: Any) -> Any:
        """Run ``op`` in the worker; start or restart it as needed."""
        with self._lock:
            if not self.alive:
                if self._proc is not None:
                    self._discard()
                self._start()
            return self._request(op, args, timeout=timeout or self.timeout_s, changed=changed)


def _what(op: str, args: dict[str, Any]) -> str:
    if "module" in args:
        return f"importing {args['module']} ({op})"
    return f"worker job {op!r}"


# -- one worker per process and project ---------------------------------------------

_WORKERS: dict[tuple[int, tuple[str, ...], str], Worker] = {}


def shared_worker(roots: list[Path], scan: list[Path], project_root: Path, **kwargs: Any) -> Worker:
    """The worker of this process for this project (doit's -n forks get their own)."""
    key = (os.getpid(), tuple(str(Path(r).resolve()) for r in roots), str(Path(project_root).resolve()))
    w = _WORKERS.get(key)
    if w is None:
        w = _WORKERS[key] = Worker(roots, scan, project_root, **kwargs)
    else:
        w.timeout_s = kwargs.get("timeout_s", w.timeout_s)
        w.max_memory_mb = kwargs.get("max_memory_mb", w.max_memory_mb)
        limit = kwargs.get("max_source_bytes", w.max_source_bytes)
        if limit != w.max_source_bytes:  # the running process was told the old limit at init
            w.max_source_bytes = limit
            w.close()
    return w


def close_all() -> None:
    for key, w in list(_WORKERS.items()):
        if key[0] == os.getpid():
            w.close()
        _WORKERS.pop(key, None)


atexit.register(close_all)
