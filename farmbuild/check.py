"""``farm build --check``: would a build change anything? Builds a scratch copy, never the project.

CI runs this to prove the committed generated files are current: the project is copied
(without node_modules, caches and farmbuild's state) to a temporary directory, built
there from clean, and every file that the build added, changed or removed is reported as a
unified diff against the project.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .build import BuildOptions, Session
from .report import BuildReport, TaskResult

IGNORED_DIRS = {"node_modules", ".git", ".farm", "__pycache__", ".venv", "venv", "dist", ".mypy_cache",
                ".pytest_cache", ".hypothesis", ".ruff_cache", ".tox"}


def _ignored_name(name: str) -> bool:
    return name in IGNORED_DIRS or name.startswith(".doit.db") or name.endswith(".farmtmp")


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if _ignored_name(n)}


def _tree(root: Path) -> dict[str, Path]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not _ignored_name(d)]
        for fn in filenames:
            if _ignored_name(fn):
                continue
            p = Path(dirpath, fn)
            out[p.relative_to(root).as_posix()] = p
    return out


@dataclass
class CheckResult:
    report: BuildReport
    stale: list[str]  # project-relative paths that a build would add, change or delete
    diff: str

    @property
    def ok(self) -> bool:
        return self.report.ok and not self.stale


def _read(p: Path | None) -> bytes | None:
    if p is None:
        return None
    try:
        return p.read_bytes()
    except OSError:
        return None


def _diff(rel: str, old: bytes | None, new: bytes | None) -> str:
    try:
        a = old.decode("utf-8").splitlines(keepends=True) if old is not None else []
        b = new.decode("utf-8").splitlines(keepends=True) if new is not None else []
    except UnicodeDecodeError:
        return f"Binary file {rel} differs\n"
    fromfile = f"a/{rel}" if old is not None else "/dev/null"
    tofile = f"b/{rel}" if new is not None else "/dev/null"
    text = "".join(difflib.unified_diff(a, b, fromfile, tofile))
    if text and not text.endswith("\n"):
        text += "\n\\ No newline at end of file\n"
    return text


def check(root: Path, options: BuildOptions | None = None,
          on_result: Callable[[TaskResult], None] | None = None) -> CheckResult:
    from .project import find_root

    root = find_root(root)
    with tempfile.TemporaryDirectory(prefix="farm-check-") as tmp:
        scratch = Path(tmp) / root.name
        shutil.copytree(root, scratch, symlinks=True, ignore=_ignore)
        # a scratch copy must not pull models or reload the developer's running backend
        session = Session(scratch, isolated=True, lock_what="farm build --check", side_effects=False)
        try:
            report = session.build(options or BuildOptions(), on_result)
        finally:
            session.close()
        before = _tree(root)
        after = _tree(scratch)
        stale: list[str] = []
        chunks: list[str] = []
        for rel in sorted(set(before) | set(after)):
            old, new = _read(before.get(rel)), _read(after.get(rel))
            if old == new:
                continue
            stale.append(rel)
            chunks.append(_diff(rel, old, new))
        return CheckResult(report, stale, "".join(chunks))
