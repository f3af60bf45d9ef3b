"""Real servers for the end-to-end tests: a Vite dev server and headless Chromium (Debian's)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while True:
            try:
                client.get(url)
                return
            except httpx.TransportError:
                pass
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"{url}: the server exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout} s")
            time.sleep(0.05)


def stop_group(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield b
        finally:
            b.close()


def open_page(browser: Any, url: str) -> Any:
    """A page on ``url`` once Vite's HMR client is connected; console lines collected in page.farm_console."""
    page = browser.new_page()
    lines: list[str] = []
    page.on("console", lambda m: lines.append(m.text))
    page.farm_console = lines
    with page.expect_console_message(lambda m: "[vite] connected" in m.text, timeout=30_000):
        page.goto(url)
    page.evaluate("""() => {
        window.__farm = {updates: [], errors: [], cleared: 0};
        addEventListener('farm:update', (e) => window.__farm.updates.push(e.detail));
        addEventListener('farm:error', (e) => window.__farm.errors.push(e.detail));
        addEventListener('farm:clear-error', () => { window.__farm.cleared += 1; });
    }""")
    return page


def overlay_text(page: Any, selector: str) -> str:
    return str(page.evaluate(f"document.querySelector('vite-error-overlay').shadowRoot.querySelector('{selector}').textContent"))
