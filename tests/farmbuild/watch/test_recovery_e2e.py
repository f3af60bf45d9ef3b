"""End to end: `farm watch --serve` on a copy of the example app, real uvicorn and real Vite. Vite is
frozen (SIGSTOP: its port still accepts connections, nothing answers), so farm's notifications time
out; farm retries, restarts the Vite process it supervises, and the new Vite gets the event."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import copy_example, farm_cli

from .browser import free_port
from .test_cli import WatchProcess, is_json
from .test_e2e import descendants

pytestmark = pytest.mark.e2e

CATALOG = "apps/api/src/models/catalog.py"
CATALOG_TS = "apps/web/src/types/models/catalog.ts"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, Any]]:
    root = copy_example(tmp_path / "farm-app")
    web, api = free_port(), free_port()
    toml = root / "farm.toml"
    text = toml.read_text()
    text = re.sub(r'frontend_url = "[^"]*"', f'frontend_url = "http://127.0.0.1:{web}"', text)
    text = re.sub(r'backend_url = "[^"]*"', f'backend_url = "http://127.0.0.1:{api}"', text)
    assert "[development.hot_reload" not in text
    toml.write_text(text + "\n[development.hot_reload.performance]\nmax_retries = 1\ncooldown_ms = 200\n")
    w = WatchProcess(root, "--serve", "--json")
    try:
        w.wait_all(lambda line: line.startswith("web") and "ready at" in line,
                   lambda line: line.startswith("api") and "ready at" in line,
                   lambda line: is_json(line, event="ready"), timeout=90)
        yield {"root": root, "watch": w, "web": f"http://127.0.0.1:{web}"}
    finally:
        w.close()


def test_a_frozen_vite_is_restarted_and_gets_the_event(served: dict[str, Any]) -> None:
    root: Path = served["root"]
    w: WatchProcess = served["watch"]
    [vite] = [p for p in descendants(w.proc.pid) if "vite" in cmdline(p) and "node" in cmdline(p)]
    os.killpg(vite, signal.SIGSTOP)  # hung: connections are accepted, nothing answers
    try:
        catalog = root / CATALOG
        catalog.write_text(catalog.read_text().replace(
            "class Product(", "class Frozen(BaseModel):\n    since: int = 0\n\n\nclass Product(", 1))
        w.wait_all(lambda line: is_json(line, event="recovery", action="recovered"),
                   lambda line: is_json(line, event="build", lane=0) and CATALOG in line, timeout=120)
    finally:
        try:
            os.killpg(vite, signal.SIGCONT)  # if it is still there, let it die normally
        except ProcessLookupError:
            pass
    events = [json.loads(line) for line in w.all if is_json(line)]
    [build] = [d for d in events if d["event"] == "build" and d["lane"] == 0
               and any(c["path"] == CATALOG for c in d["changes"])]
    assert CATALOG_TS in build["written"] and build["notified"] == []
    # one line per decision: a retry (the request timed out), the restart, then the event got through
    # (whether the first timeout was the save's event or a resend of the state just before it)
    recovery = [d for d in events if d["event"] == "recovery" and d["loud"]]
    assert [d["action"] for d in recovery] == ["retry", "fallback", "recovered"], recovery
    assert (recovery[0]["component"], recovery[0]["op"], recovery[0]["in_ms"]) == ("vite", "notify", 200)
    assert "ReadTimeout" in recovery[0]["message"] and recovery[1]["restart"] == "web"
    assert recovery[2]["line"] == "recovered after 2 retries"
    assert any(line.startswith("web") and "restarting: Vite kept failing farm's notifications" in line
               for line in w.all)
    # the old Vite is gone, a new one serves the app with the new types
    assert vite not in descendants(w.proc.pid)
    assert "export interface Frozen" in (root / CATALOG_TS).read_text()
    r = httpx.get(served["web"] + "/src/types/models/catalog.ts", trust_env=False, timeout=30)
    assert r.status_code == 200 and "Category" in r.text  # (esbuild strips interfaces: the enum object stays)
    # farm stats shows what happened (farm watch records every try of a side effect)
    res = farm_cli("stats", "--json", "-C", str(root))
    by_kind = json.loads(res.stdout)["by_kind"]
    assert by_kind["vite notify"]["failed"] >= 2 and by_kind["web server"]["total"] >= 2
