"""One build: load config → discover the project → make task specs → run doit → report.

:class:`Session` keeps the project, the task graph and the worker between builds, which is
what ``farm watch`` re-invokes per batch of changes; ``farm build`` uses a session once.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import runner
from .errors import FarmbuildError, UsageError
from .fsutil import remove_inside, sweep_temp_files, write_internal
from .graph import BuildContext, TaskGraph, make_graph
from .lock import ProjectLock
from .metrics import Metric, PerformanceMonitor, effect_metric
from .project import Project, discover
from .recovery import Verdict
from .report import BuildReport, CollectingReporter, TaskResult
from .worker import Worker

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


@dataclass
class BuildOptions:
    tasks: list[str] = field(default_factory=list)
    jobs: int = 0
    always: bool = False
    isolated: bool = False
    # how long to wait for another farmbuild process building this project (None: the lock's own,
    # 120 s for farm build, forever for farm watch; 0: do not wait)
    lock_timeout_s: float | None = None
    # False: run exactly the selected tasks, treating what they read from tasks outside the
    # selection as plain files (a producer whose output is missing still runs). farm watch
    # selects every task a change can affect, so the rest is up to date by construction, and
    # doit need not check hundreds of producers of an index file on every save.
    upstream: bool = True


class Session:
    """A project, its task graph and its worker, reusable across builds."""

    def __init__(self, root: Path, *, isolated: bool = False, worker: Worker | None = None,
                 lock_what: str = "farm build", side_effects: bool = True) -> None:
        self.root = root
        self.isolated = isolated
        self.side_effects = side_effects
        self._given_worker = worker
        self.project: Project = discover(root)
        self.ctx = BuildContext(self.project, worker=worker, isolated=isolated, side_effects=side_effects)
        self.graph: TaskGraph = make_graph(self.ctx)
        self.lock = ProjectLock(self.project.state_dir, what=lock_what)
        self._cleaned_for: TaskGraph | None = None
        # a build that had to wait for another process re-reads the project first: the other one
        # may have written inputs of this one (a new migration) or outputs it would call stale.
        # farm watch turns this off: it sees those writes as file events and reloads on its own
        self.reload_after_wait = True
        self.monitor = PerformanceMonitor(
            self.project.state_dir, self.project.config.development.hot_reload.performance.slow_reload_threshold_ms)

    def reload(self) -> None:
        """Re-read config and sources and rebuild the task graph (files added/removed, config changed)."""
        worker = self.ctx._worker if not self.isolated else self._given_worker
        self.project = discover(self.project.root)
        self.ctx = BuildContext(self.project, worker=worker, isolated=self.isolated, side_effects=self.side_effects)
        self.graph = make_graph(self.ctx)
        self.monitor.slow_threshold_ms = self.project.config.development.hot_reload.performance.slow_reload_threshold_ms

    def resolve_selection(self, names: list[str]) -> list[str]:
        """Task names/globs as given → doit task names; unknown names are a usage error."""
        out: list[str] = []
        basenames = {s.split(":", 1)[0] for s in self.graph.specs}
        for name in names:
            if name in self.graph.specs or name in basenames:
                out.append(name)
                continue
            matched = [s for s in self.graph.specs if fnmatch.fnmatchcase(s, name)]
            if not matched:
                raise UsageError(f"unknown task {name!r}; `farm list` shows the tasks of this project")
            out.extend(matched)
        return out

    def _cleanup_stale(self) -> list[str]:
        """Delete files a previous build generated that no task produces any more.

        Once per task graph: ``farm watch`` rebuilds many times with the same graph, and the
        answer only changes when the graph does (after :meth:`reload`).
        """
        if self._cleaned_for is self.graph:
            return []
        manifest = self.project.state_dir / MANIFEST
        root = self.project.root
        current = sorted({_rel_fast(root, t) or self.project.rel(t) for t in self.graph.targets})
        try:
            previous = json.loads(manifest.read_text("utf-8")).get("targets", [])
        except (OSError, ValueError, AttributeError):
            previous = []
        removed = []
        for rel in sorted(set(previous) - set(current)):
            try:
                if remove_inside(self.project.root, self.project.root / rel):
                    removed.append(rel)
            except FarmbuildError as exc:
                log.warning("%s", exc)
        write_internal(manifest, json.dumps({"targets": current}, indent=1) + "\n")
        self._cleaned_for = self.graph
        return removed

    def build(self, options: BuildOptions | None = None,
              on_result: Callable[[TaskResult], None] | None = None) -> BuildReport:
        options = options or BuildOptions()
        start = time.perf_counter()
        selected = self.resolve_selection(options.tasks) if options.tasks else None
        if options.lock_timeout_s is not None:
            self.lock.timeout_s = options.lock_timeout_s
        with self.lock:
            if self.lock.waited and self.lock.depth == 1 and self.reload_after_wait:
                log.debug("another process built this project while this build waited: re-reading it")
                self.reload()
                selected = self.resolve_selection(options.tasks) if options.tasks else None
            self.lock.waited = False
            errors: list[str] = []
            # a killed process leaves the temporary file of the write it was in: its own state
            # files are written outside the lock too (a parse cache, metrics), so .farm is looked at
            # every time; the rest only when the last build died holding the lock
            interrupted, self.lock.interrupted = self.lock.interrupted, False
            swept = sweep_temp_files(temp_dirs(self.project, self.graph) if interrupted
                                     else [self.project.state_dir, self.project.state_dir / "cache"])
            if swept:
                log.info("removed %d temporary file%s a killed build left", len(swept), "s" if len(swept) != 1 else "")
            note = runner.check_db(self.project.root)
            if note:
                log.warning("%s", note)
            removed = self._cleanup_stale()
            self.ctx.records.clear()
            self.ctx.effects.clear()
            worker = self.ctx.worker()  # not started until a task needs it
            worker.begin_build()
            reporter = CollectingReporter(set(self.graph.specs), on_result=self._enrich(on_result))
            # doit only needs the selected tasks and what they consume: loading all of a large
            # graph for a one-module rebuild would cost more than the rebuild (farm watch)
            load = self._load(selected, options.upstream) if selected else None
            try:
                code = runner.run(self.graph, self.ctx, selected, reporter, jobs=options.jobs, always=options.always,
                                  load=load)
            finally:
                worker.end_build()
                if self.isolated:
                    worker.close()
                runner.remember_db(self.project.root)
            # 1: a task failed; 2: also when a group task's subtask failed (UnmetDependency)
            errors.extend(reporter.runtime_errors)
            if code >= 3 or (code == 2 and not any(r.status == "failed" for r in reporter.results.values())):
                if not errors:
                    errors.append(f"doit stopped with exit code {code}")
            results = [reporter.results[i] for i in self.graph.ordered(reporter.results)]
            effects = list(self.ctx.effects)
            now = time.time()
            # under the lock: two processes appending (and trimming) at once would garble the file
            self.monitor.record([
                *(Metric(r.id, r.id.split(":", 1)[0], round(r.duration_s * 1000, 2), r.status == "ran", now)
                  for r in results if r.status in ("ran", "failed")),
                # nobody listening is not measured (a bare machine); farm watch records it when it counts
                *(effect_metric(e, now) for e in effects if e.verdict is not Verdict.UNREACHABLE),
            ])
        return BuildReport(results, time.perf_counter() - start, removed, errors, effects)

    def _load(self, selected: list[str], upstream: bool) -> set[str]:
        wanted = {t for name in selected for t in self.graph.expand(name)}
        if upstream:
            return self.graph.upstream(wanted)
        load = set(wanted)
        stack = list(wanted)
        while stack:  # task_dep must be loaded; so must a producer whose output is not there
            spec = self.graph.specs[stack.pop()]
            needed = {t for dep in spec.task_dep for t in self.graph.expand(dep)}
            for f in spec.file_dep:
                producer = self.graph.producer_of(f)
                if producer is not None and not f.exists():
                    needed.add(producer)
            for t in needed - load:
                load.add(t)
                stack.append(t)
        return load

    def _enrich(self, on_result: Callable[[TaskResult], None] | None) -> Callable[[TaskResult], None]:
        """Fill a result from the action's own record (written files, structured error)."""

        def enrich(result: TaskResult) -> None:
            rec = self.ctx.records.get(result.id)
            if rec is not None:
                result.written = rec.written
                if rec.error is not None:
                    result.error = str(rec.error)
                    result.file = getattr(rec.error, "file", None)
                    result.line = getattr(rec.error, "line", None)
            if on_result:
                on_result(result)

        return enrich

    def close(self) -> None:
        if self.ctx.has_worker and self._given_worker is None:
            self.ctx.worker().close()


def temp_dirs(project: Project, graph: TaskGraph) -> set[Path]:
    """Where atomic writes of a build may have left temporary files: beside every target,
    anywhere in ``.farm/``, and in the migrations folder."""
    dirs = {t.parent for t in graph.targets} | {project.migrations_dir}
    for dirpath, _dirnames, _files in os.walk(project.state_dir):
        dirs.add(Path(dirpath))
    return dirs


def _rel_fast(root: Path, path: Path) -> str | None:
    """``path`` relative to ``root`` without resolving (task paths are absolute and resolved)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def build(root: Path, options: BuildOptions | None = None,
          on_result: Callable[[TaskResult], None] | None = None) -> BuildReport:
    """One ``farm build``."""
    session = Session(root, isolated=True)
    try:
        return session.build(options, on_result)
    finally:
        session.close()
