"""Item 6 — two builds at once on one project, and a build while ``farm watch`` runs.

Property: the second ``farm build`` never runs doit at the same time as the first. It waits,
saying who holds the project lock (the other command and its pid) and what to do; told not to
wait (``--lock-timeout``), it exits 1 with that message and touches nothing. Whoever ran first
and whoever waited both exit sanely, and afterwards the state is intact: ``.doit.db`` is a
readable doit database, the generated tree is exactly a clean build's of the same sources, and
the next build has nothing to do. The same holds for ``farm build`` while ``farm watch`` is
building, and ``farm watch`` keeps watching afterwards.

A build is held in the middle by a model whose import blocks while a *hold* file exists (as in
item 4), so "at once" is a state the test waits for, not a race it hopes to win.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from farmbuild import runner
from farmbuild.build import build
from tests.conftest import REPO

from .appmodel import initial_app
from .conftest import fresh_dir, sync_sources, tree

pytestmark = pytest.mark.e2e  # real command lines, a real farm watch: ~40 s

DEADLINE_S = 120.0

GATE_MODEL = """\
import pathlib
import time

from pydantic import BaseModel

HOLD = pathlib.Path({hold!r})
if HOLD.exists():  # the test holds this import (and so the build) until it removes HOLD
    pathlib.Path({marker!r}).write_text("importing")
    while HOLD.exists():
        time.sleep(0.01)


class Gate(BaseModel):
    {fields}
"""


class Farm:
    """The real ``farm`` command line in a subprocess, its output collected as it comes."""

    def __init__(self, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
        self.args = args
        self.proc = subprocess.Popen([sys.executable, "-m", "farmbuild", *args], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._cv = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(s, buf), daemon=True)
                         for s, buf in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._readers:
            t.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self, stream, buf: list[str]) -> None:  # noqa: ANN001 - a text pipe
        for line in stream:
            with self._cv:
                buf.append(line)
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def wait_line(self, pred: Callable[[str], bool], *, stream: str = "err", timeout: float = DEADLINE_S) -> str:
        """The first line of stdout/stderr matching ``pred`` (fails if the process ends without one)."""
        buf = self.err if stream == "err" else self.out
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for line in buf:
                    if pred(line):
                        return line
                if self.proc.poll() is not None and not any(t.is_alive() for t in self._readers):
                    raise AssertionError(f"farm {' '.join(self.args)} exited {self.proc.returncode} without that line:\n"
                                         f"{self.text()}")
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no such line within {timeout} s:\n{self.text()}"
                self._cv.wait(min(remaining, 0.5))

    def finish(self, timeout: float = DEADLINE_S) -> int:
        code = self.proc.wait(timeout)
        for t in self._readers:
            t.join(timeout)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code

    def text(self) -> str:
        return "".join(self.out) + "".join(self.err)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.finish(30)


@pytest.fixture
def farms() -> Iterator[Callable[..., Farm]]:
    started: list[Farm] = []

    def start(*args: str) -> Farm:
        f = Farm(*args)
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()


class Gate:
    def __init__(self, base: Path) -> None:
        self.hold = base / "hold"
        self.marker = base / "importing"

    def source(self, fields: str) -> str:
        return GATE_MODEL.format(hold=str(self.hold), marker=str(self.marker), fields=fields)

    def close(self) -> None:
        self.marker.unlink(missing_ok=True)
        self.hold.write_text("hold")

    def wait_held(self, proc: Farm) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not self.marker.exists():
            assert proc.proc.poll() is None, f"farm exited before reaching the gate:\n{proc.text()}"
            assert time.monotonic() < deadline, f"the build never reached the gate:\n{proc.text()}"
            time.sleep(0.01)

    def open(self) -> None:
        self.hold.unlink(missing_ok=True)


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Gate]:
    g = Gate(tmp_path)
    yield g
    g.open()


def sources(gate: Gate, fields: str = "x: int") -> dict[str, str]:
    files = initial_app().files()
    files["apps/api/src/models/gate.py"] = gate.source(fields)
    return files


def clean_tree(base: Path, files: dict[str, str]) -> dict[str, bytes]:
    """What a clean build of ``files`` generates (elsewhere, in process)."""
    root = fresh_dir(base / "clean") / "app"
    sync_sources(root, files, {})
    report = build(root)
    assert report.ok, report.errors or [r.error for r in report.results if r.error]
    return tree(root, exclude=set(files))


def assert_intact(root: Path, files: dict[str, str], want: dict[str, bytes], when: str) -> None:
    db = root / runner.DB_NAME
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("pragma quick_check").fetchone() == ("ok",), f"{when}: .doit.db is damaged"
        rows = conn.execute("select count(*) from doit").fetchone()[0]
    finally:
        conn.close()
    assert rows > 0, f"{when}: .doit.db holds no task"
    (root / runner.STAMP).unlink(missing_ok=True)  # make check_db read the DB whole
    assert runner.check_db(root) is None, f"{when}: farmbuild would set .doit.db aside"
    temps = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.farmtmp"))
    assert not temps, f"{when}: temporary files left: {temps}"
    got = tree(root, exclude=set(files))
    assert got == want, f"{when}: the generated tree is not a clean build's: " + ", ".join(
        sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k)))


def ran_count(summary: str) -> int:
    m = re.search(r"(\d+) ran", summary)
    assert m, summary
    return int(m.group(1))


def assert_converged(farms: Callable[..., Farm], root: Path, when: str) -> None:
    nxt = farms("build", "-C", str(root))
    assert nxt.finish() == 0, nxt.text()
    assert ran_count(nxt.out[-1]) == 0, f"{when}: the next build still had work to do:\n{nxt.text()}"


def waiting_line(holder: Farm, what: str) -> Callable[[str], bool]:
    return lambda line: "waiting" in line and f"pid {holder.pid}" in line and what in line


def test_two_builds_at_once_one_waits_for_the_other(farms: Callable[..., Farm], gate: Gate, tmp_path: Path) -> None:
    root = tmp_path / "app"
    files = sources(gate)
    sync_sources(root, files, {})
    want = clean_tree(tmp_path, files)
    gate.close()
    first = farms("build", "-C", str(root))
    gate.wait_held(first)  # a cold build, half done: user code is being imported
    second = farms("build", "-C", str(root))
    line = second.wait_line(waiting_line(first, "farm build"))
    # who holds the lock, where, and what the user can do about it; no absolute path
    assert ".farm/lock" in line and "Ctrl-C" in line and str(tmp_path) not in line, line
    assert second.proc.poll() is None
    gate.open()
    assert first.finish() == 0, first.text()
    assert second.finish() == 0, second.text()
    assert "Traceback" not in first.text() + second.text()
    # the one that waited re-read the project the first one changed, and found nothing to do
    assert ran_count(second.out[-1]) == 0, second.text()
    assert not [ln for ln in second.out if ln.startswith("removed ")], second.text()
    assert_intact(root, files, want, "after two builds at once")
    assert_converged(farms, root, "after two builds at once")


def test_a_build_told_not_to_wait_names_the_holder_and_touches_nothing(farms: Callable[..., Farm], gate: Gate,
                                                                      tmp_path: Path) -> None:
    root = tmp_path / "app"
    v1 = sources(gate)
    sync_sources(root, v1, {})
    assert build(root).ok
    v2 = sources(gate, "x: int\n    y: str = ''")
    want = clean_tree(tmp_path, v2)
    sync_sources(root, v2, v1)
    gate.close()
    first = farms("build", "-C", str(root))
    gate.wait_held(first)
    before = tree(root)
    second = farms("build", "--lock-timeout", "0", "-C", str(root))
    assert second.finish() == 1, second.text()
    err = "".join(second.err)
    assert f"pid {first.pid}" in err and "farm build" in err and ".farm/lock" in err, err
    assert "run `farm build` again" in err and str(tmp_path) not in err and "Traceback" not in err, err
    assert tree(root) == before, "the build that did not get the lock changed files"
    gate.open()
    assert first.finish() == 0, first.text()
    assert_intact(root, v2, want, "after a build that gave up on the lock")
    assert_converged(farms, root, "after a build that gave up on the lock")


def ran_in(event: dict) -> set[str]:
    return {t["id"] for t in event.get("tasks", []) if t["status"] == "ran"}


def watch_events(watch: Farm) -> list[dict]:
    return [json.loads(line) for line in list(watch.out) if line.startswith("{")]


def wait_event(watch: Farm, pred: Callable[[dict], bool], after: int = 0) -> dict:
    def match(line: str) -> bool:
        if not line.startswith("{"):
            return False
        event = json.loads(line)
        return pred(event) and watch_events(watch).index(event) >= after

    return json.loads(watch.wait_line(match, stream="out"))


def test_farm_build_while_farm_watch_runs(farms: Callable[..., Farm], gate: Gate, tmp_path: Path) -> None:
    root = tmp_path / "app"
    v1 = sources(gate)
    sync_sources(root, v1, {})
    assert build(root).ok
    watch = farms("watch", "--json", "-C", str(root))
    wait_event(watch, lambda e: e["event"] == "ready")

    # the watch is idle: a build does not wait, and has nothing to do
    idle = farms("build", "-C", str(root))
    assert idle.finish() == 0, idle.text()
    assert ran_count(idle.out[-1]) == 0 and "waiting" not in idle.text(), idle.text()

    # the watch is building a save: a build waits for it, naming it, then finds nothing to do
    v2 = sources(gate, "x: int\n    y: str = ''")
    want = clean_tree(tmp_path, v2)
    gate.close()
    mark = len(watch_events(watch))
    sync_sources(root, v2, v1)
    gate.wait_held(watch)
    during = farms("build", "-C", str(root))
    during.wait_line(waiting_line(watch, "farm watch"))
    gate.open()
    built = wait_event(watch, lambda e: e["event"] == "build" and "schema:gate" in ran_in(e), mark)
    assert built["ok"], built
    assert during.finish() == 0, during.text()
    assert ran_count(during.out[-1]) == 0, during.text()
    assert_intact(root, v2, want, "after farm build waited for farm watch")

    # farm watch keeps watching: the next save builds again
    v3 = sources(gate, "x: int\n    z: int = 0")
    mark = len(watch_events(watch))
    sync_sources(root, v3, v2)
    again = wait_event(watch, lambda e: e["event"] == "build" and "schema:gate" in ran_in(e), mark)
    assert again["ok"], again
    watch.proc.send_signal(signal.SIGINT)
    assert watch.finish() == 0, watch.text()
    assert "Traceback" not in watch.text()
    assert_intact(root, v3, clean_tree(tmp_path, v3), "after farm watch stopped")
    assert_converged(farms, root, "after farm watch stopped")
