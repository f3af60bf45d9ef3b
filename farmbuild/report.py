"""What a build did: a doit reporter that collects per-task results, and the summary.

The reporter is handed to doit as an instance, so the same object serves ``farm build``,
``farm build --json`` and ``farm watch``; printing is the CLI's job.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ran", "up-to-date", "failed", "skipped"]


@dataclass
class TaskResult:
    id: str
    status: Status
    duration_s: float = 0.0
    written: list[str] = field(default_factory=list)
    error: str | None = None
    file: str | None = None
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "status": self.status, "duration_s": round(self.duration_s, 4)}
        if self.written:
            d["written"] = self.written
        if self.error:
            d["error"] = {"message": self.error, "file": self.file, "line": self.line}
        return d


@dataclass
class BuildReport:
    results: list[TaskResult]
    duration_s: float
    removed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # build-level problems (not a task's)
    effects: list[Any] = field(default_factory=list)  # farmbuild.recovery.Effect: side effects tried

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return not self.errors and self.count("failed") == 0

    @property
    def written(self) -> list[str]:
        return sorted({w for r in self.results for w in r.written} | set(self.removed))

    def summary(self) -> str:
        """``12 tasks: 3 ran, 9 up to date, 0 failed — 0.41 s``"""
        n = len(self.results)
        parts = [f"{self.count('ran')} ran", f"{self.count('up-to-date')} up to date", f"{self.count('failed')} failed"]
        if self.count("skipped"):
            parts.append(f"{self.count('skipped')} skipped")
        return f"{n} task{'s' if n != 1 else ''}: {', '.join(parts)} \u2014 {self.duration_s:.2f} s"

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "summary": {
                "tasks": len(self.results),
                "ran": self.count("ran"),
                "up_to_date": self.count("up-to-date"),
                "failed": self.count("failed"),
                "skipped": self.count("skipped"),
                "duration_s": round(self.duration_s, 4),
            },
            "tasks": [r.to_json() for r in self.results],
            "written": self.written,
            "removed": self.removed,
            "errors": self.errors,
            "effects": [e.to_json() for e in self.effects],
        }


class CollectingReporter:
    """A doit reporter (duck-typed interface of ``doit.reporter.ConsoleReporter``)."""

    desc = "farmbuild"

    def __init__(self, known: set[str], on_result: Callable[[TaskResult], None] | None = None) -> None:
        self.known = known
        self.on_result = on_result
        self.results: dict[str, TaskResult] = {}
        self._start: dict[str, float] = {}
        self.runtime_errors: list[str] = []

    # doit calls these
    def initialize(self, tasks: Any, selected_tasks: Any) -> None:
        pass

    def get_status(self, task: Any) -> None:
        pass

    def execute_task(self, task: Any) -> None:
        self._start[task.name] = time.perf_counter()

    def _done(self, task: Any, status: Status, error: str | None = None) -> None:
        if task.name not in self.known:
            return
        started = self._start.pop(task.name, None)
        duration = time.perf_counter() - started if started is not None else 0.0
        result = TaskResult(task.name, status, duration, error=error)
        self.results[task.name] = result
        if self.on_result:
            self.on_result(result)

    def add_success(self, task: Any) -> None:
        self._done(task, "ran")

    def add_failure(self, task: Any, fail: Any) -> None:
        msg = fail.get_msg() if hasattr(fail, "get_msg") else str(fail)
        status: Status = "failed"
        if type(fail).__name__ == "UnmetDependency":
            # doit's message is just the names of the dependencies that failed
            msg = f"not run: it depends on {msg.strip()}, which failed"
        if type(fail).__name__ in {"SetupError", "UnmetDependency"} or "dependent task" in msg.lower():
            status = "skipped"
        self._done(task, status, msg.strip())

    def skip_uptodate(self, task: Any) -> None:
        self._done(task, "up-to-date")

    def skip_ignore(self, task: Any) -> None:
        self._done(task, "skipped")

    def cleanup_error(self, exception: Any) -> None:
        self.runtime_errors.append(exception.get_msg() if hasattr(exception, "get_msg") else str(exception))

    def runtime_error(self, msg: str) -> None:
        self.runtime_errors.append(msg)

    def teardown_task(self, task: Any) -> None:
        pass

    def complete_run(self) -> None:
        pass
