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
from farmbuild.metrics import Metric
from farmbuild.project import discover
from farmbuild.recovery import Key, Recovery, Settings
from farmbuild.watch.servers import ManagedServer, ServerGroup, ServerSpec, server_specs


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


FAST = Settings(max_retries=3, cooldown_s=0.05)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., tuple[ManagedServer, Lines]]]:
    made: list[ManagedServer] = []

    def make(script: str, *, settings: Settings = FAST, argv: list[str] | None = None,
             record: Callable[[Metric], None] | None = None) -> tuple[ManagedServer, Lines]:
        port = free_port()
        (tmp_path / "server.py").write_text(script)
        spec = ServerSpec("api", argv or [sys.executable, "server.py", str(port)], tmp_path, f"http://127.0.0.1:{port}")
        lines = Lines()
        s = ManagedServer(spec, out=lines, recovery=Recovery(settings), record=record)
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
    assert any("exited with status -9; restart 1/3 in 50 ms" in t for t in lines.texts())
    assert s.pid != first
    child = int((tmp_path / "child.pid").read_text())
    leader = s.pid
    s.stop()
    assert gone(leader)
    wait_until(lambda: gone(child), timeout=5)  # the whole process group, not just the leader


CRASH = "import sys\nprint('boom', flush=True)\nsys.exit(3)\n"


def test_a_server_that_keeps_crashing_is_restarted_max_retries_times_then_left_alone(server: Callable) -> None:
    metrics: list[Metric] = []
    s, lines = server(CRASH, record=metrics.append)
    wait_until(lambda: s.parked.is_set())
    # the first start and three restarts, each said on one line; then one clear line, and no more starts
    assert s.starts == 4
    texts = lines.texts()
    assert [t for t in texts if "restart " in t] == [f"exited with status 3; restart {i}/3 in 50 ms" for i in (1, 2, 3)]
    [gave_up] = [t for t in texts if "not restarting it" in t]
    assert gave_up.startswith("exited with status 3 (4 times in a row); not restarting it any more")
    assert "then save a file and farm starts it again" in gave_up
    assert texts.count("boom") == 4 and not s.ready.is_set()
    assert s.recovery.given_up(Key("api", "process"))
    assert [m.success for m in metrics] == [False] * 4 and {m.kind for m in metrics} == {"api server"}

    # the next save starts it once more; it crashes again: one line, still waiting
    s.revive()
    wait_until(lambda: s.starts == 5 and s.parked.is_set())
    assert "starting again (a file was saved)" in lines.texts()
    assert lines.texts()[-1] == "exited with status 3 again; waiting for the next save"
    assert s.starts == 5


def test_a_server_that_cannot_start_is_not_retried(server: Callable, tmp_path: Path) -> None:
    s, lines = server("", argv=[str(tmp_path / "node_modules/.bin/vite"), "--port", "1"])
    wait_until(lambda: s.parked.is_set())
    assert s.starts == 0
    [line] = lines.texts()
    assert "cannot start" in line and "node_modules/.bin/vite" in line and "No such file or directory" in line
    assert "not retried: fix development.servers.backend_command in farm.toml" in line


def test_with_error_recovery_disabled_a_crash_is_reported_not_restarted(server: Callable) -> None:
    s, lines = server(CRASH, settings=Settings(enabled=False, cooldown_s=0.05))
    wait_until(lambda: s.parked.is_set())
    assert s.starts == 1
    assert any("not restarted (development.hot_reload.error_recovery.enabled = false)" in t for t in lines.texts())


def test_restart_is_a_fallback_not_a_crash(server: Callable) -> None:
    s, lines = server(HTTP)
    assert s.ready.wait(30)
    first = s.pid
    s.restart("Vite kept failing farm's notifications")
    wait_until(lambda: s.starts == 2 and s.ready.is_set())
    assert s.pid != first
    assert "restarting: Vite kept failing farm's notifications" in lines.texts()
    assert not any("restart 1/" in t for t in lines.texts())  # not counted as a crash
    assert s.recovery.failing() == {}


def test_a_group_restarts_a_parked_server_on_restart(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "server.py").write_text(CRASH)
    lines = Lines()
    group = ServerGroup([ServerSpec("web", [sys.executable, "server.py", str(port)], tmp_path,
                                    f"http://127.0.0.1:{port}")], out=lines,
                        recovery=Recovery(Settings(max_retries=0, cooldown_s=0.05)))
    group.start(tmp_path)
    try:
        web = group["web"]
        wait_until(lambda: web.parked.is_set())
        assert web.starts == 1
        group.restart("web")
        wait_until(lambda: web.starts == 2 and web.parked.is_set())
        assert "restarting: Vite kept failing farm's notifications" in lines.texts()
    finally:
        group.stop()


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
