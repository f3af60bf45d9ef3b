"""One line per build, quiet when nothing happened."""

from __future__ import annotations

import json
from pathlib import Path

from farmbuild.report import BuildReport, TaskResult
from farmbuild.watch.changes import ChangeType, FileChange
from farmbuild.watch.loop import BuildEvent, ErrorEvent, Ready
from farmbuild.watch.source import Roots
from farmbuild.watch.terminal import build_line, event_json, event_line
from farmbuild.errors import ConfigError

ROOT = Path("/p")
CAT = ROOT / "apps/api/src/models/catalog.py"


def rel(p: Path) -> str:
    return p.relative_to(ROOT).as_posix() if p != ROOT else "."


def event(*results: TaskResult, changes: list[FileChange] | None = None, **kw: object) -> BuildEvent:
    return BuildEvent(1, 0, 1, changes if changes is not None else [FileChange(CAT, ChangeType.MODIFIED)],
                      BuildReport(list(results), 0.05), started_at=10.0, finished_at=10.05, **kw)  # type: ignore[arg-type]


def line(ev: BuildEvent) -> str | None:
    return build_line(ev, rel, clock=lambda: 0.0)


def test_a_build_that_wrote_files() -> None:
    text = line(event(TaskResult("schema:catalog", "ran", 0.038, [".farm/schema/catalog.json"]),
                      TaskResult("types:catalog", "ran", 0.006, ["apps/web/src/types/models/catalog.ts"]),
                      TaskResult("schema:common", "up-to-date"), notified=["vite"]))
    assert text is not None
    assert text.endswith("apps/api/src/models/catalog.py \u2192 schema:catalog 38 ms, types:catalog 6 ms"
                         " \u00b7 2 files written \u00b7 told vite \u00b7 50 ms")
    assert "schema:common" not in text  # up-to-date tasks are not news


def test_nothing_ran_is_quiet() -> None:
    assert line(event(TaskResult("schema:common", "up-to-date"))) is None
    assert line(event()) is None


def test_ran_but_unchanged() -> None:
    assert "outputs unchanged" in (line(event(TaskResult("schema:catalog", "ran", 0.03, []))) or "")


def test_one_broken_module_is_said_once() -> None:
    err = "apps/api/src/models/catalog.py:9: SyntaxError: invalid syntax (fix the syntax error)"
    text = line(event(TaskResult("schema:catalog", "failed", error=err), TaskResult("schema:orders", "failed", error=err)))
    assert text is not None and text.count("SyntaxError") == 1
    assert "FAILED schema:catalog, schema:orders: apps/api/src/models/catalog.py:9: SyntaxError" in text


def test_many_tasks_are_summarised_by_kind() -> None:
    results = [TaskResult(f"schema:m{i}", "ran", 0.01, [f".farm/schema/m{i}.json"]) for i in range(10)]
    text = line(event(*results, changes=[]))
    assert text is not None and "initial build" not in text
    assert "schema \u00d710 100 ms" in text and "10 files written" in text


def test_other_events() -> None:
    err = ErrorEvent(2, [FileChange(ROOT / "farm.toml", ChangeType.MODIFIED)],
                     ConfigError("farm.toml", "development.hot_reload.debounce_ms", "expected an integer", line=2))
    text = event_line(err, rel, clock=lambda: 0.0)
    assert text is not None and "farm.toml \u2192 FAILED: farm.toml:2: development.hot_reload.debounce_ms" in text
    ready = Ready(Roots((ROOT / "apps/api/src",), (ROOT,)))
    assert event_line(ready, rel) == "watching apps/api/src/, ./* (Ctrl-C to stop)"


def test_json_lines() -> None:
    ev = event(TaskResult("schema:catalog", "ran", 0.038, [".farm/schema/catalog.json"]))
    data = json.loads(event_json(ev, rel) or "")
    assert data["event"] == "build" and data["changes"] == [{"path": "apps/api/src/models/catalog.py", "kind": "modified"}]
    assert data["written"] == [".farm/schema/catalog.json"] and data["finished_at"] == 10.05
