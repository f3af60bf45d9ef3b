"""Where batches of touched paths come from: the file system (watchfiles), or a script.

The loop takes a :class:`Source` and gives it a ``submit(paths)`` callback; the source calls it
from its own thread with each batch. Watching never stops during a build, so edits made
while a build runs are queued by the loop, not lost.

``WatchfilesSource`` drives watchfiles' Rust watcher directly (``RustNotify``, documented as
watchfiles' low-level API) so it can tell the loop when the watches are in place. In its
terms ``step`` is the quiet window (a batch is closed after that long without a new event)
and ``debounce`` the cap (a batch is closed after that long, however busy the disk).
Recursive watches cover the source roots; a second, non-recursive watch covers the project
root (``farm.toml``) and the directories of any other hand-written input, so editors that
save by renaming keep being seen (a watch on a single file dies with its inode).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

# submit(paths, busy=...): busy is True when the batch was closed by the cap while changes kept
# coming, False when the source saw a quiet window (it may then submit no paths at all)
Submit = Callable[..., None]
PathFilter = Callable[[Path], bool]


@dataclass(frozen=True)
class Roots:
    """Directories to watch: below ``recursive`` at any depth, in ``flat`` only their direct entries."""

    recursive: tuple[Path, ...] = ()
    flat: tuple[Path, ...] = ()

    def describe(self, rel: Callable[[Path], str]) -> str:
        parts = [rel(p) + "/" for p in self.recursive] + [rel(p) + "/*" if rel(p) != "." else "./*" for p in self.flat]
        return ", ".join(parts)


class Source(Protocol):
    def start(self, submit: Submit, roots: Roots, accept: PathFilter) -> None:
        """Begin watching ``roots``; return once edits made from now on are seen."""

    def add(self, roots: Roots) -> None:
        """Watch these directories too (they appeared since :meth:`start`)."""

    def stop(self) -> None: ...


class ScriptedSource:
    """A source for tests and harnesses: nothing is watched; :meth:`emit` submits a batch.

    >>> src = ScriptedSource(); loop = WatchLoop(session, source=src)   # doctest: +SKIP
    >>> path.write_text("..."); src.emit([path])                         # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._submit: Submit | None = None
        self.roots: Roots | None = None
        self.accept: PathFilter | None = None
        self.started = threading.Event()
        self.starts = 0
        self.added: list[Roots] = []

    def start(self, submit: Submit, roots: Roots, accept: PathFilter) -> None:
        self._submit, self.roots, self.accept = submit, roots, accept
        self.starts += 1
        self.started.set()

    def add(self, roots: Roots) -> None:
        self.added.append(roots)

    def stop(self) -> None:
        self._submit = None

    def emit(self, paths: Iterable[Path | str], *, filtered: bool = True, busy: bool | None = None) -> None:
        """Submit touched paths (through the loop's filter, as a real watcher would); ``busy``
        as a real source says it (True: the batch was cut at the cap; False: the disk is quiet)."""
        if self._submit is None:
            raise RuntimeError("the loop has not started this source")
        batch = [Path(p) for p in paths]
        if filtered and self.accept is not None:
            batch = [p for p in batch if self.accept(p)]
        if busy is not None:
            self._submit(batch, busy=busy)
        elif batch:
            self._submit(batch)


def _force_polling(explicit: bool) -> bool:
    """Config first, then watchfiles' own rules (WATCHFILES_FORCE_POLLING, WSL)."""
    if explicit:
        return True
    try:
        from watchfiles.main import _default_force_polling  # private, but it is watchfiles' own logic

        return bool(_default_force_polling(None))
    except (ImportError, TypeError):
        return False


class WatchfilesSource:
    def __init__(self, *, step_ms: int = 100, cap_ms: int = 1000, polling: bool = False,
                 poll_delay_ms: int = 300, start_timeout_s: float = 10.0) -> None:
        self.step_ms = max(1, int(step_ms))
        self.cap_ms = max(self.step_ms, int(cap_ms))
        self.polling = _force_polling(polling)
        self.poll_delay_ms = poll_delay_ms
        self.start_timeout_s = start_timeout_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._submit: Submit | None = None
        self._accept: PathFilter | None = None
        self._busy: dict[int, bool] = {}  # per watcher thread: its last batch was cut at the cap
        self._busy_lock = threading.Lock()
        self._keys = itertools.count()

    def start(self, submit: Submit, roots: Roots, accept: PathFilter) -> None:
        self._stop = threading.Event()
        self._threads = []
        self._busy = {}
        self._submit, self._accept = submit, accept
        self.add(roots)

    def add(self, roots: Roots) -> None:
        assert self._submit is not None and self._accept is not None, "start() first"
        readies = []
        for paths, recursive in ((roots.recursive, True), (roots.flat, False)):
            existing = [p for p in paths if p.exists()]
            if not existing:
                continue
            ready = threading.Event()
            readies.append(ready)
            key = next(self._keys)
            t = threading.Thread(target=self._run,
                                 args=(key, existing, recursive, self._submit, self._accept, ready, self._stop),
                                 name=f"farm-watch-{'tree' if recursive else 'dir'}", daemon=True)
            t.start()
            self._threads.append(t)
        for ready in readies:  # edits made after this returns are seen
            ready.wait(self.start_timeout_s)

    def _report(self, key: int, busy: bool, batch: list[Path], submit: Submit) -> None:
        with self._busy_lock:  # the disk is busy while any of the watcher threads says so
            self._busy[key] = busy
            submit(batch, busy=any(self._busy.values()))

    def _run(self, key: int, paths: list[Path], recursive: bool, submit: Submit, accept: PathFilter,
             ready: threading.Event, stop: threading.Event) -> None:
        from watchfiles._rust_notify import RustNotify

        polling = self.polling
        while not stop.is_set():
            if polling:
                self._poll(key, paths, recursive, submit, accept, ready, stop)
                return
            try:
                with RustNotify([str(p) for p in paths], False, polling, self.poll_delay_ms, recursive, True) as w:
                    ready.set()
                    busy = False
                    while True:
                        # watch() returns a batch after a quiet step or at the cap, or "timeout"
                        # after a step without any event. The timeout is one step so that a call
                        # starts at most a step before its first event: a batch that took the
                        # whole cap was cut by it (the disk is busy), and the next "timeout" is
                        # the quiet that ends the burst.
                        started = time.monotonic()
                        raw = w.watch(self.cap_ms, self.step_ms, self.step_ms, stop)
                        if raw == "stop":
                            return
                        if isinstance(raw, str):  # 'timeout' / 'signal' (signals belong to the main thread)
                            if busy and raw == "timeout":
                                busy = False
                                self._report(key, False, [], submit)
                            continue
                        capped = (time.monotonic() - started) * 1000 >= self.cap_ms
                        batch = [p for p in (Path(path) for _, path in raw) if accept(p)]
                        if batch or capped != busy:
                            self._report(key, capped, batch, submit)
                        busy = capped
            except Exception as exc:  # noqa: BLE001 - the watcher must not die silently
                # inotify limits (max_user_watches) and exotic file systems: polling still works
                log.warning("file notifications failed (%s); falling back to polling every %d ms",
                            exc, self.poll_delay_ms)
                polling = True

    def _poll(self, key: int, paths: list[Path], recursive: bool, submit: Submit, accept: PathFilter,
              ready: threading.Event, stop: threading.Event) -> None:
        """Polling: a scan every ``poll_delay_ms``, a change is a difference between two scans.

        Not watchfiles' poll watcher: notify's compares modification times to the *second*, so a
        second save within the second of the first (same size: ``saved2`` -> ``saved3``) is never
        seen, and neither is a rename over the file in that second. Here a file's state is its
        modification time in nanoseconds, size and inode, so an atomic save (a new inode) and
        an in-place rewrite are both seen. Batching as with notifications: a batch closes after a
        quiet scan at least ``step_ms`` after the last change, or at the cap (then busy)."""
        try:
            prev = _scan(paths, recursive, accept)
        finally:
            ready.set()
        pending: set[Path] = set()
        first_at = last_at = 0.0
        busy = False
        while not stop.wait(self.poll_delay_ms / 1000):
            try:
                cur = _scan(paths, recursive, accept)
            except Exception as exc:  # noqa: BLE001 - the watcher must not die silently
                log.error("scanning the watched folders failed: %s", exc)
                continue
            changed = {p for p in prev.keys() | cur.keys() if prev.get(p) != cur.get(p)}
            prev = cur
            now = time.monotonic()
            if changed:
                if not pending:
                    first_at = now
                pending |= {Path(p) for p in changed}
                last_at = now
                if (now - first_at) * 1000 >= self.cap_ms:
                    self._report(key, True, sorted(pending), submit)
                    pending, busy = set(), True
            elif (pending or busy) and (now - last_at) * 1000 >= self.step_ms:
                self._report(key, False, sorted(pending), submit)
                pending, busy = set(), False

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=1.0)
        self._threads = []


def _scan(paths: list[Path], recursive: bool, accept: PathFilter) -> dict[str, tuple[int, int, int]]:
    """``{path: (mtime_ns, size, inode)}`` of every accepted file in ``paths`` (below them when
    ``recursive``; directories the filter rejects, and symlinked ones, are not entered)."""
    out: dict[str, tuple[int, int, int]] = {}
    stack = [str(p) for p in paths]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive and accept(Path(entry.path, "_")):
                        stack.append(entry.path)
                    continue
                if not accept(Path(entry.path)):
                    continue
                st = entry.stat()
            except OSError:  # gone since the listing
                continue
            out[entry.path] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return out
