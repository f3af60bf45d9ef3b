"""The wishlist plugin's React component, loaded lazily through the generated index, in a real browser:
Vite dev server (serving ../../plugins), uvicorn with the plugin's router, headless Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLE_WEB_MODULES, copy_example
from tests.live import Uvicorn, free_port, wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not (EXAMPLE_WEB_MODULES / ".bin" / "vite").exists(), reason="npm ci the example app"),
              pytest.mark.skipif(shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists(),
                                 reason="chromium is not installed")]

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Path, Uvicorn, str]]:
    app = copy_example(tmp_path / "farm-app")
    api = Uvicorn(app)
    api.start()
    port = free_port()
    web = app / "apps" / "web"
    log = open(tmp_path / "vite.log", "wb")
    vite = subprocess.Popen([str(web / "node_modules" / ".bin" / "vite"), "--port", str(port), "--strictPort",
                             "--host", "127.0.0.1"], cwd=web, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True,
                            # the farmbuild Vite plugin forwards /api to $FARM_BACKEND_URL
                            env={**os.environ, "FARM_BACKEND_URL": api.url})
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            assert vite.poll() is None, (tmp_path / "vite.log").read_text()
            try:
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=60, what="vite")
        yield app, api, url
    finally:
        if vite.poll() is None:
            os.killpg(vite.pid, signal.SIGTERM)
            try:
                vite.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(vite.pid, signal.SIGKILL)
                vite.wait(timeout=10)
        log.close()
        api.stop()


def test_the_wishlist_button_renders_and_talks_to_the_plugins_router(stack: tuple[Path, Uvicorn, str]) -> None:
    from playwright.sync_api import sync_playwright

    app, api, url = stack
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                    headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.goto(url)
            button = page.locator(".product-card .wishlist-button").first
            button.wait_for(state="visible", timeout=60_000)  # the lazy chunk from plugins/wishlist/frontend
            assert button.get_attribute("aria-pressed") == "false"
            button.click()
            page.wait_for_function(
                "() => document.querySelector('.product-card .wishlist-button')?.getAttribute('aria-pressed') === 'true'",
                timeout=30_000)
            shopper = page.evaluate("() => localStorage.getItem('harvest-market:shopper')")
        finally:
            browser.close()
    assert shopper and shopper.startswith("guest-")
    saved = httpx.get(f"{api.url}/api/plugins/wishlist/{shopper}", timeout=10).json()
    assert len(saved) == 1 and saved[0]["product_id"]
    assert not errors, errors
