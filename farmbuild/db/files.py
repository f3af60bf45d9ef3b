"""Reading the project: its migration files, and which model modules declare collections.

Collections are found without importing user code (the task graph is made before anything
runs): a top-level class with an inner ``class Settings`` whose ``name`` is a string literal,
the Beanie convention. The ``db:<collection>`` task then reads the real model from the
schema JSON; a ``Settings.name`` that is not a literal is reported, not guessed.
"""

from __future__ import annotations

import ast
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import MigrationError
from ..fsutil import StatCache, md5_bytes
from ..project import Project, PyModule
from .operations import Migration, order, parse_migration

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentDecl:
    collection: str
    module: PyModule
    class_name: str
    line: int


@dataclass(frozen=True)
class DynamicName:
    """A ``Settings.name`` that is not a string literal (farmbuild cannot plan a task for it)."""

    module: PyModule
    class_name: str
    line: int


def _settings_name(cls: ast.ClassDef) -> tuple[str | None, int | None]:
    """(literal name, line of a non-literal name) of a class's inner Settings."""
    for node in cls.body:
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            for stmt in node.body:
                targets: list[ast.expr] = []
                value = None
                if isinstance(stmt, ast.Assign):
                    targets, value = stmt.targets, stmt.value
                elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                    targets, value = [stmt.target], stmt.value
                if any(isinstance(t, ast.Name) and t.id == "name" for t in targets):
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        return value.value, None
                    return None, stmt.lineno
    return None, None


def find_documents(models: list[PyModule],
                   max_source_bytes: int | None = None) -> tuple[list[DocumentDecl], list[DynamicName]]:
    """Every collection declared in the model modules, in module then source order (a module
    larger than ``max_source_bytes`` is not read: its schema task reports it)."""
    found: list[DocumentDecl] = []
    dynamic: list[DynamicName] = []
    for module in models:
        try:
            if max_source_bytes is not None and module.path.stat().st_size > max_source_bytes:
                continue
            tree = ast.parse(module.path.read_bytes(), filename=module.rel)
        except (OSError, SyntaxError, ValueError):
            continue  # the schema task reports it
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                name, dynamic_line = _settings_name(node)
                if name:
                    found.append(DocumentDecl(name, module, node.name, node.lineno))
                elif dynamic_line:
                    dynamic.append(DynamicName(module, node.name, dynamic_line))
    return found, dynamic


def migration_paths(directory: Path) -> list[Path]:
    """The migration files now on disk (fresh: files written during this build included)."""
    return [directory / n for n in migration_names(directory)]


# The listing by directory, while the directory's mtime stays what it was: every db task's
# uptodate check asks (N listings of N files at N collections).
_NAMES: dict[str, tuple[tuple[int, int], list[str]]] = {}
RACY_NS = 2_000_000_000


def migration_names(directory: Path) -> list[str]:
    """The names of :func:`migration_paths`, sorted."""
    try:
        st = os.stat(directory)
        sig = (st.st_mtime_ns, st.st_ino)
        hit = _NAMES.get(str(directory))
        if hit is not None and hit[0] == sig:
            return list(hit[1])
        # scandir: the file type comes with the listing (no stat per file)
        with os.scandir(directory) as it:
            names = sorted(e.name for e in it if e.name.endswith(".json") and not e.name.startswith(".") and e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []
    # a file added within the same clock tick as the last change would not move the mtime:
    # only a listing of a directory that has been quiet for a while is reused
    if time.time_ns() - sig[0] > RACY_NS:
        _NAMES[str(directory)] = (sig, names)
    else:
        _NAMES.pop(str(directory), None)
    return list(names)


# Parsed migrations by project root, then by file signature: every ``db:<collection>`` task reads
# the whole history (numbering, replay), which would parse N files N times at N collections.
_PARSED: dict[Path, StatCache] = {}


def read_migration(project: Project, path: Path) -> Migration:
    rel = _rel_fast(project, path)

    def parse(data: bytes) -> Migration:
        try:
            text = data.decode("utf-8-sig")  # an editor's BOM is not part of the JSON
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise MigrationError(rel, "the file is not UTF-8 text; save it as UTF-8", line=line) from None
        return parse_migration(text, rel, checksum=md5_bytes(data))

    try:
        return _PARSED.setdefault(project.root, StatCache()).get(path, parse)
    except OSError as exc:
        raise MigrationError(rel, f"cannot read the file: {exc.strerror}") from None


def _rel_fast(project: Project, path: Path) -> str:
    """``project.rel`` without resolving symlinks when ``path`` is already below the (resolved) root."""
    try:
        return path.relative_to(project.root).as_posix() if path.is_absolute() else project.rel(path)
    except ValueError:
        return project.rel(path)


def load_migrations(project: Project, paths: list[Path] | None = None) -> list[Migration]:
    """Every migration of the project, parsed and in order. The first bad file raises."""
    paths = migration_paths(project.migrations_dir) if paths is None else paths
    migrations = [read_migration(project, p) for p in paths]
    seen: dict[str, str] = {}
    for m in migrations:
        if m.id in seen:
            raise MigrationError(m.where, f"id {m.id!r} is also used by {seen[m.id]}")
        seen[m.id] = m.where
    return order(migrations)


def collections_of(project: Project, path: Path) -> tuple[str, ...] | None:
    """The collections a migration file touches; None when it cannot be read (then it concerns all)."""
    try:
        return read_migration(project, path).collections
    except MigrationError:
        return None
