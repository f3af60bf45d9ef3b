"""farmbuild's Vite plugin in a real Vite dev server, seen from headless Chromium."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from farmbuild.build import build
from farmbuild.devtoken import ensure_token
from farmbuild.tasks.vite_plugin import DTS_NAME, JS_NAME, PLUGIN, TYPES
from tests.conftest import EXAMPLE, copy_example

from .browser import browser, free_port, open_page, overlay_text, stop_group, wait_http  # noqa: F401

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def vite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = copy_example(tmp_path_factory.mktemp("vite") / "farm-app")
    token = ensure_token(root)
    port = free_port()
    web = root / "apps/web"
    proc = subprocess.Popen([str(web / "node_modules/.bin/vite"), "--port", str(port), "--strictPort", "--host", "127.0.0.1"],
                            cwd=web, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/", proc=proc)
        yield {"root": root, "url": url, "token": token}
    finally:
        stop_group(proc)


def post(vite: dict[str, Any], body: Any, **headers: str) -> httpx.Response:
    h = {"X-Farm-Token": vite["token"], **headers}
    return httpx.post(vite["url"] + "/__farm/event", json=body, headers=h, trust_env=False, timeout=10)


def test_the_endpoint_is_guarded(vite: dict[str, Any]) -> None:
    assert post(vite, {"errors": []}).status_code == 200
    assert post(vite, {}, **{"X-Farm-Token": "wrong"}).status_code == 403
    no_token = httpx.post(vite["url"] + "/__farm/event", json={}, trust_env=False)
    assert no_token.status_code == 403 and "X-Farm-Token" in no_token.json()["error"]
    assert post(vite, {}, Host="evil.example").status_code == 403  # DNS rebinding
    assert httpx.get(vite["url"] + "/__farm/event", trust_env=False).status_code == 405
    bad = httpx.post(vite["url"] + "/__farm/event", content=b"{not json", trust_env=False,
                     headers={"X-Farm-Token": vite["token"], "Content-Type": "application/json"})
    assert bad.status_code == 400


def test_updates_errors_and_recovery_in_the_browser(vite: dict[str, Any], browser: Any) -> None:  # noqa: F811
    page = open_page(browser, vite["url"] + "/")
    root = vite["root"]
    assert post(vite, {"root": str(root), "changed": ["apps/api/src/models/catalog.py"],
                       "written": ["apps/web/src/types/models/catalog.ts", ".farm/schema/catalog.json"],
                       "kinds": ["schema", "types"], "errors": []}).status_code == 200
    page.wait_for_function("window.__farm.updates.length === 1", timeout=10_000)
    update = page.evaluate("window.__farm.updates[0]")
    assert update["modules"] == ["/src/types/models/catalog.ts"]
    assert update["kinds"] == ["schema", "types"]

    err = {"task": "schema:catalog", "file": "apps/api/src/models/catalog.py", "line": 14,
           "message": "apps/api/src/models/catalog.py:14: SyntaxError: invalid syntax"}
    post(vite, {"root": str(root), "errors": [err, {**err, "task": "schema:orders"}]})
    page.wait_for_selector("vite-error-overlay", state="attached", timeout=10_000)
    assert overlay_text(page, ".file") == f"{root}/apps/api/src/models/catalog.py:14:1"
    assert "SyntaxError: invalid syntax" in overlay_text(page, ".message-body")
    assert "1 more failing: schema:orders" in overlay_text(page, ".message-body")
    assert "farmbuild" in overlay_text(page, ".plugin")

    late = open_page(browser, vite["url"] + "/")  # a page opened while the build is failing sees it too
    late.wait_for_selector("vite-error-overlay", state="attached", timeout=10_000)

    post(vite, {"root": str(root), "errors": [], "written": [".farm/schema/catalog.json"], "kinds": ["schema"]})
    page.wait_for_selector("vite-error-overlay", state="detached", timeout=10_000)
    late.wait_for_selector("vite-error-overlay", state="detached", timeout=10_000)
    assert page.evaluate("window.__farm.cleared") == 1
    assert any("[farm] build fixed" in line for line in page.farm_console)
    page.close()
    late.close()


def test_files_vite_cannot_hot_update_reload_the_page(vite: dict[str, Any], browser: Any) -> None:  # noqa: F811
    page = open_page(browser, vite["url"] + "/")
    with page.expect_event("load", timeout=10_000):
        post(vite, {"root": str(vite["root"]), "written": ["apps/web/public/manifest.json"], "errors": []})
    assert page.evaluate("typeof window.__farm") == "undefined"  # a fresh page
    page.close()


def test_the_committed_copy_is_the_shipped_plugin(make_project) -> None:  # noqa: ANN001
    web = EXAMPLE / "apps/web"
    assert (web / JS_NAME).read_text().endswith(PLUGIN.read_text())
    assert (web / DTS_NAME).read_text().endswith(TYPES.read_text())
    assert 'from "./farmbuild-vite.mjs"' in (web / "vite.config.ts").read_text()

    root = make_project()
    report = build(root)
    assert "vite-plugin" in {r.id for r in report.results if r.status == "ran"}
    assert (root / "apps/web" / JS_NAME).read_text().startswith("// Generated by farmbuild")
    off = make_project(farm_toml="[frontend]\nvite_plugin = false\n")
    build(off)
    assert not (off / "apps/web" / JS_NAME).exists()


def test_the_plugin_types_check_with_the_example_config() -> None:
    tsc = EXAMPLE / "apps/web/node_modules/.bin/tsc"
    if not tsc.exists():
        pytest.skip("npm ci has not been run in examples/farm-app/apps/web")
    res = subprocess.run([str(tsc), "--noEmit", "--strict", "--module", "esnext", "--moduleResolution", "bundler",
                          "--target", "es2022", "--skipLibCheck", "vite.config.ts"],
                         cwd=EXAMPLE / "apps/web", capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
