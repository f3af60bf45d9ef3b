"""The example API on real uvicorn, on a free port of 127.0.0.1, stopped even when a test fails."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def uvicorn_server(project: Path, app: str = "src.main:app", deadline_s: float = 60.0) -> Iterator[str]:
    """Run ``app`` from ``<project>/apps/api``; yield its base URL once uvicorn says it is listening."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        cwd=project / "apps" / "api", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    ready = threading.Event()
    lines: list[str] = []

    def drain() -> None:  # read uvicorn's log: the "running on" line is the event; keep the pipe empty
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Uvicorn running on" in line:
                ready.set()
        ready.set()  # exited

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not ready.wait(deadline_s) or proc.poll() is not None:
            raise RuntimeError(f"uvicorn did not start (exit code {proc.poll()}):\n{''.join(lines)}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
