"""``python -m bench.hot_swap [--rounds 15]``: AI model hot swap and plugin hot reload, measured.

Against the example app under real uvicorn (FARM_ENV=development) and the local Ollama-speaking
server the tests use, in one run:

- the dev endpoints themselves: ``POST /__farm/ai/reload`` (a model added/removed, in process)
  and ``POST /__farm/plugins/reload`` (the wishlist plugin re-imported and re-mounted);
- save-to-swapped from the command line: edit farm.toml's models, ``farm build ai`` (diff,
  ``/api/tags``, a small pull, the backend swap) and the same in a warm in-process session
  (what ``farm watch`` pays per save); edit the plugin's router, ``farm build plugins-reload``;
- whether the app keeps serving: a client polls ``/api/assistant/models`` during every swap and
  reload; any non-200 answer or connection error is counted;
- the backend process id before and after (a restart would change it).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from farmbuild.build import BuildOptions, Session
from farmbuild.devtoken import HEADER, ensure_token
from tests.conftest import copy_example
from tests.fake_ollama import FakeOllama, PullPlan
from tests.live import Uvicorn

from .harness import Sample, farm, fmt_s, run


def _set_models(app: Path, models: list[str]) -> None:
    toml = app / "farm.toml"
    toml.write_text(re.sub(r"models = \[[^\]]*\]", "models = [" + ", ".join(f'"{m}"' for m in models) + "]",
                           toml.read_text()))


class Poller(threading.Thread):
    """Keeps asking the app for its models while swaps happen; counts every failure."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.ok = 0
        self.failed = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                try:
                    if client.get(self.url + "/api/assistant/models").status_code == 200:
                        self.ok += 1
                    else:
                        self.failed += 1
                except httpx.TransportError:
                    self.failed += 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.hot_swap")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args(argv)
    n = args.rounds
    with tempfile.TemporaryDirectory(prefix="farm-bench-swap-") as tmp:
        app = copy_example(Path(tmp) / "farm-app", link_node_modules=False)
        ollama = FakeOllama().start()
        ollama.models = {"llama3.2:latest"}
        server = Uvicorn(app)
        toml = app / "farm.toml"
        toml.write_text(toml.read_text().replace("http://127.0.0.1:11434", ollama.url)
                        .replace("http://127.0.0.1:8000", server.url))
        server.start()
        poller = Poller(server.url)
        try:
            run(farm("build", "-C", str(app)), cwd=app)  # everything current, token written
            token = ensure_token(app)
            headers = {HEADER: token}
            pid = httpx.get(server.url + "/__farm/health", headers=headers).json()["pid"]
            poller.start()
            base = {"type": "ollama", "url": ollama.url, "default_model": "llama3.2", "api_key_env": None,
                    "timeout_s": 60.0, "auto_pull": True}
            swap, reload_ = Sample("POST /__farm/ai/reload (swap)"), Sample("POST /__farm/plugins/reload")
            with httpx.Client(timeout=30, headers=headers) as c:
                for i in range(n):
                    models = ["llama3.2"] + ([f"bench-{i}"] if i % 2 == 0 else [])
                    body = {"providers": {"ollama": {**base, "models": models}}, "default_provider": "ollama"}
                    t = time.perf_counter()
                    assert c.post(server.url + "/__farm/ai/reload", json=body).status_code == 200
                    swap.seconds.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    assert c.post(server.url + "/__farm/plugins/reload", json={"plugins": ["wishlist"]}).status_code == 200
                    reload_.seconds.append(time.perf_counter() - t)
            # save-to-swapped through farm build (fresh process) and a warm session
            cli, warm, plug = Sample("farm build ai (fresh process)"), Sample("ai task, warm session"), \
                Sample("farm build plugins-reload (fresh process)")
            router = app / "plugins" / "wishlist" / "backend" / "router.py"
            original = router.read_text()
            for i in range(n):
                model = f"cli-{i}"
                ollama.plans[model] = PullPlan(layers=[1_000_000, 500], steps=4)
                _set_models(app, ["llama3.2", model])
                cli.seconds.append(run(farm("build", "-C", str(app), "ai"), cwd=app))
                router.write_text(original + f"\n\n@router.get('/bench/{i}')\ndef bench_{i}() -> int:\n    return {i}\n")
                plug.seconds.append(run(farm("build", "-C", str(app), "plugins-reload"), cwd=app))
            session = Session(app)
            try:
                for i in range(n):
                    model = f"warm-{i}"
                    _set_models(app, ["llama3.2", model])
                    session.reload()  # farm.toml changed: what farm watch does
                    t = time.perf_counter()
                    report = session.build(BuildOptions(tasks=["ai"]))
                    warm.seconds.append(time.perf_counter() - t)
                    assert report.ok, report.results
            finally:
                session.close()
            router.write_text(original)
            poller.stop.set()
            poller.join()
            after = httpx.get(server.url + "/__farm/health", headers=headers).json()["pid"]
        finally:
            poller.stop.set()
            server.stop()
            ollama.stop()
    imp = subprocess.run([sys.executable, "-c", "import time; t=time.perf_counter(); import fastapi; "
                          "u=time.perf_counter(); from farmbuild.runtime import AIRegistry, PluginHost, dev_router; "
                          "print(u-t, time.perf_counter()-u)"], capture_output=True, text=True, check=True)
    fastapi_s, runtime_s = (float(x) for x in imp.stdout.split())
    print(f"hot swap and plugin reload, example app, {n} rounds each (p50 / p95)")
    for s in (swap, reload_, cli, warm, plug):
        print(f"  {s.name:<44} {fmt_s(s.p50):>8} / {fmt_s(s.p95):>8}")
    print(f"  app kept serving during swaps: {poller.ok} requests answered 200, {poller.failed} failed")
    print(f"  backend pid before/after: {pid} / {after} ({'same process' if pid == after else 'RESTARTED'})")
    print(f"  import farmbuild.runtime after fastapi: {fmt_s(runtime_s)} (fastapi itself: {fmt_s(fastapi_s)})")
    return 0 if poller.failed == 0 and pid == after else 1


if __name__ == "__main__":
    sys.exit(main())
