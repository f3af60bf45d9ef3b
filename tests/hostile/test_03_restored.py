"""Item 3 — a hand-edited, truncated, emptied, deleted or replaced generated file is restored.

Property: whatever happens to the generated files between two builds — one hand-edited, one
cut in half, one emptied, one deleted, one replaced by garbage bytes, one made read-only, one
replaced by a symlink to a file outside the project — the next ``farm build`` puts back every one
of them byte for byte (a symlink replaced by the real file; the file outside never touched), and
the build after that has nothing to do. ``farm build --check`` reports such a file as stale and
changes nothing; a directory squatting where a generated file goes is a clear error naming it.
(tests/farmbuild/test_build.py restores one truncated schema file; this module covers every
generated file of a full app.)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from farmbuild.build import build
from farmbuild.check import check

from .appmodel import initial_app
from .conftest import sync_sources, tree


def _symlink_outside(path: Path, outside: Path) -> None:
    victim = outside / f"victim-{path.name}"
    victim.write_bytes(b"not yours\n")
    path.unlink()
    path.symlink_to(victim)


MUTATIONS: list[tuple[str, Callable[[Path, Path], None]]] = [
    ("hand-edited", lambda p, _o: p.write_bytes(p.read_bytes() + b"\n// my local fix\n")),
    ("truncated", lambda p, _o: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])),
    ("emptied", lambda p, _o: p.write_bytes(b"")),
    ("deleted", lambda p, _o: p.unlink()),
    ("garbage", lambda p, _o: p.write_bytes(os.urandom(300))),
    ("read-only and edited", lambda p, _o: (p.write_bytes(b"x"), p.chmod(0o444))),
    ("a symlink to a file outside", _symlink_outside),
]


@pytest.fixture
def app(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "app"
    files = initial_app().files()
    sync_sources(root, files, {})
    assert build(root).ok
    return root, files


def generated(root: Path) -> list[str]:
    """Every file the task graph generates (what `farm list --json` calls targets)."""
    from farmbuild.build import Session

    session = Session(root)
    try:
        return sorted(session.project.rel(t) for t in session.graph.targets)
    finally:
        session.close()


def test_every_generated_file_is_restored(app: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, files = app
    outside = tmp_path / "outside"
    outside.mkdir()
    good = tree(root, exclude=set(files))
    targets = generated(root)
    assert len(targets) >= 20, targets
    done = {}
    for i, rel in enumerate(targets):
        name, mutate = MUTATIONS[i % len(MUTATIONS)]
        mutate(root / rel, outside)
        done[rel] = name
    report = build(root)
    assert report.ok, report.errors or [r.error for r in report.results if r.error]
    now = tree(root, exclude=set(files))
    wrong = {rel: done.get(rel) for rel in set(now) | set(good) if now.get(rel) != good.get(rel)}
    assert not wrong, f"not restored: {wrong}"
    links = [rel for rel in targets if (root / rel).is_symlink()]
    assert not links, f"still symlinks: {links}"
    assert all(p.read_bytes() == b"not yours\n" for p in outside.iterdir())  # never written through
    again = build(root)
    assert again.ok and [r.id for r in again.results if r.status == "ran"] == []


def test_check_reports_a_hand_edited_file_and_changes_nothing(app: tuple[Path, dict[str, str]]) -> None:
    root, files = app
    ts = root / "apps/web/src/types/models/shop.ts"
    ts.write_text(ts.read_text().replace("name: string", "name: number"))
    before = tree(root)
    res = check(root)
    assert not res.ok and res.stale == ["apps/web/src/types/models/shop.ts"], res.stale
    assert "-  name: number;" in res.diff and "+  name: string;" in res.diff
    assert tree(root) == before


def test_a_directory_where_a_generated_file_goes_is_a_clear_error(app: tuple[Path, dict[str, str]]) -> None:
    root, files = app
    ts = root / "apps/web/src/types/models/shop.ts"
    ts.unlink()
    (ts / "oops").mkdir(parents=True)
    report = build(root)
    bad = [r for r in report.results if r.status == "failed"]
    assert [r.id for r in bad] == ["types:shop"], [(r.id, r.error) for r in bad]
    assert "apps/web/src/types/models/shop.ts" in (bad[0].error or "") and "internal error" not in (bad[0].error or "")
    shutil.rmtree(ts)
    assert build(root).ok and ts.is_file()

