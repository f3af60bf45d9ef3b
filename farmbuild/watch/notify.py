"""Telling the running dev servers what a build did (httpx; the client is passed in).

**Vite** (the plugin shipped in ``farmbuild/vite/plugin.mjs``): ``POST <frontend_url>/__farm/event``
with the dev token in ``X-Farm-Token`` and one JSON document per build::

    {"version": 1,
     "root": "/abs/project",                      # so the overlay can link file:line to the editor
     "changed": ["apps/api/src/models/catalog.py"],
     "written": ["apps/web/src/types/models/catalog.ts", ".farm/schema/catalog.json"],
     "removed": [],
     "tasks": [{"id": "schema:catalog", "kind": "schema", "ms": 41.0}],
     "kinds": ["schema", "types"],
     "errors": [{"task": "schema:catalog", "message": "...", "file": "apps/api/...py", "line": 12}]}

The plugin forwards it to the browser as the custom ``farm:update`` event when files were written,
shows ``errors[0]`` in Vite's error overlay, and clears that overlay when ``errors`` is empty
again. Generated TypeScript reaches the page through Vite's own watcher; the event never asks
for a second reload.

**The backend** needs no message from the loop: uvicorn ``--reload`` restarts on source changes
by itself, and the changes it cannot see (the ``[ai]`` section, plugins) are applied by the
tasks that own them, which call the backend's dev router (``/__farm/ai/reload``,
``/__farm/plugins/reload``) from inside the build, in ``farm build`` and ``farm watch`` alike.
Posting again from here would swap every model twice.

A Vite that is not running, or runs without the plugin, is not an error: there is simply nobody
to tell (said once at INFO, then at DEBUG). A Vite that *was* answering and fails (a timeout, a
5xx, a refused connection while it restarts) is retried by the watch loop after the cooldown, with
the undelivered event merged into the next one (:func:`merge_events`; see
:mod:`farmbuild.recovery`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .. import secrets
from ..devtoken import HEADER
from ..recovery import Verdict, classify, classify_status
from ..report import BuildReport, TaskResult

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
VITE_EVENT_PATH = "/__farm/event"


def error_entry(result: TaskResult) -> dict[str, Any]:
    return {"task": result.id, "message": result.error or "failed", "file": result.file, "line": result.line}


def vite_event(root: Path, changed: Iterable[str], report: BuildReport, failing: Iterable[TaskResult],
               extra_errors: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """The JSON document for one build (see the module docstring)."""
    ran = [r for r in report.results if r.status == "ran"]
    written = sorted({w for r in report.results for w in r.written})
    return {
        "version": PROTOCOL_VERSION,
        "root": str(root),
        "changed": sorted(changed),
        "written": written,
        "removed": sorted(report.removed),
        "tasks": [{"id": r.id, "kind": r.id.split(":", 1)[0], "ms": round(r.duration_s * 1000, 1)} for r in ran],
        "kinds": sorted({r.id.split(":", 1)[0] for r in ran}),
        "errors": [*extra_errors, *(error_entry(r) for r in failing)],
    }


def merge_events(older: dict[str, Any], newer: dict[str, Any]) -> dict[str, Any]:
    """One event that says what two did (an undelivered one and the next): the union of what
    changed, was written or removed and which tasks ran; the *current* errors (``newer``'s)."""
    tasks = {t["id"]: t for t in [*older.get("tasks", []), *newer.get("tasks", [])]}
    return {
        **newer,
        "changed": sorted({*older.get("changed", []), *newer.get("changed", [])}),
        "written": sorted({*older.get("written", []), *newer.get("written", [])}),
        "removed": sorted({*older.get("removed", []), *newer.get("removed", [])}),
        "tasks": list(tasks.values()),
        "kinds": sorted({*older.get("kinds", []), *newer.get("kinds", [])}),
    }


@dataclass(frozen=True)
class Delivery:
    """The outcome of one POST to Vite. ``verdict`` (when not ok): may another try work?"""

    ok: bool
    verdict: Verdict | None = None
    reason: str = ""  # e.g. "answered 503 to <url>", "did not answer at <url> (ReadTimeout)"
    key: str = ""  # what kind of failure, for the once-logging: down, 404, 403, http<status>

    def __bool__(self) -> bool:
        return self.ok


@dataclass
class _Target:
    name: str
    warned: set[str] = field(default_factory=set)

    def once(self, key: str, msg: str, *args: object) -> None:
        """INFO the first time, DEBUG after: an absent server is normal, not worth a line per save."""
        if key in self.warned:
            log.debug(msg, *args)
        else:
            self.warned.add(key)
            log.info(msg, *args)


class Notifier:
    """Posts build events to the Vite plugin; returns whether someone listened."""

    def __init__(self, client: httpx.Client, *, frontend_url: str, token: str | Callable[[], str]) -> None:
        self.client = client
        self.frontend_url = frontend_url.rstrip("/")
        # a callable is asked each time: `farm clean` while watching deletes .farm/dev-token
        self._token = token if callable(token) else (lambda: token)
        self._vite = _Target("vite")

    def _post(self, target: _Target, url: str, body: dict[str, Any]) -> Delivery:
        try:
            # the overlay shows task errors to the browser: no secret may ride along
            payload = secrets.scrub(json.dumps(body)).encode("utf-8")
            res = self.client.post(url, content=payload, headers={HEADER: self._token(),
                                                                  "Content-Type": "application/json"})
        except httpx.TransportError as exc:
            verdict = classify(exc)
            what = "not reachable" if verdict is Verdict.UNREACHABLE else "did not answer"
            return Delivery(False, verdict, f"{what} at {url} ({type(exc).__name__})", "down")
        if res.status_code == 404:
            return Delivery(False, Verdict.DETERMINISTIC, f"no farmbuild endpoint at {url}", "404")
        if res.status_code in (401, 403):
            return Delivery(False, Verdict.DETERMINISTIC, f"refused farm's dev token (HTTP {res.status_code})", "403")
        if res.status_code >= 400:
            return Delivery(False, classify_status(res.status_code), f"answered {res.status_code} to {url}",
                            f"http{res.status_code}")
        target.warned.discard("down")
        return Delivery(True)

    def deliver(self, event: dict[str, Any]) -> Delivery:
        """POST ``event`` to Vite once; say nothing (the caller decides what a failure means)."""
        return self._post(self._vite, self.frontend_url + VITE_EVENT_PATH, event)

    def said(self, d: Delivery) -> None:
        """Log a failed delivery the quiet way: once at INFO per kind of failure, then at DEBUG."""
        url = self.frontend_url + VITE_EVENT_PATH
        t = self._vite
        if d.key == "down":
            t.once("down", "%s is %s; not notified", t.name, d.reason)
        elif d.key == "404":
            t.once("404", "%s at %s has no farmbuild endpoint; add farmbuild() to the plugins in"
                   " vite.config.ts (README: farm watch)", t.name, url)
        elif d.key == "403":
            t.once("403", "%s %s: is it serving another project?", t.name, d.reason)
        else:
            t.once(d.key, "%s %s", t.name, d.reason)

    def frontend(self, event: dict[str, Any]) -> bool:
        """POST ``event``; log a failure once (no retries: that is the watch loop's business)."""
        d = self.deliver(event)
        if not d:
            self.said(d)
        return d.ok
