"""``farm watch`` as a user runs it: a real process, real files, Ctrl-C, and a `farm build` beside it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import farm_cli

from .conftest import model

MODELS = "apps/api/src/models"
STOP_DEADLINE_S = 5.0  # the loop itself stops in well under a second; CI machines are slow and shared


def children(pid: int) -> set[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out.update(int(x) for x in (task / "children").read_text().split())
        except OSError:
            pass
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


class WatchProcess:
    def __init__(self, root: Path, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "farmbuild", "watch", "-C", str(root), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.all: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_line(self, pred: Callable[[str], bool], timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching line within {timeout} s; output so far: {self.all!r}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.all.append(line)
            if pred(line):
                return line

    def wait_all(self, *preds: Callable[[str], bool], timeout: float = 60.0) -> None:
        """Consume lines until each predicate matched one of them, in any order."""
        left = list(preds)
        self.wait_line(lambda line: bool([left.remove(p) for p in list(left) if p(line)]) and not left, timeout)

    def wait_json(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 60.0) -> dict[str, Any]:
        def match(line: str) -> bool:
            try:
                data = json.loads(line)
            except ValueError:
                return False
            return isinstance(data, dict) and pred(data)

        return json.loads(self.wait_line(match, timeout))

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(STOP_DEADLINE_S)

    def close(self) -> None:
        if self.proc.poll() is None:  # a test failed half-way: stop it the polite way first
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def watch() -> Iterator[Callable[..., WatchProcess]]:
    made: list[WatchProcess] = []

    def start(root: Path, *args: str) -> WatchProcess:
        w = WatchProcess(root, *args)
        made.append(w)
        return w

    yield start
    for w in made:
        w.close()


def test_save_rebuild_and_ctrl_c(watch: Callable[..., WatchProcess], make_project: Callable[..., Path]) -> None:
    root = make_project({f"{MODELS}/a.py": model("A")})
    w = watch(root)
    w.wait_line(lambda line: line.startswith("watching ") and "apps/api/src/" in line)
    workers = children(w.proc.pid)
    assert workers, "the warm worker runs as a child of farm watch"
    (root / MODELS / "a.py").write_text(model("A", "x: int; y: str = ''"))
    line = w.wait_line(lambda line: "apps/api/src/models/a.py \u2192" in line)
    assert "schema:a" in line and "types:a" in line and "files written" in line
    assert w.interrupt() == 0
    assert w.all[-1] != "" and "farm watch: stopped" in w.wait_line(lambda line: "stopped" in line, timeout=5)
    assert not any(alive(pid) for pid in workers)


def is_json(line: str, **expect: Any) -> bool:
    try:
        data = json.loads(line)
    except ValueError:
        return False
    return isinstance(data, dict) and all(data.get(k) == v for k, v in expect.items())


def test_json_lines_for_harnesses(watch: Callable[..., WatchProcess], make_project: Callable[..., Path]) -> None:
    root = make_project({f"{MODELS}/a.py": model("A")})
    w = watch(root, "--json")
    ready = w.wait_json(lambda d: d["event"] == "ready")
    assert "apps/api/src" in ready["recursive"]
    (root / MODELS / "a.py").write_text(model("A", "x: int; y: str = ''"))
    build = w.wait_json(lambda d: d["event"] == "build" and d["changes"])
    assert build["changes"] == [{"path": f"{MODELS}/a.py", "kind": "modified"}]
    assert ".farm/schema/a.json" in build["written"]
    assert build["batch_at"] <= build["started_at"] <= build["finished_at"]
    assert w.interrupt() == 0


def test_ctrl_c_while_user_code_hangs(watch: Callable[..., WatchProcess], make_project: Callable[..., Path],
                                      tmp_path: Path) -> None:
    marker = tmp_path / "importing"
    hang = f"import pathlib, time\npathlib.Path({str(marker)!r}).write_text('x')\nwhile True:\n    time.sleep(0.05)\n"
    root = make_project({f"{MODELS}/a.py": hang}, farm_toml="[worker]\ntimeout_s = 600\n")
    w = watch(root)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and w.proc.poll() is None, w.all
        time.sleep(0.02)
    workers = children(w.proc.pid)
    assert w.interrupt() == 0  # the initial build is stuck in user code, and Ctrl-C still stops at once
    assert not any(alive(pid) for pid in workers)


def test_farm_build_while_farm_watch_runs(watch: Callable[..., WatchProcess], make_project: Callable[..., Path],
                                          tmp_path: Path) -> None:
    gate, started = tmp_path / "gate", tmp_path / "started"
    gated = (
        "import pathlib, time\nfrom pydantic import BaseModel\n"
        f"pathlib.Path({str(started)!r}).write_text('x')\n"
        "_deadline = time.monotonic() + 60\n"
        f"while not pathlib.Path({str(gate)!r}).exists() and time.monotonic() < _deadline:\n    time.sleep(0.01)\n\n\n"
        "class A(BaseModel):\n    x: int\n    {extra}\n"
    )
    gate.write_text("open")
    root = make_project({f"{MODELS}/a.py": gated.replace("{extra}", "pass"), f"{MODELS}/b.py": model("B")})
    w = watch(root)
    w.wait_line(lambda line: line.startswith("watching "))

    idle = farm_cli("build", "-C", str(root))  # farm watch is idle: farm build just runs
    assert idle.returncode == 0, idle.stderr
    assert "0 ran" in idle.stdout

    gate.unlink()
    started.unlink()
    (root / MODELS / "a.py").write_text(gated.replace("{extra}", "during: int = 1"))
    deadline = time.monotonic() + 60
    while not started.exists():  # farm watch's build is now running (and waiting for the gate)
        assert time.monotonic() < deadline, w.all
        time.sleep(0.01)
    other = subprocess.Popen([sys.executable, "-m", "farmbuild", "build", "-C", str(root)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert other.stderr is not None
        waiting = other.stderr.readline()  # it says who it waits for instead of corrupting state
        assert "waiting for farm watch (pid" in waiting and ".farm/lock" in waiting
        gate.write_text("open")
        out, err = other.communicate(timeout=60)
    finally:
        if other.poll() is None:
            other.kill()
    assert other.returncode == 0, err
    w.wait_line(lambda line: "apps/api/src/models/a.py \u2192" in line)
    after = farm_cli("build", "-C", str(root))
    assert after.returncode == 0 and "0 ran" in after.stdout  # one consistent state: nothing left to do
    assert "during" in (root / ".farm/schema/a.json").read_text()
    assert w.interrupt() == 0


def test_hot_reload_disabled_is_a_clear_usage_error(make_project: Callable[..., Path]) -> None:
    root = make_project(farm_toml="[development.hot_reload]\nenabled = false\n")
    res = farm_cli("watch", "-C", str(root))
    assert res.returncode == 2
    assert "development.hot_reload.enabled is false" in res.stderr


def test_a_killed_farm_watch_leaves_no_worker_behind(watch: Callable[..., WatchProcess],
                                                     make_project: Callable[..., Path], tmp_path: Path) -> None:
    marker = tmp_path / "importing"
    hang = f"import pathlib, time\npathlib.Path({str(marker)!r}).write_text('x')\nwhile True:\n    time.sleep(0.05)\n"
    root = make_project({f"{MODELS}/a.py": hang}, farm_toml="[worker]\ntimeout_s = 600\n")
    w = watch(root)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and w.proc.poll() is None, w.all
        time.sleep(0.02)
    workers = children(w.proc.pid)
    assert workers
    w.proc.kill()  # no chance to clean up
    w.proc.wait(10)
    deadline = time.monotonic() + STOP_DEADLINE_S
    while any(alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "the worker outlived farm watch"
        time.sleep(0.05)
