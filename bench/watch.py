"""Save-to-output latency of ``farm watch``, through the real :class:`~farmbuild.watch.loop.WatchLoop`.

What one measurement is, exactly:

- the loop runs in this process on a thread, with the real watchfiles source
  (:class:`~farmbuild.watch.source.WatchfilesSource`, inotify here) watching the project as
  ``farm watch`` does, but with its quiet window (``debounce_ms``, 100 ms by default) set to
  1 ms: the window is a setting, not work, and is excluded; add it for the default config;
- a save is an editor's atomic save: the new text goes to a hidden temp file in the same
  directory, which is renamed over the module (the clock starts before the temp file is written);
- ``watcher`` = save started → the loop holds the batch (inotify + watchfiles + 1 ms window);
- ``frontend`` = save started → the frontend lane's build returned: every TypeScript file the
  save affects is written (types, client, hooks, their indexes); Vite would be told now;
- ``written_s`` = save started → the module's own generated file (its types ``.ts`` for a model,
  its client ``.ts`` for a router) is on disk, by its mtime: Vite's own watcher hot-updates
  generated TypeScript from the disk, so this is when the browser can have it;
- ``full`` = save started → the follow-up lane returned (the merged OpenAPI document, the
  Python client, migrations): nothing is left to do for that save.

Saves are made one at a time, each after the previous one is fully built, so these are the
latencies of a developer who saves, looks, and saves again.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from farmbuild.build import Session
from farmbuild.watch.loop import BuildEvent, ErrorEvent, Ready, WatchLoop
from farmbuild.watch.source import WatchfilesSource

DEADLINE_S = 600.0  # a follow-up lane at 500 modules runs datamodel-code-generator over the document


@dataclass
class SaveTiming:
    watcher_s: float
    frontend_s: float
    full_s: float
    frontend_tasks: dict[str, float] = field(default_factory=dict)  # task id → seconds, tasks that ran
    later_tasks: dict[str, float] = field(default_factory=dict)
    written_s: dict[Path, float] = field(default_factory=dict)  # save started → that output on disk (its mtime)


class _Tail(logging.Handler):
    """The last debug lines of farmbuild's watch loop and watcher, for a failure message."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: collections.deque[str] = collections.deque(maxlen=40)
        self.setFormatter(logging.Formatter("%(relativeCreated)8.0f ms %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class WatchProbe:
    """``farm watch`` on ``app`` in a thread; :meth:`save` times one save."""

    def __init__(self, app: Path, *, quiet_ms: int = 1) -> None:
        self.tail = _Tail()
        for name in ("farmbuild.watch", "farmbuild.build"):
            logging.getLogger(name).addHandler(self.tail)
            logging.getLogger(name).setLevel(logging.DEBUG)
        self.session = Session(app, lock_what="farm watch (bench)")
        hr = self.session.project.config.development.hot_reload
        self.source = WatchfilesSource(step_ms=quiet_ms, cap_ms=hr.max_batch_ms, polling=hr.use_polling)
        self.events: list[Any] = []
        self._cv = threading.Condition()
        self.loop = WatchLoop(self.session, source=self.source, on_event=self._on)
        self.thread = threading.Thread(target=self._run, name="bench-watch", daemon=True)
        self.error: BaseException | None = None

    def _on(self, event: Any) -> None:
        with self._cv:
            self.events.append(event)
            self._cv.notify_all()

    def _run(self) -> None:
        try:
            self.loop.run()
        except BaseException as exc:  # noqa: BLE001 - reported by _wait
            self.error = exc
            with self._cv:
                self._cv.notify_all()

    def _wait(self, pred: Any, after: int) -> Any:
        deadline = time.monotonic() + DEADLINE_S
        with self._cv:
            while True:
                for e in self.events[after:]:
                    if isinstance(e, ErrorEvent):
                        raise SystemExit(f"farm watch reported an error during the benchmark: {e.error}")
                    if pred(e):
                        return e
                if self.error is not None:
                    raise SystemExit(f"the watch loop died: {self.error!r}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SystemExit(
                        f"no build within {DEADLINE_S:.0f} s of a save; events since: {self.events[after:]!r};"
                        f" loop thread alive: {self.thread.is_alive()}, cycle {self.loop.cycle},"
                        f" watcher threads alive: {[t.is_alive() for t in self.source._threads]};"
                        " last log lines:\n" + "\n".join(self.tail.lines))
                self._cv.wait(min(remaining, 1.0))

    def start(self) -> WatchProbe:
        self.thread.start()
        self._wait(lambda e: isinstance(e, Ready), 0)
        return self

    def save(self, path: Path, text: str, outputs: tuple[Path, ...] = ()) -> SaveTiming:
        """Save ``text`` to ``path`` as an editor does; wait until the save is fully built.

        ``outputs``: generated files whose landing time to report (``written_s``): save started →
        the file's mtime. Vite's own watcher picks a generated ``.ts`` up from the disk, so that
        is when the browser can have it, even if the lane that wrote it has more to do.
        """
        with self._cv:
            mark = len(self.events)
            last_cycle = max((e.cycle for e in self.events if isinstance(e, BuildEvent)), default=0)
        if path.read_text(encoding="utf-8") == text:
            raise ValueError(f"saving {path} unchanged would start no build")
        tmp = path.with_name(f".{path.name}.bench-save")
        start, wall = time.monotonic(), time.time_ns()
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        first = self._wait(lambda e: isinstance(e, BuildEvent) and e.cycle > last_cycle
                           and any(c.path == path for c in e.changes), mark)
        cycle = first.cycle

        def done(e: Any) -> bool:
            # the last lane of the save's cycle, with nothing deferred to a later batch
            return isinstance(e, BuildEvent) and e.cycle == cycle and e.lane == e.lanes - 1 and not self.loop.deferred

        last = first if done(first) else self._wait(done, self.events.index(first) + 1)
        builds = [e for e in self.events[mark:] if isinstance(e, BuildEvent) and e.cycle == cycle]
        ran = {r.id: r.duration_s for e in builds[1:] for r in e.report.results if r.status == "ran"}
        failed = [r for e in builds for r in e.report.results if r.status == "failed"]
        if failed:
            raise SystemExit(f"a task failed during the benchmark: {failed[0].id}: {failed[0].error}")
        written = {}
        for out in outputs:
            mtime = out.stat().st_mtime_ns
            if mtime < wall:
                raise SystemExit(f"{out} was not rewritten by the save")
            written[out] = (mtime - wall) / 1e9
        return SaveTiming(
            written_s=written,
            watcher_s=first.batch_at - start,
            frontend_s=first.finished_at - start,
            full_s=last.finished_at - start,
            frontend_tasks={r.id: r.duration_s for r in first.report.results if r.status == "ran"},
            later_tasks=ran,
        )

    def stop(self) -> None:
        self.loop.stop()
        self.thread.join(60)
        self.session.close()
        for name in ("farmbuild.watch", "farmbuild.build"):
            logging.getLogger(name).removeHandler(self.tail)
