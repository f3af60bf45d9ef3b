"""End to end: `farm watch --serve` on a copy of the example app, headless Chromium on the Vite page.

Real uvicorn, real Vite with farmbuild's plugin, real file edits; every wait has a deadline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import copy_example

from .browser import browser, free_port, open_page, overlay_text  # noqa: F401
from .test_cli import WatchProcess, alive, children, is_json

pytestmark = pytest.mark.e2e

CATALOG = "apps/api/src/models/catalog.py"
CATALOG_TS = "apps/web/src/types/models/catalog.ts"


def descendants(pid: int) -> set[int]:
    out: set[int] = set()
    stack = [pid]
    while stack:
        for c in children(stack.pop()):
            if c not in out:
                out.add(c)
                stack.append(c)
    return out


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    root = copy_example(tmp_path / "farm-app")
    web, api = free_port(), free_port()
    toml = root / "farm.toml"
    text = toml.read_text()
    text = re.sub(r'frontend_url = "[^"]*"', f'frontend_url = "http://127.0.0.1:{web}"', text)
    text = re.sub(r'backend_url = "[^"]*"', f'backend_url = "http://127.0.0.1:{api}"', text)
    toml.write_text(text)
    w = WatchProcess(root, "--serve", "--json")
    try:
        w.wait_all(lambda line: line.startswith("web") and "ready at" in line,
                   lambda line: line.startswith("api") and "ready at" in line,
                   lambda line: is_json(line, event="ready"), timeout=90)
        yield {"root": root, "watch": w, "web": f"http://127.0.0.1:{web}", "api": f"http://127.0.0.1:{api}"}
    finally:
        w.close()


def build_for(w: WatchProcess, path: str, pred: Callable[[dict[str, Any]], bool] = lambda d: True) -> dict[str, Any]:
    return w.wait_json(lambda d: d["event"] == "build" and any(c["path"] == path for c in d["changes"])
                       and d["lane"] == 0 and pred(d), timeout=90)


def test_save_types_overlay_recovery_and_quiet_comments(served: dict[str, Any], browser: Any) -> None:  # noqa: F811
    root: Path = served["root"]
    w: WatchProcess = served["watch"]
    health = httpx.get(served["web"] + "/api/health", trust_env=False, timeout=10)  # Vite proxies to uvicorn
    assert health.status_code == 200 and health.json() == {"status": "ok"}

    page = open_page(browser, served["web"] + "/")
    catalog = root / CATALOG
    good = catalog.read_text()
    assert "class Product(" in good

    # 1. edit a model: its .ts is rewritten, the page hears farm:update
    v1 = good.replace("class Product(", "class Featured(BaseModel):\n    since: int = 0\n\n\nclass Product(", 1)
    catalog.write_text(v1)
    event = build_for(w, CATALOG)
    assert CATALOG_TS in event["written"] and "vite" in event["notified"]
    assert "export interface Featured" in (root / CATALOG_TS).read_text()
    page.wait_for_function(
        f"window.__farm.updates.some(u => u.written.includes({CATALOG_TS!r}))", timeout=30_000)
    update = page.evaluate(f"window.__farm.updates.find(u => u.written.includes({CATALOG_TS!r}))")
    assert "/src/types/models/catalog.ts" in update["modules"]
    assert {"schema", "types"} <= set(update["kinds"])

    # 2. a syntax error: the overlay names the file; the generated file keeps its last good content
    ts_before = (root / CATALOG_TS).read_bytes()
    catalog.write_text(v1 + "\n\nclass Broken(:\n    pass\n")
    failed = build_for(w, CATALOG, lambda d: d["summary"]["failed"] > 0)
    assert any(t["id"] == "schema:catalog" and t["error"]["file"] == CATALOG for t in failed["tasks"] if "error" in t)
    page.wait_for_selector("vite-error-overlay", state="attached", timeout=30_000)
    assert CATALOG in overlay_text(page, ".file")
    assert "SyntaxError" in overlay_text(page, ".message-body")
    assert (root / CATALOG_TS).read_bytes() == ts_before

    # 3. fix it: the overlay clears and the outputs update
    seen = page.evaluate("window.__farm.updates.length")
    catalog.write_text(v1.replace("    since: int = 0\n", "    since: int = 0\n    until: int | None = None\n", 1))
    build_for(w, CATALOG, lambda d: d["summary"]["failed"] == 0)
    page.wait_for_selector("vite-error-overlay", state="detached", timeout=30_000)
    page.wait_for_function(f"window.__farm.updates.length > {seen}", timeout=30_000)
    assert "until" in (root / CATALOG_TS).read_text()

    # 4. a comment only: nothing generated is rewritten, nobody is told
    seen = page.evaluate("window.__farm.updates.length")
    mtime = (root / CATALOG_TS).stat().st_mtime_ns
    catalog.write_text(catalog.read_text() + "\n# just a comment\n")
    quiet = build_for(w, CATALOG)
    assert quiet["written"] == [] and quiet["notified"] == []
    assert (root / CATALOG_TS).stat().st_mtime_ns == mtime
    # the event for step 4 would have been sent before the build line was printed
    assert page.evaluate("window.__farm.updates.length") == seen
    page.close()

    # 5. Ctrl-C stops farm, the worker, uvicorn (reloader and its worker) and Vite
    procs = descendants(w.proc.pid)
    assert len(procs) >= 3
    assert w.interrupt() == 0
    assert not [p for p in procs if alive(p)]
