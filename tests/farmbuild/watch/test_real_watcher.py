"""The loop with watchfiles watching the disk: what an editor and the build itself do to it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from farmbuild.graph import BuildContext
from farmbuild.tasks import KINDS
from farmbuild.tasks.spec import TaskKind, TaskSpec
from farmbuild.watch.changes import ChangeType, FileChange, digest
from farmbuild.watch.source import WatchfilesSource

from .conftest import LoopHarness, model, ran_ids

MODELS = "apps/api/src/models"


def in_tree_outputs(ctx: BuildContext) -> Iterator[TaskSpec]:
    """Tasks that write *inside* watched roots, as a plugin registry or a migration would."""
    project = ctx.project
    schemas = tuple(project.state_dir / "schema" / f"{m.key}.json" for m in project.models)
    registry = project.backend_root / "src" / "generated_registry.py"
    migration = project.migrations_dir / "0001_generated.json"

    def action() -> dict[Path, str]:
        sizes = {s.stem: len(s.read_bytes()) for s in schemas}  # changes with every schema change
        return {registry: f"MODELS = {sizes!r}\n", migration: f'{{"schema_bytes": {sum(sizes.values())}}}\n'}

    # a reserved kind nothing else uses as a task, so this never collides with the real ones
    yield TaskSpec(TaskKind.NOTIFY_BACKEND, "registry", action, schemas, (registry, migration))


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project({f"{MODELS}/a.py": model("A"), f"{MODELS}/b.py": model("B"),
                         "apps/api/migrations/.keep": ""})


def watcher() -> WatchfilesSource:
    return WatchfilesSource(step_ms=50, cap_ms=500)


def test_the_builds_own_writes_never_trigger_a_build(harness: Callable[..., LoopHarness], project: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("farmbuild.graph.KINDS", [*KINDS, in_tree_outputs])
    h = harness(project, source=watcher())
    registry = project / "apps/api/src/generated_registry.py"
    assert registry.exists()
    mark = h.mark()
    (project / MODELS / "a.py").write_text(model("A", "x: int; y: int = 0"))
    first = h.next_build(mark, lambda e: "notify-backend:registry" in ran_ids(e))
    assert "apps/api/src/generated_registry.py" in first.written
    # a sentinel save: if the registry/migration writes had woken the loop, a build would come first
    (project / MODELS / "b.py").write_text(model("B", "x: int; z: int = 0"))
    sentinel = h.next_build(mark, lambda e: e.cycle > first.cycle)
    assert sentinel.changes == [FileChange(project / MODELS / "b.py", ChangeType.MODIFIED)]
    assert {e.cycle for e in h.builds(mark)} == {first.cycle, sentinel.cycle}


def test_a_vim_save_on_disk_is_one_build(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project, source=watcher())
    a = project / MODELS / "a.py"
    mark = h.mark()
    # what vim does with backupcopy=no: probe file, swap file, rename to backup, write, delete backup
    (a.parent / "4913").write_text("")
    (a.parent / "4913").unlink()
    swap = a.parent / ".a.py.swp"
    swap.write_bytes(b"\x00swap")
    os.rename(a, a.with_name("a.py~"))
    a.write_text(model("A", "x: int; vim: int = 1"))
    a.with_name("a.py~").unlink()
    swap.unlink()
    event = h.next_build(mark)
    assert event.changes == [FileChange(a, ChangeType.MODIFIED)] and not event.reloaded
    (project / MODELS / "b.py").write_text(model("B", "x: int; after: int = 1"))  # sentinel
    sentinel = h.next_build(mark, lambda e: e is not event)
    assert [c.path.name for c in sentinel.changes] == ["b.py"]
    assert h.builds(mark) == [event, sentinel]


def test_a_new_directory_and_file_are_picked_up(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project, source=watcher())
    mark = h.mark()
    pkg = project / MODELS / "shop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "cart.py").write_text(model("Cart"))
    event = h.next_build(mark, lambda e: "schema:shop/cart" in ran_ids(e))
    assert event.reloaded
    assert (project / ".farm/schema/shop/cart.json").exists()


def test_a_watched_directory_created_later_is_watched(harness: Callable[..., LoopHarness],
                                                      make_project: Callable[..., Path]) -> None:
    root = make_project({f"{MODELS}/a.py": model("A")})  # no plugins/ yet: nothing to watch there
    h = harness(root, source=watcher())
    notes = root / "plugins" / "shop" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("v1")
    mark = h.mark()
    (root / MODELS / "a.py").write_text(model("A", "x: int; n: int = 0"))
    h.next_build(mark)  # after a build the loop looks for watched directories that appeared

    def seen(text: bytes) -> bool:
        return h.loop.tracker.hashes.get(notes) == digest(text)

    wait_until(lambda: seen(b"v1"))
    notes.write_text("v2")  # only a watch on plugins/ can report this
    wait_until(lambda: seen(b"v2"))


def wait_until(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_directory_a_build_creates_is_watched_after_it(harness: Callable[..., LoopHarness],
                                                         make_project: Callable[..., Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("farmbuild.graph.KINDS", [*KINDS, in_tree_outputs])
    root = make_project({f"{MODELS}/a.py": model("A")})
    migrations = root / "apps/api/migrations"
    h = harness(root, source=watcher())  # the initial build writes the first migration
    assert (migrations / "0001_generated.json").exists()
    wait_until(lambda: migrations in h.loop._watched)
    manual = migrations / "0002_manual.json"
    manual.write_text('{"by": "hand"}')  # only a watch on migrations/ can report this
    wait_until(lambda: h.loop.tracker.hashes.get(manual) == digest(b'{"by": "hand"}'))


def test_a_migration_the_build_writes_does_not_trigger_a_build(harness: Callable[..., LoopHarness],
                                                               make_project: Callable[..., Path]) -> None:
    """The db task writes migrations as a side effect (they are sources, not targets): the loop
    still knows them for its own writes, so they neither reload the graph nor start a build."""
    doc = "from pydantic import BaseModel\n\n\nclass Item(BaseModel):\n    {fields}\n\n    class Settings:\n        name = \"items\"\n"
    root = make_project({f"{MODELS}/item.py": doc.format(fields="x: int"), f"{MODELS}/b.py": model("B")})
    migrations = root / "apps/api/migrations"
    h = harness(root, source=watcher())
    assert [p.name for p in migrations.glob("*.json")] == ["0001_items_initial.json"]
    mark = h.mark()
    (root / MODELS / "item.py").write_text(doc.format(fields="x: int\n    y: int = 0"))
    first = h.next_build(mark, lambda e: any(r.startswith("apps/api/migrations/0002_") for r in e.written))
    (root / MODELS / "b.py").write_text(model("B", "x: int; z: int = 0"))  # sentinel
    sentinel = h.next_build(mark, lambda e: e.cycle > first.cycle)
    assert [c.path.name for c in sentinel.changes] == ["b.py"]
    assert {e.cycle for e in h.builds(mark)} == {first.cycle, sentinel.cycle}
    assert not any(e.reloaded for e in h.builds(mark))
