"""``farm watch``'s terminal: one line per build, nothing when nothing happened. Pure formatting.

    12:04:31 apps/api/src/models/catalog.py → schema:catalog 38 ms, types:catalog 6 ms · 2 files · vite
    12:04:40 apps/api/src/models/catalog.py → FAILED schema:catalog: apps/api/src/models/catalog.py:14: SyntaxError: ...
    12:04:52 apps/api/src/models/catalog.py → schema:catalog 35 ms · outputs unchanged
    12:05:03 backend ai-swap: the backend at http://127.0.0.1:8000 is not running → retry 1/3 in 5 s
    12:05:08 backend ai-swap: recovered after 1 retry

One line per recovery decision (retry, fallback, give-up, recovered); a retry's own build prints
nothing unless a task failed for another reason.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from .loop import BuildEvent, Deferred, ErrorEvent, Event, Ready, RecoveryEvent

MAX_LISTED = 6
ARROW = "\u2192"
DOT = "\u00b7"


def _changed(event: BuildEvent | ErrorEvent, rel: Callable[[Any], str]) -> str:
    paths = [rel(c.path) + (" (deleted)" if c.kind.value == "deleted" else "") for c in event.changes]
    if not paths:
        return "initial build" if isinstance(event, BuildEvent) and event.cycle == 0 else "retry"
    shown = ", ".join(paths[:3])
    return shown + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def build_line(event: BuildEvent, rel: Callable[[Any], str], *, clock: Callable[[], float] = time.time) -> str | None:
    """The line for one build, or None when no task ran and nothing failed (quiet)."""
    report = event.report
    ran = [r for r in report.results if r.status == "ran"]
    failed = [r for r in report.results if r.status == "failed"]
    if not ran and not failed and not report.removed and not report.errors:
        return None
    if event.recovery:
        # a retry: its recovery lines say how it went, unless a task failed for another reason
        judged = {e.task for e in report.effects if not e.ok}
        if not report.errors and not [r for r in failed if r.id not in judged]:
            return None
    stamp = time.strftime("%H:%M:%S", time.localtime(clock()))
    head = f"{stamp} {_changed(event, rel)}"
    if event.lane > 0:
        head += " (follow-up)"
    if event.retried:
        head += " (changed during the last build)"
    ok_tasks = ran
    if len(ok_tasks) <= MAX_LISTED:
        tasks = ", ".join(f"{r.id} {_ms(r.duration_s)}" for r in ok_tasks)
    else:
        by_kind = Counter(r.id.split(":", 1)[0] for r in ok_tasks)
        secs: dict[str, float] = {}
        for r in ok_tasks:
            kind = r.id.split(":", 1)[0]
            secs[kind] = secs.get(kind, 0.0) + r.duration_s
        tasks = ", ".join(f"{k} \u00d7{n} {_ms(secs[k])}" for k, n in sorted(by_kind.items()))
    parts = [tasks] if tasks else []
    by_error: dict[str, list[str]] = {}
    for r in failed:  # one broken module fails every task that imports it: say it once
        by_error.setdefault(r.error or "failed", []).append(r.id)
    for error, ids in by_error.items():
        parts.append(f"FAILED {', '.join(ids)}: {error}")
    for e in report.errors:
        parts.append(f"error: {e}")
    tail = []
    n_written = len({w for r in report.results for w in r.written})
    if n_written:
        tail.append(f"{n_written} file{'s' if n_written != 1 else ''} written")
    elif ran and not failed:
        tail.append("outputs unchanged")
    if report.removed:
        tail.append(f"removed {', '.join(report.removed)}")
    if event.notified:
        tail.append("told " + ", ".join(event.notified))
    tail.append(_ms(event.finished_at - event.started_at))
    return f"{head} {ARROW} {'; '.join(parts)} {DOT} {f' {DOT} '.join(tail)}"


def event_line(event: Event, rel: Callable[[Any], str], *, clock: Callable[[], float] = time.time) -> str | None:
    if isinstance(event, BuildEvent):
        return build_line(event, rel, clock=clock)
    stamp = time.strftime("%H:%M:%S", time.localtime(clock()))
    if isinstance(event, ErrorEvent):
        return f"{stamp} {_changed(event, rel)} \u2192 FAILED: {event.error} (the last good outputs are kept)"
    if isinstance(event, Deferred):
        return None  # they run with the next build; its line lists them
    if isinstance(event, RecoveryEvent):
        d = event.decision
        return f"{stamp} {d.key}: {d.describe()}" if d.loud else None
    if isinstance(event, Ready):
        return f"watching {event.roots.describe(rel)} (Ctrl-C to stop)"
    return None


def event_json(event: Event, rel: Callable[[Any], str]) -> str | None:
    """One JSON object per line for ``farm watch --json`` (harnesses, editors)."""
    if isinstance(event, BuildEvent):
        d: dict[str, Any] = {
            "event": "build", "cycle": event.cycle, "lane": event.lane,
            "changes": [{"path": rel(c.path), "kind": c.kind.value} for c in event.changes],
            "batch_at": round(event.batch_at, 6), "started_at": round(event.started_at, 6),
            "finished_at": round(event.finished_at, 6), "notified": event.notified,
            "reloaded": event.reloaded, "retried": event.retried, "recovery": event.recovery,
        }
        d.update(event.report.to_json())
        return json.dumps(d)
    if isinstance(event, ErrorEvent):
        return json.dumps({"event": "error", "cycle": event.cycle, "message": str(event.error),
                           "changes": [{"path": rel(c.path), "kind": c.kind.value} for c in event.changes]})
    if isinstance(event, Deferred):
        return json.dumps({"event": "deferred", "cycle": event.cycle, "tasks": sorted(event.tasks)})
    if isinstance(event, RecoveryEvent):
        dec = event.decision
        if dec.action.value == "absent":
            return None
        out: dict[str, Any] = {"event": "recovery", "cycle": event.cycle, "component": dec.key.component,
                               "op": dec.key.op, "task": event.task, "action": dec.action.value,
                               "attempt": dec.attempt, "max_retries": dec.retries, "message": dec.message,
                               "line": dec.describe(), "loud": dec.loud}
        if dec.action.value == "retry":
            out["in_ms"] = round(dec.delay_s * 1000)
        if dec.restart:
            out["restart"] = dec.restart
        return json.dumps(out)
    if isinstance(event, Ready):
        return json.dumps({"event": "ready", "recursive": [rel(p) for p in event.roots.recursive],
                           "flat": [rel(p) for p in event.roots.flat]})
    return None
