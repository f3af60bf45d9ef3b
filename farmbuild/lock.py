"""One build at a time per project.

``farm build``, ``farm watch`` (around each of its builds) and plain ``doit`` (through the
dodo loader) take an exclusive ``flock`` on ``.farm/lock``. A second build waits for the
first, saying who holds the lock, and gives up with a clear message after a timeout. The
kernel releases a flock when its process dies, so a ``kill -9`` never leaves a stale lock; the
holder's pid stays in the file until a clean release empties it, so the next build knows the
previous one was killed (:attr:`ProjectLock.interrupted`) and sweeps up its temporary files.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from .errors import LockError

log = logging.getLogger(__name__)


class ProjectLock:
    def __init__(self, state_dir: Path, *, timeout_s: float = 120.0, what: str = "build") -> None:
        self.path = state_dir / "lock"
        self.timeout_s = timeout_s
        self.what = what
        self._fd: int | None = None
        self.depth = 0
        self.interrupted = False  # set by acquire(): the previous holder died holding the lock

    def holder(self) -> str:
        try:
            info = json.loads(self.path.read_text("utf-8") or "{}")
            return f"pid {info.get('pid')} ({info.get('what')})"
        except (OSError, ValueError):
            return "another process"

    def acquire(self) -> None:
        if self._fd is not None:
            self.depth += 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout_s
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    log.warning("waiting for %s to finish its build (%s)...", self.holder(), self.path)
                    announced = True
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockError(
                        f"another farmbuild process holds {self.path} ({self.holder()}) and did not finish within"
                        f" {self.timeout_s:g} s; wait for it, or stop it"
                    ) from None
                time.sleep(0.05)
        # a clean release empties the file: content left in it means its last holder was killed
        # in the middle of a build (temporary files of its atomic writes may be lying around)
        self.interrupted = bool(os.pread(fd, 64, 0).strip())
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "what": self.what, "argv": sys.argv[:3]}).encode())
        self._fd = fd
        self.depth = 1

    def release(self) -> None:
        if self._fd is None:
            return
        self.depth -= 1
        if self.depth > 0:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> "ProjectLock":
        self.acquire()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
