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
to tell (said once at INFO, then at DEBUG).
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

    def _post(self, target: _Target, url: str, body: dict[str, Any]) -> bool:
        try:
            # the overlay shows task errors to the browser: no secret may ride along
            payload = secrets.scrub(json.dumps(body)).encode("utf-8")
            res = self.client.post(url, content=payload, headers={HEADER: self._token(),
                                                                  "Content-Type": "application/json"})
        except httpx.TransportError as exc:
            target.once("down", "%s is not reachable at %s (%s); not notified", target.name, url, type(exc).__name__)
            return False
        if res.status_code == 404:
            target.once("404", "%s at %s has no farmbuild endpoint; add farmbuild() to the plugins in"
                        " vite.config.ts (README: farm watch)", target.name, url)
            return False
        if res.status_code in (401, 403):
            target.once("403", "%s refused farm's dev token (%s): is it serving another project?",
                        target.name, res.status_code)
            return False
        if res.status_code >= 400:
            target.once(f"http{res.status_code}", "%s answered %s to %s", target.name, res.status_code, url)
            return False
        target.warned.discard("down")
        return True

    def frontend(self, event: dict[str, Any]) -> bool:
        return self._post(self._vite, self.frontend_url + VITE_EVENT_PATH, event)
