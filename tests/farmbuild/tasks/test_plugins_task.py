"""The ``plugins`` and ``plugins-reload`` tasks (the real backend's side is in the e2e test)."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from farmbuild.build import BuildOptions, build
from farmbuild.devtoken import HEADER
from tests.conftest import EXAMPLE, failed, ran
from tests.fake_ollama import closed_port_url

GENERATED = ["apps/web/src/plugins/components/index.ts", "apps/api/src/farm_plugins.py"]


class StubBackend:
    """Answers /__farm/health and /__farm/plugins/reload like the dev router; records the calls."""

    def __init__(self, token_file: Path) -> None:
        self.token_file = token_file
        self.reloads: list[Any] = []
        self.status = 200
        self.answer: dict[str, Any] | None = None
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _reply(self, status: int, data: Any) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorized(self) -> bool:
                if self.headers.get(HEADER) != stub.token_file.read_text().strip():
                    self._reply(403, {"detail": "missing or wrong X-Farm-Token header"})
                    return False
                return True

            def do_GET(self) -> None:  # noqa: N802
                if self._authorized():
                    self._reply(200, {"ok": True, "pid": 4242})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                if not self._authorized():
                    return
                stub.reloads.append(body["plugins"])
                names = body["plugins"] or []
                self._reply(stub.status, stub.answer or {"pid": 4242, "reloaded": names, "mounted": [], "removed": [],
                                                         "errors": [], "routes": {n: [] for n in names}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def set_backend(root: Path, url: str) -> None:
    toml = root / "farm.toml"
    text = re.sub(r'backend_url = "[^"]*"', f'backend_url = "{url}"', toml.read_text())
    toml.write_text(text)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """The example app (backend parts only are needed here)."""
    root = tmp_path / "farm-app"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("node_modules", ".farm", ".doit.db*", "__pycache__"))
    set_backend(root, closed_port_url())
    return root


@pytest.fixture
def backend(app: Path) -> Iterator[StubBackend]:
    from farmbuild.devtoken import ensure_token, token_path

    ensure_token(app)
    stub = StubBackend(token_path(app))
    set_backend(app, stub.url)
    try:
        yield stub
    finally:
        stub.stop()


def plugin_tasks(root: Path):  # noqa: ANN201
    return build(root, BuildOptions(tasks=["plugins", "plugins-reload"]))


def test_the_committed_outputs_are_what_the_task_writes(app: Path) -> None:
    for rel in GENERATED:
        (app / rel).unlink()
    report = plugin_tasks(app)
    assert report.ok and ran(report) == {"plugins", "plugins-reload"}
    for rel in GENERATED:
        assert (app / rel).read_bytes() == (EXAMPLE / rel).read_bytes(), rel
    again = plugin_tasks(app)
    assert ran(again) == set()  # incremental: nothing changed, nothing runs


def test_an_invalid_manifest_fails_the_task_and_keeps_the_last_good_outputs(app: Path) -> None:
    assert plugin_tasks(app).ok
    manifest = app / "plugins" / "wishlist" / "plugin.json"
    data = json.loads(manifest.read_text())
    data["frontend"]["components"]["WishlistButton"]["path"] = "../../apps/api/src/main.py"
    manifest.write_text(json.dumps(data, indent=2))
    report = plugin_tasks(app)
    assert failed(report) == {"plugins"}
    [res] = [r for r in report.results if r.id == "plugins"]
    assert res.error is not None and res.error.startswith(
        "plugins/wishlist/plugin.json:8: frontend.components.WishlistButton.path: '../../apps/api/src/main.py' climbs out")
    assert {r.id: r.status for r in report.results}["plugins-reload"] == "skipped"
    for rel in GENERATED:
        assert (app / rel).read_bytes() == (EXAMPLE / rel).read_bytes()


def test_a_backend_that_is_not_running_needs_nothing(app: Path) -> None:
    report = plugin_tasks(app)
    assert report.ok
    (app / "plugins" / "wishlist" / "backend" / "router.py").write_text(
        (EXAMPLE / "plugins" / "wishlist" / "backend" / "router.py").read_text() + "\n# edited\n")
    report = plugin_tasks(app)
    assert report.ok and ran(report) == {"plugins-reload"}


def test_only_changed_plugins_are_reloaded(app: Path, backend: StubBackend) -> None:
    assert plugin_tasks(app).ok
    assert backend.reloads == [["wishlist"]]  # first sight of the plugin in this backend
    assert ran(plugin_tasks(app)) == set()
    assert backend.reloads == [["wishlist"]]
    # a second plugin appears; then only the first one's code changes
    extra = app / "plugins" / "extras"
    shutil.copytree(app / "plugins" / "wishlist", extra)
    manifest = json.loads((extra / "plugin.json").read_text())
    manifest.update(name="extras", frontend={})
    manifest["backend"]["router"] = "plugins.extras.backend.router:router"
    (extra / "plugin.json").write_text(json.dumps(manifest))
    assert build(app, BuildOptions(tasks=["plugins", "plugins-reload"])).ok
    assert backend.reloads[-1] == ["extras"]
    router = app / "plugins" / "wishlist" / "backend" / "router.py"
    router.write_text(router.read_text() + "\n\n@router.get('/_ping')\ndef ping() -> str:\n    return 'pong'\n")
    report = build(app, BuildOptions(tasks=["plugins", "plugins-reload"]))
    assert report.ok and ran(report) == {"plugins-reload"}
    assert backend.reloads[-1] == ["wishlist"]


def test_a_plugin_the_backend_cannot_load_fails_the_task_with_its_file_and_line(app: Path,
                                                                               backend: StubBackend) -> None:
    backend.status = 422
    backend.answer = {"pid": 4242, "reloaded": [], "mounted": [], "removed": [], "routes": {}, "errors": [
        {"plugin": "wishlist", "problem": "SyntaxError: invalid syntax", "file": "plugins/wishlist/backend/router.py",
         "line": 12, "message": "plugin 'wishlist': plugins/wishlist/backend/router.py:12: SyntaxError: invalid syntax"}]}
    report = plugin_tasks(app)
    assert failed(report) == {"plugins-reload"}
    [res] = [r for r in report.results if r.id == "plugins-reload"]
    assert "plugins/wishlist/backend/router.py:12: SyntaxError" in (res.error or "")
    assert "keeps serving the previous version" in (res.error or "")
    # fixed: the next build retries
    backend.status, backend.answer = 200, None
    assert plugin_tasks(app).ok and backend.reloads[-1] == ["wishlist"]


def test_another_projects_backend_is_left_alone(app: Path, backend: StubBackend) -> None:
    backend.token_file = app / "not-our-token"
    backend.token_file.write_text("someone else's token\n")
    report = plugin_tasks(app)
    assert report.ok and backend.reloads == []
