"""What one batch of changes means for the task graph: reload it or not, which tasks, in what lanes.

Pure over the graph and the project (no doit, no watcher, no clock), so every rule is a
unit test:

- **Reload** the task list only when the graph's shape may have changed: a file added or
  removed, the config file changed, a Python module's imports changed (its tasks'
  ``file_dep`` are its transitive local imports), a model module declares other document
  collections (one ``db`` task each), a plugin manifest or a migration was edited. Every other change maps straight through
  the reverse index (file → tasks, plus their dependents).
- **Lanes.** A save must not wait for work the browser does not need. The tasks whose outputs
  land in the frontend, plus what they consume, form the first lane; the rest (the Python
  client, migrations, ...) is a follow-up build the loop runs after the first lane has been
  written and Vite told. Nothing names a task kind here: the split follows the outputs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..changes import ChangeKind, Layout, classify
from ..graph import TaskGraph
from ..importgraph import parse_imports
from ..project import Project
from ..tasks.spec import TaskKind
from .changes import ChangeType, FileChange

# Kinds that development.hot_reload.type_generation switches (TypeScript types, client, hooks).
TYPEGEN_KINDS = frozenset({TaskKind.TYPES, TaskKind.TYPES_INDEX, TaskKind.CLIENT, TaskKind.CLIENT_INDEX,
                           TaskKind.HOOKS, TaskKind.HOOKS_INDEX})


@dataclass
class Plan:
    tasks: set[str] = field(default_factory=set)
    lanes: list[set[str]] = field(default_factory=list)


def config_files(project: Project) -> set[Path]:
    """Files whose change re-reads the configuration."""
    out = {project.root / "farm.toml", project.root / "pyproject.toml"}
    if project.config_file is not None:
        out.add(project.config_file.resolve())
    return out


def layout(project: Project) -> Layout:
    return Layout.from_config(project.config, project.config_file.name if project.config_file else None)


def _import_set(source: bytes, module: str, is_package: bool) -> frozenset[tuple[str, tuple[str, ...]]]:
    return frozenset((r.module, r.names) for r in parse_imports(source, module, is_package))


def imports_changed(project: Project, path: Path) -> bool:
    """Did the imports of the local module at ``path`` change since the graph was made?

    A file that does not parse counts as unchanged: its tasks fail with the syntax error, and
    the file_dep stay those of the last good version until it parses again.
    """
    graph = project.graph
    module = graph.by_path.get(path) or graph.by_path.get(path.resolve())
    if module is None:
        return path.suffix == ".py"  # a .py file the graph does not know: look again
    node = graph.nodes[module]
    if node.error is not None:
        return True  # the graph was made while it did not parse: its imports are unknown
    try:
        new = _import_set(path.read_bytes(), module, path.name == "__init__.py")
    except (OSError, SyntaxError, ValueError):
        return False
    return new != frozenset((r.module, r.names) for r in node.refs)


def shapes_graph(project: Project, path: Path) -> bool:
    """Could adding or removing ``path`` change the task list? (A README dropped into the
    backend cannot; a module, a plugin file, a migration or the config can.)"""
    if path.suffix == ".py" or path in config_files(project):
        return True
    return any(path.is_relative_to(d) for d in (*project.plugin_dirs, project.migrations_dir))


def documents_changed(project: Project, graph: TaskGraph, path: Path) -> bool:
    """Did the document models a model module declares (``class Settings: name = ...``) change?
    Each collection is a ``db:<collection>`` task: a new one must exist, a dropped one go."""
    from ..db.files import find_documents

    module = next((m for m in project.models if m.path == path), None)
    if module is None:
        return False
    now = {(d.class_name, d.collection) for d in find_documents([module])[0]}
    before = {(ref.partition(":")[2], spec.meta.get("collection"))
              for spec in graph.specs.values() if spec.kind is TaskKind.DB
              for ref in spec.meta.get("models", ()) if ref.partition(":")[0] == module.name}
    return now != before


def _content_shapes_graph(project: Project, path: Path) -> bool:
    """Files whose *content* decides which tasks exist or what they read: a plugin's manifest
    (its components and router), a migration (the collections it touches)."""
    if path.name == "plugin.json" and any(path.is_relative_to(d) for d in project.plugin_dirs):
        return True
    return path.suffix == ".json" and path.is_relative_to(project.migrations_dir)


def needs_reload(project: Project, changes: Iterable[FileChange], graph: TaskGraph | None = None) -> bool:
    cfg = config_files(project)
    for c in changes:
        if c.path in cfg:
            return True
        if c.kind is not ChangeType.MODIFIED:
            if shapes_graph(project, c.path) or (graph is not None and graph.direct([c.path])):
                return True
            continue
        if c.path.suffix == ".py" and (imports_changed(project, c.path)
                                       or (graph is not None and documents_changed(project, graph, c.path))):
            return True
        if _content_shapes_graph(project, c.path):
            return True
    return False


def spec_signature(graph: TaskGraph, sid: str) -> tuple[object, ...]:
    s = graph.specs[sid]
    return (tuple(sorted(map(str, s.file_dep))), tuple(sorted(map(str, s.targets))), tuple(s.task_dep), s.config)


def changed_specs(old: TaskGraph, new: TaskGraph) -> set[str]:
    """Tasks that are new, or whose inputs, outputs or config differ between two graphs."""
    return {sid for sid in new.specs if sid not in old.specs or spec_signature(old, sid) != spec_signature(new, sid)}


def affected(project: Project, graph: TaskGraph, changes: Iterable[FileChange]) -> set[str]:
    """The tasks a batch of (non-structural) changes makes stale, honouring type_generation settings."""
    tg = project.config.development.hot_reload.type_generation
    lay = layout(project)
    by_kind: dict[ChangeKind, list[Path]] = {}
    for c in changes:
        by_kind.setdefault(classify(project.rel(c.path), lay), []).append(c.path)
    out: set[str] = set()
    for kind, paths in by_kind.items():
        tasks = graph.affected(paths)
        if (kind is ChangeKind.BACKEND_MODEL and not tg.generate_on_model_change) or (
            kind is ChangeKind.BACKEND_ROUTE and not tg.generate_on_route_change
        ):
            tasks = drop_typegen(graph, tasks)
        out |= tasks
    if not tg.enabled:
        out = drop_typegen(graph, out)
    return out


def drop_typegen(graph: TaskGraph, tasks: set[str]) -> set[str]:
    return {t for t in tasks if graph.specs[t].kind not in TYPEGEN_KINDS}


def declared_deferred() -> frozenset[TaskKind]:
    """Kinds a task module declared slow and of no interest to the browser (``farmbuild.tasks.DEFERRED``)."""
    from .. import tasks

    return frozenset(getattr(tasks, "DEFERRED", frozenset()))


def lanes(graph: TaskGraph, tasks: set[str], frontend_root: Path,
          deferred_kinds: frozenset[TaskKind] = frozenset()) -> list[set[str]]:
    """Split ``tasks``: those on the way to a file under ``frontend_root`` first, the rest after.

    When no task of the batch writes into the frontend, tasks of ``deferred_kinds`` (kinds that
    declare themselves slow and of no interest to a browser, e.g. the Python client) and what
    consumes them still go last.
    """
    root = frontend_root  # spec paths and the project paths are absolute and resolved
    front = {t for t in tasks if any(p.is_relative_to(root) for p in graph.specs[t].targets)}
    if front:
        later = tasks - (graph.upstream(front) & tasks)
    else:
        later = graph.downstream({t for t in tasks if graph.specs[t].kind in deferred_kinds}) & tasks
    first = tasks - later
    return [lane for lane in (first, later) if lane]
