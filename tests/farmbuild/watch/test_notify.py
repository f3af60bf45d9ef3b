"""Notifications to Vite over httpx (MockTransport and a real local server)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from farmbuild.report import BuildReport, TaskResult
from farmbuild.watch.notify import Notifier, vite_event


def report(*results: TaskResult, removed: list[str] | None = None) -> BuildReport:
    return BuildReport(list(results), 0.1, removed or [])


def test_the_event_document() -> None:
    rep = report(
        TaskResult("schema:catalog", "ran", 0.0412, [".farm/schema/catalog.json"]),
        TaskResult("types:catalog", "ran", 0.006, ["apps/web/src/types/models/catalog.ts"]),
        TaskResult("schema:common", "up-to-date"),
    )
    failing = [TaskResult("schema:orders", "failed", error="apps/api/src/models/orders.py:3: SyntaxError: x",
                          file="apps/api/src/models/orders.py", line=3)]
    ev = vite_event(Path("/p"), ["apps/api/src/models/catalog.py"], rep, failing)
    assert ev == {
        "version": 1,
        "root": "/p",
        "changed": ["apps/api/src/models/catalog.py"],
        "written": [".farm/schema/catalog.json", "apps/web/src/types/models/catalog.ts"],
        "removed": [],
        "tasks": [{"id": "schema:catalog", "kind": "schema", "ms": 41.2}, {"id": "types:catalog", "kind": "types", "ms": 6.0}],
        "kinds": ["schema", "types"],
        "errors": [{"task": "schema:orders", "message": "apps/api/src/models/orders.py:3: SyntaxError: x",
                    "file": "apps/api/src/models/orders.py", "line": 3}],
    }


def notifier_with(handler) -> tuple[Notifier, list[httpx.Request]]:  # noqa: ANN001
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(record))
    return Notifier(client, frontend_url="http://127.0.0.1:5173/", token="s3cret"), seen


def test_vite_gets_the_token_and_the_document() -> None:
    n, seen = notifier_with(lambda r: httpx.Response(200, json={"ok": True}))
    assert n.frontend({"version": 1, "written": []}) is True
    req = seen[0]
    assert (req.method, str(req.url)) == ("POST", "http://127.0.0.1:5173/__farm/event")
    assert req.headers["X-Farm-Token"] == "s3cret"
    assert json.loads(req.content) == {"version": 1, "written": []}


@pytest.mark.parametrize("status,expect", [(404, "has no farmbuild endpoint"), (403, "refused farm's dev token"),
                                           (500, "answered 500")])
def test_vite_answers_that_are_not_ok_are_said_once(status: int, expect: str, caplog: pytest.LogCaptureFixture) -> None:
    n, _ = notifier_with(lambda r: httpx.Response(status))
    with caplog.at_level(logging.INFO, logger="farmbuild.watch.notify"):
        assert n.frontend({}) is False
        assert n.frontend({}) is False
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 1 and expect in infos[0].getMessage()


def test_nobody_listening_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    n, _ = notifier_with(down)
    with caplog.at_level(logging.INFO, logger="farmbuild.watch.notify"):
        assert n.frontend({}) is False
        assert n.frontend({}) is False
    assert sum(r.levelno == logging.INFO for r in caplog.records) == 1
    assert "not reachable" in caplog.records[0].getMessage()
    assert "s3cret" not in caplog.text


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[dict]]]:
    """A real HTTP server on 127.0.0.1 standing in for Vite's endpoint."""
    got: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"path": self.path, "token": self.headers.get("X-Farm-Token"), "body": json.loads(body)})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()


def test_a_real_server_receives_the_event(http_server: tuple[str, list[dict]]) -> None:
    url, got = http_server
    with httpx.Client(timeout=5, trust_env=False) as client:
        n = Notifier(client, frontend_url=url, token="tok")
        assert n.frontend({"version": 1, "errors": []})
    assert got == [{"path": "/__farm/event", "token": "tok", "body": {"version": 1, "errors": []}}]
