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
        self.waited = False  # set by acquire(): another process held the lock first (it may have built)

    @property
    def display(self) -> str:
        """The lock file as messages name it: project-relative (``.farm/lock``)."""
        return f"{self.path.parent.name}/{self.path.name}"

    def holder_info(self) -> dict[str, object]:
        try:
            info = json.loads(self.path.read_text("utf-8") or "{}")
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def holder(self) -> str:
        """Who holds the lock, for a message: ``farm build (pid 123, running for 4 s)``."""
        info = self.holder_info()
        pid, what = info.get("pid"), info.get("what")
        if not isinstance(pid, int):
            return "another farmbuild process"
        since = info.get("since")
        age = ""
        if isinstance(since, (int, float)):
            secs = max(0.0, time.time() - since)
            age = f", running for {secs:.0f} s" if secs < 120 else f", running for {secs / 60:.0f} min"
        return f"{what or 'farmbuild'} (pid {pid}{age})"

    def acquire(self) -> None:
        if self._fd is not None:
            self.depth += 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout_s
        announced = False
        self.waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                self.waited = True
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockError(self._busy_message()) from None
                if not announced:
                    log.warning("waiting for %s to finish with this project (%s); Ctrl-C to stop waiting",
                                self.holder(), self.display)
                    announced = True
                time.sleep(0.05)
            except BaseException:
                os.close(fd)
                raise
        # a clean release empties the file: content left in it means its last holder was killed
        # in the middle of a build (temporary files of its atomic writes may be lying around)
        self.interrupted = bool(os.pread(fd, 64, 0).strip())
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "what": self.what, "since": round(time.time(), 3),
                                  "argv": sys.argv[:3]}).encode(), 0)
        self._fd = fd
        self.depth = 1

    def _busy_message(self) -> str:
        who = self.holder()
        pid = self.holder_info().get("pid")
        stop = f"stop it (kill {pid})" if isinstance(pid, int) else "stop it"
        waited = "" if self.timeout_s <= 0 else f" and did not finish within {self.timeout_s:g} s"
        return (f"{who} is building this project (it holds {self.display}){waited}; wait for it to finish"
                f" or {stop}, then run `{self.what}` again")

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
