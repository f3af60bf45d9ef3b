"""The watch filter: pure predicates, no disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from farmbuild.watch.filter import WatchFilter, is_editor_artifact

ROOT = Path("/proj")


@pytest.mark.parametrize("name", [
    "catalog.py", "plugin.json", "0001_initial.json", "farm.toml", "README.md", "v2.py", "models_4913.py",
])
def test_sources_are_kept(name: str) -> None:
    assert not is_editor_artifact(name)


@pytest.mark.parametrize("name", [
    ".catalog.py.swp", ".catalog.py.swo", ".catalog.py.swx", "catalog.py.swp", "catalog.py.swpx",  # vim swap
    "4913", "5036",  # vim's write test files
    "catalog.py~",  # vim / emacs / kate backup
    "#catalog.py#", ".#catalog.py",  # emacs autosave and lock
    "catalog.py___jb_tmp___", "catalog.py___jb_old___", "catalog.py___jb_bak___",  # JetBrains safe write
    ".goutputstream-2XBZ3Z",  # gedit
    "catalog.py.kate-swp", "catalog.py.tmp", "catalog.py.bak", "catalog.py.orig",
    ".catalog.py.8f3a.farmtmp",  # farmbuild's own atomic writes
    "sedAb12Cd",  # sed -i
    "flycheck_catalog.py",
    "catalog.cpython-311.pyc",
    ".DS_Store",
])
def test_editor_artifacts_are_ignored(name: str) -> None:
    assert is_editor_artifact(name)


@pytest.mark.parametrize("rel,kept", [
    ("apps/api/src/models/catalog.py", True),
    ("apps/api/src/models/__pycache__/catalog.cpython-311.pyc", False),
    ("apps/api/src/.venv/lib/x.py", False),
    ("apps/web/node_modules/vite/index.js", False),
    (".farm/schema/catalog.json", False),
    (".doit.db", False),
    (".doit.db-journal", False),
    ("apps/api/src/.hidden/x.py", False),
    ("apps/api/src/models/.catalog.py.swp", False),
    ("farm.toml", True),
    ("plugins/wishlist/plugin.json", True),
])
def test_paths(rel: str, kept: bool) -> None:
    assert WatchFilter(ROOT).accepts(ROOT / rel) is kept


def test_outside_the_project_and_the_root_itself_are_ignored() -> None:
    f = WatchFilter(ROOT)
    assert not f.accepts(Path("/elsewhere/catalog.py"))
    assert not f.accepts(ROOT)


def test_generated_files_never_trigger_a_build() -> None:
    target = ROOT / "apps/api/src/plugins_registry.py"  # a generated module inside a watched root
    f = WatchFilter(ROOT, generated=[target])
    assert not f.accepts(target)
    assert f.accepts(ROOT / "apps/api/src/main.py")


@pytest.mark.parametrize("glob,rel,kept", [
    ("**/test_*.py", "apps/api/src/models/test_catalog.py", False),
    ("**/test_*.py", "test_root.py", False),
    ("**/test_*.py", "apps/api/src/models/catalog.py", True),
    ("apps/api/src/scratch/*", "apps/api/src/scratch/x.py", False),
])
def test_ignore_globs_from_config(glob: str, rel: str, kept: bool) -> None:
    assert WatchFilter(ROOT, ignore_globs=[glob]).accepts(ROOT / rel) is kept


def test_watchfiles_signature() -> None:
    f = WatchFilter(ROOT)
    assert f(object(), str(ROOT / "apps/api/src/main.py")) is True
    assert f(object(), str(ROOT / "apps/api/src/main.py~")) is False
