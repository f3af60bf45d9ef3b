"""Real servers for end-to-end tests, started on 127.0.0.1 and always stopped.

``uvicorn_server(app_dir)`` runs ``python -m uvicorn <app> --port 0`` as the child process
itself, waits for uvicorn's own "running on" line (an event, with a deadline — no sleeps),
yields the base URL, and terminates the process (kill after a grace period) even when the
test fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_RUNNING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")


@contextmanager
def uvicorn_server(app_dir: Path, app: str = "src.main:app", *, timeout_s: float = 60.0,
                   env: dict[str, str] | None = None) -> Iterator[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "MONGODB_URL"}
    full_env.update(env or {})
    full_env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", "0", "--no-access-log"],
        cwd=app_dir, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    ready = threading.Event()
    found: list[str] = []
    log: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            m = _RUNNING.search(line)
            if m and not found:
                found.append(m.group(1))
                ready.set()
        ready.set()  # the process ended

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout_s) or not found:
            raise RuntimeError("uvicorn did not start:\n" + "".join(log[-40:]))
        yield found[0]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
