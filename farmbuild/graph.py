"""The task graph: specs from every kind, indexes over them, and the build context the
task actions run in."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import secrets
from .errors import FarmbuildError, UserCodeError
from .project import Project
from .recovery import Effect, Key, classify
from .tasks import KINDS
from .tasks.spec import TaskSpec
from .worker import Worker, shared_worker

log = logging.getLogger(__name__)


@dataclass
class TaskRecord:
    """What one task execution did (filled in by the action wrapper)."""

    id: str
    kind: str
    duration_s: float
    written: list[str]
    error: FarmbuildError | None
    md5: dict[str, str] = field(default_factory=dict)  # project-relative target -> md5 of what it holds now


class BuildContext:
    """What task actions can reach: the project, the worker, and a record of what they did."""

    def __init__(self, project: Project, *, worker: Worker | None = None, isolated: bool = False,
                 side_effects: bool = True) -> None:
        self.project = project
        self.isolated = isolated
        # False in `farm build --check`: tasks that act on the outside world (applying migrations
        # to MongoDB, pulling models, notifying dev servers) do nothing in a scratch build.
        self.side_effects = side_effects
        self._worker = worker
        self.records: dict[str, TaskRecord] = {}
        # project-relative target -> md5, of up-to-date tasks whose targets doit found intact in this
        # build: still what farmbuild wrote (a build killed before it noted them must not forget it)
        self.intact: dict[str, str] = {}
        self._side_written: dict[str, list[str]] = {}
        # every try of a side effect in the current build (Ollama, the backend, MongoDB): the build
        # report carries them, the metrics count them, farm watch schedules retries from them
        self.effects: list[Effect] = []
        self._lock = threading.Lock()

    def note_written(self, task_id: str, path: Path) -> None:
        """A side-effect task wrote a source file (a migration): it is reported like a target, so
        ``farm watch`` knows the file's event for its own write and does not rebuild for it."""
        with self._lock:
            self._side_written.setdefault(task_id, []).append(self.project.rel(path))

    def take_written(self, task_id: str) -> list[str]:
        with self._lock:
            return self._side_written.pop(task_id, [])

    def worker(self) -> Worker:
        if self._worker is None:
            cfg = self.project.config.worker
            self._worker = shared_worker(
                self.project.sys_path,
                [self.project.backend_root, *self.project.plugin_dirs],
                self.project.root,
                timeout_s=cfg.timeout_s,
                max_memory_mb=cfg.max_memory_mb,
                max_source_bytes=self.project.graph.max_source_bytes,
            )
        return self._worker

    @property
    def has_worker(self) -> bool:
        return self._worker is not None

    def effect(self, task: str, component: str, op: str, error: BaseException | None = None, *,
               duration_s: float = 0.0) -> None:
        """Note one try of a side effect; ``error`` None means it worked.

        Tasks never retry in place (a cooldown would hold up every other task of the build); they
        try once, report here, and leave their state pending (see :mod:`farmbuild.recovery`).
        """
        eff = Effect(task, Key(component, op), error is None, None if error is None else classify(error),
                     "" if error is None else str(error), duration_s)
        with self._lock:
            self.effects.append(eff)

    def record(self, spec: TaskSpec, duration_s: float, written: list[str], error: FarmbuildError | None,
               md5: dict[str, str] | None = None) -> None:
        if error is not None:
            # user code may quote a secret in its error (a settings loader echoing its input): every
            # report, terminal line and overlay message is made from this record
            secrets.scrub_error(error)
        if isinstance(error, UserCodeError) and getattr(error, "kind", None) == "circular" and error.file:
            cycle = self._cycle_for(error.file)
            if cycle:
                error.hint = "circular import: " + " -> ".join(cycle)
                error.message = f"{error.file}:{error.line}: {error.problem} ({error.hint})" if error.line else error.message
        with self._lock:
            self.records[spec.id] = TaskRecord(spec.id, spec.kind.value, duration_s, written, error, md5 or {})

    def _cycle_for(self, rel: str) -> list[str] | None:
        mod = self.project.graph.by_path.get((self.project.root / rel).resolve())
        return self.project.graph.find_cycle(mod) if mod else None


@dataclass
class TaskGraph:
    specs: dict[str, TaskSpec]
    _by_file: dict[Path, set[str]] = field(default_factory=dict)
    _by_target: dict[Path, str] = field(default_factory=dict)
    _dependents: dict[str, set[str]] = field(default_factory=dict)
    _producers: dict[str, set[str]] | None = None
    _deps_resolved: dict[str, tuple[Path, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # spec paths are absolute and already resolved (they are built from the resolved project
        # root); resolving 30k file_deps again would dominate a no-op build at 500 modules
        for sid, spec in self.specs.items():
            for t in spec.targets:
                self._by_target[t] = sid
        for sid, spec in self.specs.items():
            self._deps_resolved[sid] = tuple(spec.file_dep)
            for f in spec.file_dep:
                self._by_file.setdefault(f, set()).add(sid)
                producer = self._by_target.get(f)
                if producer:
                    self._dependents.setdefault(producer, set()).add(sid)
            for dep in spec.task_dep:
                for target in self._expand(dep):
                    self._dependents.setdefault(target, set()).add(sid)

    def expand(self, name: str) -> list[str]:
        """A task id, or a basename standing for its subtasks (doit's group task), as task ids."""
        return self._expand(name)

    def _expand(self, name: str) -> list[str]:
        if name in self.specs:
            return [name]
        return [s for s in self.specs if s.split(":", 1)[0] == name]

    @property
    def targets(self) -> set[Path]:
        return set(self._by_target)

    def producer_of(self, path: Path) -> str | None:
        """The task generating ``path`` (absolute and resolved, as in specs; no resolving here)."""
        return self._by_target.get(path)

    def producer(self, path: Path) -> str | None:
        return self._by_target.get(Path(path).resolve())

    def direct(self, paths: Iterable[Path]) -> set[str]:
        """Tasks that have one of ``paths`` as a file_dep (the reverse index)."""
        out: set[str] = set()
        for p in paths:
            out |= self._by_file.get(Path(p).resolve(), set())
        return out

    def downstream(self, task_ids: Iterable[str]) -> set[str]:
        """The tasks and everything that (transitively) consumes their targets or depends on them."""
        seen = set(task_ids)
        stack = list(seen)
        while stack:
            for d in self._dependents.get(stack.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    stack.append(d)
        return seen

    def affected(self, paths: Iterable[Path]) -> set[str]:
        return self.downstream(self.direct(paths))

    def upstream(self, task_ids: Iterable[str]) -> set[str]:
        """The tasks and everything they (transitively) consume or depend on: what doit may run for them."""
        if self._producers is None:
            producers: dict[str, set[str]] = {}
            for sid, deps in self._dependents.items():
                for d in deps:
                    producers.setdefault(d, set()).add(sid)
            self._producers = producers
        seen = set(task_ids)
        stack = list(seen)
        while stack:
            for p in self._producers.get(stack.pop(), ()):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen

    def sources(self, task_ids: Iterable[str]) -> set[Path]:
        """The file_dep of ``task_ids`` that no task generates (hand-written inputs), resolved."""
        out: set[Path] = set()
        for sid in task_ids:
            out.update(f for f in self._deps_resolved.get(sid, ()) if f not in self._by_target)
        return out

    def ordered(self, ids: Iterable[str]) -> list[str]:
        """``ids`` in graph order (producers before consumers), for display."""
        wanted = set(ids)
        return [s for s in self.specs if s in wanted]


def make_graph(ctx: BuildContext) -> TaskGraph:
    specs: dict[str, TaskSpec] = {}
    for kind in KINDS:
        for spec in kind(ctx):
            if spec.id in specs:
                raise FarmbuildError(f"two tasks are named {spec.id}; rename one of the modules behind them")
            specs[spec.id] = spec
    return TaskGraph(specs)
