"""Supervised dev servers: ready on HTTP, output prefixed, restarted after a crash, stopped as a group."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from farmbuild.errors import ConfigError, ProjectError
from farmbuild.project import discover
from farmbuild.watch.servers import ManagedServer, ServerSpec, server_specs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie still answers kill(0); it is gone for our purposes once it is not running
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def wait_until(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, name: str, text: str) -> None:
        with self.lock:
            self.lines.append((name, text))

    def texts(self) -> list[str]:
        with self.lock:
            return [t for _, t in self.lines]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., tuple[ManagedServer, Lines]]]:
    made: list[ManagedServer] = []

    def make(script: str) -> tuple[ManagedServer, Lines]:
        port = free_port()
        (tmp_path / "server.py").write_text(script)
        spec = ServerSpec("api", [sys.executable, "server.py", str(port)], tmp_path, f"http://127.0.0.1:{port}")
        lines = Lines()
        s = ManagedServer(spec, out=lines, max_backoff_s=0.2)
        made.append(s)
        s.start()
        return s, lines

    yield make
    for s in made:
        s.stop()


HTTP = """\
import http.server, os, subprocess, sys, time
if len(sys.argv) > 2:  # the grandchild: just lives
    time.sleep(600)
child = subprocess.Popen([sys.executable, __file__, "0", "child"])
open("child.pid", "w").write(str(child.pid))
print("serving", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def test_ready_prefixed_restarted_and_stopped_with_its_children(server: Callable, tmp_path: Path) -> None:
    s, lines = server(HTTP)
    assert s.ready.wait(30)
    wait_until(lambda: "serving" in lines.texts())
    assert any(t.startswith("ready at http://127.0.0.1:") for t in lines.texts())
    first = s.pid
    assert first is not None
    first_child = int((tmp_path / "child.pid").read_text())
    os.kill(first, 9)  # a crash
    wait_until(lambda: s.starts == 2 and s.ready.is_set())
    wait_until(lambda: gone(first_child), timeout=5)  # the crashed server's children do not linger
    assert any("exited with status -9; restarting" in t for t in lines.texts())
    assert s.pid != first
    child = int((tmp_path / "child.pid").read_text())
    leader = s.pid
    s.stop()
    assert gone(leader)
    wait_until(lambda: gone(child), timeout=5)  # the whole process group, not just the leader


def test_a_server_that_cannot_start_is_retried_without_spinning(server: Callable) -> None:
    s, lines = server("import sys\nprint('boom', flush=True)\nsys.exit(3)\n")
    wait_until(lambda: s.starts >= 3)
    assert "boom" in lines.texts()
    assert any("exited with status 3; restarting" in t for t in lines.texts())
    assert not s.ready.is_set()


def test_default_commands(example_app: Path) -> None:
    project = discover(example_app)
    api, web = server_specs(project)
    assert api.argv[1:] == ["-m", "uvicorn", "src.main:app", "--host", "127.0.0.1", "--port", "8000",
                            "--reload", "--reload-dir", str(example_app / "apps/api/src")]
    assert api.cwd == example_app / "apps/api"
    assert api.env["FARM_DEV_TOKEN_FILE"] == str(example_app / ".farm/dev-token")
    assert web.argv[1:] == ["--host", "127.0.0.1", "--port", "5173", "--strictPort"]
    assert web.argv[0].endswith("apps/web/node_modules/.bin/vite")
    assert web.env["FARM_BACKEND_URL"] == "http://127.0.0.1:8000"


def test_commands_from_config(make_project: Callable[..., Path]) -> None:
    root = make_project(farm_toml="""\
        [development.servers]
        backend_url = "http://127.0.0.1:8123"
        frontend_url = "http://localhost:5999"
        backend_command = "{python} -m uvicorn {app} --port {port} --host {host}"
        frontend_command = "npx vite --port {port}"
    """)
    api, web = server_specs(discover(root))
    assert api.argv == [sys.executable, "-m", "uvicorn", "src.main:app", "--port", "8123", "--host", "127.0.0.1"]
    assert web.argv == ["npx", "vite", "--port", "5999"]


def test_bad_server_settings_are_clear(make_project: Callable[..., Path]) -> None:
    root = make_project(farm_toml='[development.servers]\nbackend_url = "http://127.0.0.1"\n')
    with pytest.raises(ConfigError, match="development.servers.backend_url: 'http://127.0.0.1' has no port"):
        server_specs(discover(root))
    root = make_project()
    with pytest.raises(ProjectError, match="run `npm install` in apps/web"):
        server_specs(discover(root))


def test_servers_die_with_a_killed_farm(tmp_path: Path) -> None:
    """farm killed with SIGKILL cannot stop its servers; the kernel tells them (Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux-only")
    port = free_port()
    (tmp_path / "server.py").write_text(
        "import http.server, sys\n"
        "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()\n")
    farm = tmp_path / "farm.py"
    farm.write_text(
        "import sys, threading\nfrom pathlib import Path\n"
        "from farmbuild.watch.servers import ManagedServer, ServerSpec\n"
        f"spec = ServerSpec('api', [sys.executable, 'server.py', '{port}'], Path({str(tmp_path)!r}), 'http://127.0.0.1:{port}')\n"
        "s = ManagedServer(spec, out=lambda n, t: None)\ns.start()\ns.ready.wait(30)\n"
        "print(s.pid, flush=True)\nthreading.Event().wait()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    proc = subprocess.Popen([sys.executable, str(farm)], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        server_pid = int(proc.stdout.readline())
        assert not gone(server_pid)
        proc.kill()  # no chance to stop anything
        proc.wait(10)
        wait_until(lambda: gone(server_pid), timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
