"""A harness that runs :class:`WatchLoop` in a thread with a scripted (or real) change source."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from farmbuild.build import Session
from farmbuild.watch.loop import BuildEvent, ErrorEvent, Ready, WatchLoop
from farmbuild.watch.notify import Notifier
from farmbuild.watch.source import ScriptedSource, Source

DEADLINE_S = 60.0


class RecordingNotifier(Notifier):
    """A real Notifier whose HTTP goes to an in-memory Vite (httpx.MockTransport)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            self.requests.append((request.url.path, json.loads(request.content)))
            return httpx.Response(200, json={"ok": True})

        super().__init__(httpx.Client(transport=httpx.MockTransport(handler)), frontend_url="http://vite.test",
                         token="t0ken")

    @property
    def vite_events(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path == "/__farm/event"]


class LoopHarness:
    def __init__(self, session: Session, *, source: Source | None = None, notifier: Notifier | None = None,
                 **kwargs: Any) -> None:
        self.session = session
        self.source = source if source is not None else ScriptedSource()
        self.events: list[Any] = []
        self._cv = threading.Condition()
        self.loop = WatchLoop(session, source=self.source, notifier=notifier, on_event=self._on, **kwargs)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="watch-loop", daemon=True)

    def _on(self, event: Any) -> None:
        with self._cv:
            self.events.append(event)
            self._cv.notify_all()

    def _run(self) -> None:
        try:
            self.loop.run()
        except BaseException as exc:  # noqa: BLE001 - reported by wait()
            self.error = exc
            with self._cv:
                self._cv.notify_all()

    def start(self) -> LoopHarness:
        self.thread.start()
        self.wait(lambda e: isinstance(e, Ready))
        return self

    def stop(self) -> None:
        self.loop.stop()
        self.thread.join(DEADLINE_S)
        assert not self.thread.is_alive(), "the loop did not stop"

    # -- waiting ---------------------------------------------------------------------

    def wait(self, pred: Callable[[Any], bool], *, after: int = 0, timeout: float = DEADLINE_S) -> Any:
        """The first event at index >= ``after`` matching ``pred``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for e in self.events[after:]:
                    if pred(e):
                        return e
                if self.error is not None:
                    raise AssertionError(f"the loop died: {self.error!r}") from self.error
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching event within {timeout} s; events: {self.events!r}")
                self._cv.wait(remaining)

    def mark(self) -> int:
        with self._cv:
            return len(self.events)

    def next_build(self, after: int, pred: Callable[[BuildEvent], bool] = lambda e: True) -> BuildEvent:
        return self.wait(lambda e: isinstance(e, BuildEvent) and pred(e), after=after)

    def next_error(self, after: int) -> ErrorEvent:
        return self.wait(lambda e: isinstance(e, ErrorEvent), after=after)

    def builds(self, after: int = 0) -> list[BuildEvent]:
        with self._cv:
            return [e for e in self.events[after:] if isinstance(e, BuildEvent)]

    # -- editing ---------------------------------------------------------------------

    def emit(self, *paths: Path) -> None:
        assert isinstance(self.source, ScriptedSource)
        self.source.emit(paths)

    def edit(self, path: Path, text: str) -> int:
        """Write ``path`` and report it; returns the event mark to wait after."""
        mark = self.mark()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.emit(path)
        return mark


@pytest.fixture
def harness() -> Iterator[Callable[..., LoopHarness]]:
    made: list[LoopHarness] = []

    def make(root: Path, *, isolated: bool = False, start: bool = True, **kwargs: Any) -> LoopHarness:
        h = LoopHarness(Session(root, isolated=isolated, lock_what="farm watch"), **kwargs)
        made.append(h)
        return h.start() if start else h

    yield make
    for h in made:
        if h.thread.is_alive():
            h.stop()
        h.session.close()


def ran_ids(event: BuildEvent) -> set[str]:
    return {r.id for r in event.report.results if r.status == "ran"}


def failed_ids(event: BuildEvent) -> set[str]:
    return {r.id for r in event.report.results if r.status == "failed"}


def model(name: str, fields: str = "x: int") -> str:
    body = "\n".join(f"    {f.strip()}" for f in fields.split(";"))
    return f"from pydantic import BaseModel\n\n\nclass {name}(BaseModel):\n{body}\n"
