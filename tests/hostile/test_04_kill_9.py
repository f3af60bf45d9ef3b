"""Item 4 — ``kill -9`` at points inside a build.

Property: a ``farm build`` (or ``farm watch``) killed with SIGKILL at any point — while user code
is being imported, just before a target replaces its old version, between two targets of one
task, after the last write but before doit recorded it — leaves every generated file entirely
old or entirely new (never partial), and the next ``farm build`` converges: it exits 0, leaves no
temporary file behind, produces exactly the tree an uninterrupted build makes, and the build
after it has nothing to do.

The kill points come from :mod:`tests.hostile.killpoint`, which wraps ``os.replace`` from the
outside and pauses the real command line at the N-th atomic replace.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from farmbuild.build import build
from tests.conftest import REPO

from .appmodel import App, Endpoint, Fld, initial_app
from .conftest import sync_sources, tree

pytestmark = pytest.mark.e2e  # ~30 s: a dozen real builds

GATE_MODEL = """\
import pathlib
import time

from pydantic import BaseModel

HOLD = pathlib.Path({hold!r})
if HOLD.exists():  # the test holds this import until it has killed farm
    pathlib.Path({marker!r}).write_text("importing")
    while HOLD.exists():
        time.sleep(0.01)


class Gate(BaseModel):
    {fields}
"""


@dataclass
class States:
    work: Path  # where every scenario runs (doit records absolute paths: always the same place)
    stash: Path  # the work tree after a complete build of v1
    v1: dict[str, str]
    v2: dict[str, str]
    old: dict[str, bytes]  # generated tree after building v1
    new: dict[str, bytes]  # generated tree after building v2 without interruption
    writes: list[str]  # the files the v2 build replaces, in order

    def restore(self) -> Path:
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.copytree(self.stash, self.work, symlinks=True)
        sync_sources(self.work, self.v2, self.v1)
        return self.work


def edited(app: App) -> App:
    """A save that changes a bit of everything: schemas, a migration, types, the OpenAPI document,
    the TypeScript client and hooks, and two files of the Python client (one task, two targets)."""
    app = app.clone()
    shop, people = app.modules["shop"], app.modules["people"]
    next(c for c in shop.classes if c.name == "Item").fields.append(Fld("note", "str", default=True))
    next(c for c in people.classes if c.name == "Customer").fields.insert(0, Fld("count", "int", default=True))
    app.routers["items"].endpoints.append(Endpoint("items_get_customer", "get", "/customer", ("people", "Customer")))
    return app


def files(app: App, gate_fields: str, hold: Path, marker: Path) -> dict[str, str]:
    out = app.files()
    out["apps/api/src/models/gate.py"] = GATE_MODEL.format(hold=str(hold), marker=str(marker), fields=gate_fields)
    return out


def farm(*args: str) -> list[str]:
    return [sys.executable, "-m", "farmbuild", *args]


def killpoint(point: str, marker: Path, root: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "tests.hostile.killpoint", point, str(marker), "--",
                             "build", "-C", str(root)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"farm exited ({proc.returncode}) before the kill point"
        assert time.monotonic() < deadline, "the kill point was never reached"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> States:
    base = tmp_path_factory.mktemp("kill")
    hold, marker = base / "hold", base / "importing"
    work, stash = base / "work" / "app", base / "stash" / "app"
    app = initial_app()
    v1 = files(app, "x: int", hold, marker)
    v2 = files(edited(app), "x: int\n    y: str = ''", hold, marker)
    sync_sources(work, v1, {})
    assert build(work).ok
    old = tree(work, exclude=set(v1))
    shutil.copytree(work, stash, symlinks=True)
    # the uninterrupted v2 build: what every scenario must converge to
    states = States(work, stash, v1, v2, old, {}, [])
    states.restore()
    count = base / "count.json"
    proc = killpoint("count", count, work)
    assert proc.wait(120) == 0, proc.stderr.read() if proc.stderr else ""
    proc.stderr.close() if proc.stderr else None
    states.writes = [Path(p).relative_to(work).as_posix() for p in json.loads(count.read_text())]
    states.new = tree(work, exclude=set(v2))
    assert states.new != old and len(states.writes) >= 10, states.writes
    return states


def assert_old_or_new(states: States, when: str) -> None:
    now = tree(states.work, exclude=set(states.v2))
    # the temporary file of the write in progress may be there (the next build sweeps it), but
    # never under a target's name: a target only appears by rename
    temps = {rel for rel in now if rel.endswith(".farmtmp")}
    assert not temps & (set(states.old) | set(states.new))
    bad = []
    for rel in sorted(set(states.old) | set(states.new) | (set(now) - temps)):
        allowed = {states.old.get(rel), states.new.get(rel)}
        if now.get(rel) not in allowed:
            bad.append(rel if rel in states.old or rel in states.new else f"{rel} (neither old nor new)")
    assert not bad, f"killed {when}: partial or unexpected files: {bad}"


def assert_converges(states: States, when: str) -> None:
    report = build(states.work)
    assert report.ok, f"after a kill {when}: {report.errors or [r.error for r in report.results if r.error]}"
    temps = [p.relative_to(states.work).as_posix() for p in states.work.rglob("*.farmtmp")]
    assert not temps, f"temporary files left behind after a kill {when} and a new build: {temps}"
    now = tree(states.work, exclude=set(states.v2))
    assert now == states.new, f"after a kill {when}, the next build differs from an uninterrupted one: " + ", ".join(
        sorted(k for k in set(now) | set(states.new) if now.get(k) != states.new.get(k)))
    again = build(states.work)
    assert again.ok and [r.id for r in again.results if r.status == "ran"] == [], f"not converged after a kill {when}"


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    if proc.stderr is not None:
        proc.stderr.close()


def kill_point(states: States, where: str) -> tuple[str, int]:
    mode, which = where.split(":")
    if which == "first":
        return mode, 1
    if which == "last":
        return mode, len(states.writes)
    # between the two targets of one task that both change (the Python client's models and client)
    pyclient = [i for i, w in enumerate(states.writes, 1) if w.startswith("clients/python/")]
    assert len(pyclient) >= 2, states.writes
    return mode, pyclient[0]


@pytest.mark.parametrize("where", ["before:first", "after:one-of-two", "before:last", "after:last"])
def test_kill_at_a_write(states: States, where: str, tmp_path: Path) -> None:
    mode, n = kill_point(states, where)
    root = states.restore()
    marker = tmp_path / "paused"
    proc = killpoint(f"{mode}:{n}", marker, root)
    try:
        wait_for(marker, proc)
    finally:
        kill(proc)
    when = f"{mode} replacing {states.writes[n - 1]} (write {n} of {len(states.writes)})"
    assert_old_or_new(states, when)
    assert_converges(states, when)


def test_kill_while_user_code_is_imported_in_farm_watch(states: States, tmp_path: Path) -> None:
    hold, marker = states.stash.parent.parent / "hold", states.stash.parent.parent / "importing"
    root = states.restore()
    sync_sources(root, states.v1, states.v2)  # farm watch starts on the built v1 tree
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(farm("watch", "--json", "-C", str(root)), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the initial build (up to date), then the watch is in place
            if '"event": "ready"' in line:
                break
        hold.write_text("hold")
        sync_sources(root, states.v2, states.v1)  # a save: the build blocks importing gate.py
        wait_for(marker, proc)  # type: ignore[arg-type]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        hold.unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
    assert_old_or_new(states, "while farm watch imported user code")
    assert_converges(states, "while farm watch imported user code")
