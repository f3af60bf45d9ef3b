"""Helpers shared by the hostile tests: snapshots of generated trees, readable tree diffs,
writing a set of sources over a project the way a checkout would."""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from farmbuild.build import Session
from farmbuild.watch.source import WatchfilesSource
from tests.farmbuild.watch.conftest import LoopHarness

# farmbuild's own scratch: not outputs (lock, timings, parse cache, the random dev token, the doit DB)
SCRATCH = (".farm/lock", ".farm/metrics.jsonl", ".farm/cache/", ".farm/dev-token")
SKIP_DIRS = {"node_modules", "__pycache__"}


def tree(root: Path, *, exclude: set[str] = frozenset()) -> dict[str, bytes]:  # type: ignore[assignment]
    """Every file below ``root`` (project-relative POSIX path → bytes) but ``exclude`` and scratch."""
    out: dict[str, bytes] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if any(part in SKIP_DIRS for part in p.relative_to(root).parts):
            continue
        if p.is_dir() or p.is_symlink() and not p.exists():
            continue
        if rel in exclude or rel.startswith(".doit.db") or rel.startswith(SCRATCH):
            continue
        out[rel] = p.read_bytes()
    return out


def tree_diff(got: dict[str, bytes], want: dict[str, bytes], *, got_name: str = "incremental",
              want_name: str = "clean", limit: int = 3) -> str:
    """A readable account of how two trees differ ('' when they are equal)."""
    lines: list[str] = []
    only_got = sorted(set(got) - set(want))
    only_want = sorted(set(want) - set(got))
    differ = sorted(k for k in set(got) & set(want) if got[k] != want[k])
    if only_got:
        lines.append(f"only in the {got_name} tree: {', '.join(only_got)}")
    if only_want:
        lines.append(f"only in the {want_name} tree: {', '.join(only_want)}")
    if differ:
        lines.append(f"different bytes: {', '.join(differ)}")
    for rel in differ[:limit]:
        a = got[rel].decode("utf-8", "replace").splitlines(keepends=True)
        b = want[rel].decode("utf-8", "replace").splitlines(keepends=True)
        lines.append("".join(difflib.unified_diff(b, a, f"{want_name}/{rel}", f"{got_name}/{rel}", n=2)))
    return "\n".join(lines)


def sync_sources(root: Path, files: dict[str, str], previous: dict[str, str]) -> list[Path]:
    """Make ``root``'s hand-written files ``files`` (written only when changed, removed when gone,
    emptied directories removed, as a checkout does). Returns every touched path."""
    touched: list[Path] = []
    for rel in sorted(set(previous) - set(files)):
        p = root / rel
        p.unlink(missing_ok=True)
        touched.append(p)
        parent = p.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            touched.append(parent)
            parent = parent.parent
    for rel, text in sorted(files.items()):
        if previous.get(rel) == text and (root / rel).exists():
            continue
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        touched.append(p)
    return touched


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def watch() -> Iterator[Callable[[Path], LoopHarness]]:
    """``farm watch`` in a thread: the real loop with the real watchfiles source, configured from
    the project's config as the command line does it (quiet window, cap, polling)."""
    made: list[LoopHarness] = []

    def start(root: Path) -> LoopHarness:
        session = Session(root, lock_what="farm watch")
        hr = session.project.config.development.hot_reload
        # as `farm watch` builds its source: the quiet window and the cap from the config
        source = WatchfilesSource(step_ms=hr.debounce_ms, cap_ms=hr.max_batch_ms, polling=hr.use_polling)
        h = LoopHarness(session, source=source)
        made.append(h)
        return h.start()

    yield start
    for h in made:
        if h.thread.is_alive():
            h.stop()
        h.session.close()


