"""Item 7 — a burst of 1,000 file changes over two seconds (a branch switch) under ``farm watch``.

Property: while ``git checkout`` rewrites the watched folders — models renamed, added and
deleted, routers edited, a plugin swapped, and a thousand data files replaced, in no useful
order — ``farm watch`` runs at most two builds, and the last one runs against the final tree:
afterwards the generated files are exactly what a clean build of the new branch makes, no task
is left failing (Vite's overlay is clear), and the next save is built on its own.

The real watcher (watchfiles, with ``farm watch``'s own quiet window and cap from the config)
drives the real :class:`~farmbuild.watch.loop.WatchLoop`. The two seconds are the scenario: the
writes are spaced over them as a checkout of a large branch would be. Everything else waits on
conditions.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from farmbuild.build import build
from farmbuild.watch.changes import digest
from farmbuild.watch.loop import BuildEvent, Deferred, ErrorEvent
from tests.farmbuild.watch.conftest import LoopHarness

from .appmodel import App, initial_app
from .conftest import fresh_dir, sync_sources, tree

pytestmark = pytest.mark.e2e  # a cold build, a watch session and a clean build: ~30 s

BURST_S = 2.0
TICKS = 100
DEADLINE_S = 120.0


def branch_a() -> App:
    return initial_app()


def branch_b() -> App:
    """The other branch: a module renamed, two added, a router renamed and extended, a class and
    a field renamed, a plugin swapped for another."""
    app = initial_app()
    for edit in [("rename_module", 1, 0, 0), ("add_module", 0, 1, 1), ("add_module", 1, 2, 0),
                 ("rename_class", 0, 1, 0), ("add_field", 1, 2, 3), ("rename_router", 0, 1, 0),
                 ("add_endpoint", 0, 1, 1), ("add_endpoint", 0, 2, 2), ("delete_plugin", 0, 0, 0),
                 ("add_plugin", 1, 1, 1)]:
        app.apply(edit)
    return app


def data_files(branch: str, n: int) -> dict[str, str]:
    """Fixture data a branch carries inside the backend package (watched, read by no task)."""
    return {f"apps/api/src/fixtures/{branch}/{i:04d}.json": f'{{"branch": "{branch}", "row": {i}}}\n'
            for i in range(n)}


def files_of(app: App, branch: str, cap_ms: int | None) -> dict[str, str]:
    files = {**app.files(), **data_files(branch, 495)}
    if cap_ms is not None:
        files["farm.toml"] = files.get("farm.toml", "") + f"\n[development.hot_reload]\nmax_batch_ms = {cap_ms}\n"
    return files


def checkout(root: Path, old: dict[str, str], new: dict[str, str], seed: int = 8) -> int:
    """Turn ``old`` into ``new`` on disk in a random order, spaced evenly over BURST_S.
    Returns the number of file changes made."""
    ops: list[tuple[str, str]] = [("delete", rel) for rel in set(old) - set(new)]
    ops += [("write", rel) for rel in new if old.get(rel) != new[rel]]
    random.Random(seed).shuffle(ops)
    per_tick = -(-len(ops) // TICKS)
    start = time.monotonic()
    for tick in range(TICKS):
        for op, rel in ops[tick * per_tick:(tick + 1) * per_tick]:
            p = root / rel
            if op == "delete":
                p.unlink()
            else:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(new[rel], encoding="utf-8")
        # spacing the writes over two seconds is the scenario, not a synchronisation
        time.sleep(max(0.0, start + BURST_S * (tick + 1) / TICKS - time.monotonic()))
    sync_sources(root, new, new)  # emptied directories go, as git removes them
    for d in sorted({p for rel in set(old) - set(new) for p in (root / rel).parents if p != root}, reverse=True):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    return len(ops)


def wait_until(cond: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.02)


def watched(h: LoopHarness, path: Path) -> bool:
    roots = h.loop.roots
    return h.loop.filter.accepts(path) and (any(path.is_relative_to(r) for r in roots.recursive)
                                            or path.parent in roots.flat)


def cycles(h: LoopHarness, after: int) -> list[int]:
    with h._cv:
        events = h.events[after:]
    return sorted({e.cycle for e in events if isinstance(e, (BuildEvent, ErrorEvent, Deferred))})


# the default cap (a batch closes after 1 s however busy the disk), and the shortest sensible one
# (the quiet window): the burst is then cut into twenty batches, most of them arriving while the
# build of an earlier one runs
@pytest.mark.parametrize("cap_ms", [None, 100], ids=["default-cap", "cap-100ms"])
def test_a_branch_switch_is_at_most_two_builds_and_ends_on_the_final_tree(
        watch: Callable[[Path], LoopHarness], tmp_path: Path, cap_ms: int | None) -> None:
    a, b = files_of(branch_a(), "a", cap_ms), files_of(branch_b(), "b", cap_ms)
    root = tmp_path / "app"
    sync_sources(root, a, {})
    assert build(root).ok
    clean = fresh_dir(tmp_path / "clean") / "app"
    sync_sources(clean, b, {})
    report = build(clean)
    assert report.ok, report.errors or [r.error for r in report.results if r.error]
    want = tree(clean, exclude=set(b))

    h = watch(root)
    mark = h.mark()
    changed = checkout(root, a, b)
    assert changed >= 1000, changed

    final = {root / rel: digest(text.encode()) for rel, text in b.items() if watched(h, root / rel)}
    gone = {root / rel for rel in set(a) - set(b)}

    def seen_final() -> bool:  # the loop has looked at every file of the new branch, and nothing of the old
        hashes = dict(h.loop.tracker.hashes)
        return all(hashes.get(p) == d for p, d in final.items()) and not gone & set(hashes)

    wait_until(seen_final, "the watch saw the final tree")
    assert h.loop.wait_settled(DEADLINE_S), "the watch did not settle after the branch switch"

    done = cycles(h, mark)
    assert 1 <= len(done) <= 2, f"{changed} changes over {BURST_S} s became {len(done)} builds: " + "; ".join(
        f"cycle {e.cycle} lane {e.lane}: {len(e.changes)} changes" if isinstance(e, BuildEvent) else repr(e)
        for e in h.events[mark:])
    last = [e for e in h.builds(mark) if e.cycle == done[-1]]
    assert last, f"the last cycle did not build: {h.events[mark:]!r}"
    assert all(e.report.ok for e in last), [r.error for e in last for r in e.report.results if r.error]
    assert not h.loop.failing, f"tasks still failing after the switch: {sorted(h.loop.failing)}"
    got = tree(root, exclude=set(b))
    assert got == want, "after the branch switch the generated tree is not a clean build's: " + ", ".join(
        sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k)))

    # the watch carries on: one save, one build
    mark = h.mark()
    key = sorted(branch_b().modules)[0]
    model = root / f"apps/api/src/models/{key}.py"
    model.write_text(model.read_text() + "# saved after the switch\n")
    event = h.next_build(mark)
    assert [c.path for c in event.changes] == [model]
    assert h.loop.wait_settled(DEADLINE_S)
    assert cycles(h, mark) == [event.cycle]
