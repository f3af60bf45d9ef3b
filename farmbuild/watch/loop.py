"""The ``farm watch`` loop: batches of touched paths in, incremental builds and notifications out.

One *cycle* per batch::

    touched paths ──► content hashes ──► reload graph? ──► affected tasks ──► lanes ──► doit (in process)
    (any source)      (drop touches,      (added/removed,    (reverse index)     (frontend   │
                       atomic saves)       config, imports)                       first)     └─► Vite event / overlay

Guarantees, each one tested:

- **Never dropped.** Paths submitted while a build runs are queued and handled together by
  the next cycle. doit hashes a task's inputs *after* it runs (doit issue 119), so an input
  edited while its task ran would be recorded as built: the loop stats every hand-written
  input of the build before and after, and when one moved it makes doit forget the tasks
  reading it and looks at the file again.
- **A burst is two builds.** A branch switch rewrites a thousand files over seconds; the source
  says when it cut a batch at its cap (the disk is busy). The first such batch is built, the
  rest wait for the quiet that ends the burst and are built together (:meth:`WatchLoop._hold_burst`).
- **Never woken by itself.** Generated files are not watched (narrow roots + filter), and
  anything a build writes is remembered in the content tracker, so its event is no change.
- **Never dies of user error.** A failing task, an invalid farm.toml or a project that stops
  making sense is reported (terminal and Vite's overlay), the last good outputs stay, and the
  loop waits for the next save. The overlay stays until every failing task passed again.
- **Frontend first.** The tasks on the way to frontend files run, and Vite is told, before the
  rest of the affected tasks (see :mod:`farmbuild.watch.plan`); if new changes are waiting by
  then, the rest joins the next cycle instead of delaying it.
- **Side effects recover, without holding anything up.** A task tries a side effect once (an AI
  swap, an Ollama pull, a migration apply, a plugin reload) and reports it (``BuildReport.effects``);
  so does the loop's own Vite notification. A transient failure is scheduled for a retry after the
  cooldown (:class:`farmbuild.recovery.Recovery`); the build goes on and the retry runs later, as
  a small build of that task alone (``always``) or a resend of the merged Vite event, when nothing
  else is waiting. After ``max_retries`` a supervised server is restarted (``--serve``), else the
  loop gives up until the next save. One :class:`RecoveryEvent` per decision.

Harnesses drive the loop with a :class:`~farmbuild.watch.source.ScriptedSource` and observe
:class:`BuildEvent` through ``on_event`` (monotonic timestamps of the batch and of the build).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import runner
from ..build import BuildOptions, Session
from ..errors import ConfigError, FarmbuildError
from ..graph import TaskGraph
from ..metrics import effect_metric
from ..recovery import Action, Decision, Effect, Key, Recovery, Settings, Verdict
from ..report import BuildReport, TaskResult
from . import plan
from .changes import ChangeType, ContentTracker, FileChange
from .filter import WatchFilter
from .notify import Delivery, Notifier, merge_events, vite_event
from .source import Roots, ScriptedSource, Source

log = logging.getLogger(__name__)


# -- what the loop reports -----------------------------------------------------------

@dataclass
class Ready:
    """The initial build is done and the watcher is in place."""

    roots: Roots


@dataclass
class BuildEvent:
    """One build (one lane of a cycle)."""

    cycle: int
    lane: int  # 0 = the first (frontend) lane, 1 = the follow-up
    lanes: int
    changes: list[FileChange]
    report: BuildReport
    notified: list[str] = field(default_factory=list)
    batch_at: float = 0.0  # monotonic: when the first path of the batch was submitted
    started_at: float = 0.0
    finished_at: float = 0.0
    reloaded: bool = False
    retried: bool = False  # the build ran because an input moved during the previous one
    recovery: bool = False  # a retry of side effects that failed (farmbuild.recovery), not a save

    @property
    def written(self) -> list[str]:
        return self.report.written


@dataclass
class ErrorEvent:
    """The cycle could not build at all (invalid config, a project that no longer resolves, lock timeout)."""

    cycle: int
    changes: list[FileChange]
    error: FarmbuildError


@dataclass
class RecoveryEvent:
    """A decision about a failed side effect: retry at T, restart a server, give up, recovered."""

    cycle: int
    decision: Decision
    task: str = ""  # the task that tried ("ai", "db-apply"), "" for the Vite notification


@dataclass
class Deferred:
    """Follow-up tasks postponed because new changes were waiting."""

    cycle: int
    tasks: set[str]


Event = Ready | BuildEvent | ErrorEvent | Deferred | RecoveryEvent

VITE_NOTIFY = Key("vite", "notify")
_RETRY = object()  # _next_batch: a retry is due


def watch_roots(session: Session) -> Roots:
    """Narrow roots: the backend package, model/route/AI dirs, plugin dirs, migrations (recursive);
    the project root and the directory of any other hand-written input (flat)."""
    project = session.project
    cfg = project.config
    backend = project.backend_root
    rec: set[Path] = set()
    top = backend / project.app_module().split(".")[0]
    if top.is_dir():
        rec.add(top)
    for d in [*cfg.backend.models, *cfg.backend.routes]:
        rec.add((backend / d).resolve())
    if project.ai_dir is not None:
        rec.add(project.ai_dir)
    rec.update(project.plugin_dirs)
    rec.add(project.migrations_dir)
    for wp in cfg.development.hot_reload.watch:
        rec.add(_static_prefix(project.root, wp.pattern))
    rec = {r.resolve() for r in rec if r.resolve().is_relative_to(project.root)}
    rec = {r for r in rec if not any(r != o and r.is_relative_to(o) for o in rec)}
    flat: set[Path] = {project.root}
    for src in session.graph.sources(session.graph.specs):
        if src.is_relative_to(project.root) and not any(src.is_relative_to(r) for r in rec):
            flat.add(src.parent)
    return Roots(tuple(sorted(rec)), tuple(sorted(flat)))


def _static_prefix(root: Path, pattern: str) -> Path:
    parts = []
    for part in Path(pattern).parts:
        if any(ch in part for ch in "*?["):
            break
        parts.append(part)
    p = root.joinpath(*parts) if parts else root
    return p if not p.suffix else p.parent


def _stat(paths: Iterable[Path]) -> dict[Path, tuple[int, int, int] | None]:
    out: dict[Path, tuple[int, int, int] | None] = {}
    for p in paths:
        try:
            st = os.stat(p)
            out[p] = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            out[p] = None
    return out


class WatchLoop:
    """Re-invokes a :class:`~farmbuild.build.Session` per batch of changes; see the module docstring."""

    def __init__(self, session: Session, *, source: Source | None = None, notifier: Notifier | None = None,
                 on_event: Callable[[Event], None] | None = None, use_lanes: bool = True,
                 initial_build: bool = True, clock: Callable[[], float] = time.monotonic,
                 recovery: Recovery | None = None, restart: Callable[[str], object] | None = None,
                 on_save: Callable[[], None] | None = None) -> None:
        """``recovery``: the retry policy and state (shared with the supervised servers; its own
        clock); ``restart(server)``: restart a supervised server (``farm watch --serve``) as the
        fallback; ``on_save``: called when a save changed something (revives given-up servers)."""
        self.session = session
        self.source: Source = source if source is not None else ScriptedSource()
        self.notifier = notifier
        self.on_event = on_event
        self.use_lanes = use_lanes
        self.initial_build = initial_build
        self.clock = clock
        # another farm build/doit may hold the project lock for long (a cold build): wait for it,
        # however long, rather than give up on a save (Ctrl-C still stops the wait)
        session.lock.timeout_s = float("inf")
        session.reload_after_wait = False  # what another build changed arrives as file events
        hr = session.project.config.development.hot_reload
        # how long a deleted source may take to reappear before its deletion is built (an editor
        # that renames the file away and writes the new one slowly: a big file, a network disk).
        # Deleting a module is rare and deliberate; tearing down its generated files in the
        # middle of a save is what the user would see (Vite's overlay, a 404 from the backend)
        self.grace_s = max(hr.debounce_ms / 1000, 1.0)
        self.tracker = ContentTracker()
        self.roots = Roots()
        self._watched: set[Path] = set()  # directories the source watches
        self.filter = WatchFilter(session.project.root)
        self.cycle = 0
        self.failing: dict[str, TaskResult] = {}
        self.deferred: set[str] = set()
        self._reload_error: FarmbuildError | None = None
        self._vite_errors: tuple[tuple[str, str], ...] | None = ()  # what Vite was last told (None: unknown)
        self._cv = threading.Condition()
        self._pending: set[Path] = set()
        self._pending_at: float | None = None
        self._retry: set[Path] = set()  # inputs that moved during a build
        self._disk_busy = False  # the source closed its last batch at the cap: more is coming
        self._burst_since = 0.0
        self._burst_taken = 0  # batches taken for a build since the disk became busy
        # how long later batches of one burst may wait for its end (see _hold_burst)
        self.burst_hold_s = max(10.0, 10 * hr.max_batch_ms / 1000)
        self._stopping = False
        self._resend = False
        self._busy = True  # building (or about to): False only while waiting for a batch with none queued
        self.running = threading.Event()
        self.recovery = recovery if recovery is not None else Recovery(Settings.from_config(hr))
        self.restart = restart
        self.on_save = on_save
        self._retry_tasks: dict[Key, set[str]] = {}  # what to run again when a key's retry is due
        self._vite_backlog: dict[str, Any] | None = None  # an event Vite did not get, to merge into the next
        self._vite_tries = 0
        self._vite_failed_cycle = -1  # the cycle whose event Vite did not take
        self._decisions: list[RecoveryEvent] = []

    # -- input -----------------------------------------------------------------------

    def submit(self, paths: Iterable[Path], *, busy: bool | None = None) -> None:
        """Queue touched paths (thread-safe; any thread, any time, including during a build).

        ``busy`` is the source's word on the disk: True when it closed the batch at its cap while
        changes kept coming (a checkout, a formatter run over the tree), False once it saw a
        quiet window; None (the loop's own submissions) says nothing. See :meth:`_hold_burst`.
        """
        paths = {Path(p) for p in paths}
        with self._cv:
            if busy is not None:
                if busy and not self._disk_busy:
                    self._burst_since, self._burst_taken = self.clock(), 0
                self._disk_busy = busy
            elif not paths:
                return
            if paths:
                self._pending |= paths
                if self._pending_at is None:
                    self._pending_at = self.clock()
            self._cv.notify_all()

    def stop(self) -> None:
        """Ask the loop to return after the current build (thread-safe)."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()

    def resend_state(self) -> None:
        """Tell Vite the current error state again (e.g. it just (re)started)."""
        with self._cv:
            self._resend = True
            self._cv.notify_all()

    def wait_settled(self, timeout: float) -> bool:
        """Block until the loop waits for changes with none queued: every path submitted so far
        has been built (harnesses: "the saves so far are done"). False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._busy or self._pending or self._resend:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cv.wait(remaining)
        return True

    def server_ready(self, name: str) -> None:
        """A supervised server is (back) up (thread-safe): Vite hears the current state, and the
        retries waiting for that server (after a fallback restart, or cooling down) run now."""
        self.recovery.server_ready(name)
        with self._cv:
            if name == "web":
                self._resend = True
            self._cv.notify_all()

    def _retry_due(self) -> bool:
        due = self.recovery.next_due()
        return due is not None and due <= self.recovery.clock()

    def _wait_s(self) -> float:
        due = self.recovery.next_due()
        if due is None:
            return 0.25
        return min(0.25, max(0.005, due - self.recovery.clock()))

    def _has_pending(self) -> bool:
        with self._cv:
            return bool(self._pending) or self._stopping

    def _take(self) -> tuple[set[Path], float | None]:
        paths, at = self._pending, self._pending_at
        self._pending, self._pending_at = set(), None
        if self._disk_busy and paths:
            self._burst_taken += 1
        return paths, at

    def _hold_burst(self) -> None:
        """During a burst (a branch switch: a thousand files over seconds), build once, then wait
        for its end: the source's cap closes a batch every ``max_batch_ms`` while the disk is busy,
        and building each of them would mean a build per second against trees that never
        existed in any commit. The first batch of a burst is built at once (a save is never held
        back by a quiet window it cannot get), the rest together when the disk goes quiet, or
        after ``burst_hold_s`` if it never does (a process writing into a watched folder for
        good). Called with the condition held."""
        if not (self._disk_busy and self._burst_taken):
            return
        deadline = self._burst_since + self.burst_hold_s
        log.debug("the disk is busy (%d batch(es) so far): waiting for the burst to end", self._burst_taken)
        while self._disk_busy and not self._stopping and (remaining := deadline - self.clock()) > 0:
            self._cv.wait(remaining)
        if self._disk_busy:  # held long enough: build what came, then hold the next ones again
            self._burst_since = self.clock()

    def _next_batch(self) -> tuple[set[Path], float] | object | None:
        while True:
            with self._cv:
                if not self._pending and not self._resend and not self._retry_due():
                    self._busy = False
                    self._cv.notify_all()
                while not self._pending and not self._stopping and not self._resend and not self._retry_due():
                    self._cv.wait(self._wait_s())
                self._busy = True
                if self._stopping:
                    return None
                resend, self._resend = self._resend, False
                if not resend:
                    if not self._pending:
                        return _RETRY  # saves come first; a due retry runs when none is waiting
                    self._hold_burst()
                    if self._stopping:
                        return None
                    paths, at = self._take()
                    break
            self._notify_frontend_state()
            self._flush_decisions()
        deleted = [c.path for c in self.tracker.peek(paths) if c.kind is ChangeType.DELETED]
        if deleted:
            # an atomic save split across batches looks like a deletion: give the file a moment
            # to reappear (and its event to arrive), no longer
            deadline = self.clock() + self.grace_s
            with self._cv:
                while not self._stopping and (remaining := deadline - self.clock()) > 0:
                    if all(p in self._pending and p.exists() for p in deleted):
                        break
                    self._cv.wait(remaining)
                more, _ = self._take()
            paths |= more
        return paths, at if at is not None else self.clock()

    # -- the loop --------------------------------------------------------------------

    def run(self) -> None:
        """Watch and rebuild until :meth:`stop` (or KeyboardInterrupt in the calling thread)."""
        try:
            self._apply_roots(force=True)
            self.tracker.seed([*self.roots.recursive])
            self.tracker.seed(p for d in self.roots.flat for p in _files_in(d) if self.filter.accepts(p))
            if self.initial_build:
                self._cycle_tasks(set(self.session.graph.specs), [], self.clock(), reloaded=False)
            self.running.set()
            self._emit(Ready(self.roots))
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                try:
                    if batch is _RETRY:
                        self._run_retries()
                    else:
                        assert isinstance(batch, tuple)
                        self._process(*batch)
                    self._flush_decisions()
                except FarmbuildError as exc:
                    self._emit(ErrorEvent(self.cycle, [], exc))
                except Exception as exc:  # noqa: BLE001 - a bug in farmbuild must not end the session
                    log.debug("watch cycle %d crashed", self.cycle, exc_info=True)
                    self._emit(ErrorEvent(self.cycle, [], FarmbuildError(
                        f"internal error {type(exc).__name__}: {exc} (run with -v for the traceback)")))
        finally:
            self.running.clear()
            with self._cv:
                self._busy = False
                self._cv.notify_all()
            try:
                self.source.stop()
            except Exception:  # noqa: BLE001 - stopping must not mask the reason we stop
                log.debug("stopping the watcher failed", exc_info=True)

    def _apply_roots(self, *, force: bool = False) -> None:
        """Make the filter and the watched directories match the current task graph.

        Directories are only ever added to the watch, never re-watched: stopping a watcher
        loses the events it collected but had not delivered yet.
        """
        project = self.session.project
        ignore = [g for wp in project.config.development.hot_reload.watch for g in wp.ignore]
        self.filter = WatchFilter(project.root, generated=self.session.graph.targets, ignore_globs=ignore)
        self.tracker.keep = self.filter.accepts
        roots = watch_roots(self.session)
        if force:
            self.roots = roots
            self.source.start(self.submit, roots, self._accept)
            self._watched = {r for r in (*roots.recursive, *roots.flat) if r.exists()}
            return
        rec = tuple(r for r in roots.recursive if r.exists() and r not in self._watched
                    and not any(r.is_relative_to(w) for w in self._watched if w in self.roots.recursive))
        flat = tuple(r for r in roots.flat if r.exists() and r not in self._watched)
        self.roots = roots
        if rec or flat:
            log.debug("watching %s too", ", ".join(project.rel(p) for p in (*rec, *flat)))
            self.source.add(Roots(rec, flat))
            self._watched.update(rec + flat)
            # a directory watched from now on may already hold sources nobody has seen (a new
            # plugin folder): look at it like at any touched path (generated files are filtered)
            if rec:
                self.submit(rec)

    def _unwatched(self) -> bool:
        return any(r.exists() and r not in self._watched for r in (*self.roots.recursive, *self.roots.flat))

    def _accept(self, path: Path) -> bool:
        """The filter sources apply (always the current one: a reload changes the generated files)."""
        return self.filter.accepts(path)

    def _process(self, paths: set[Path], batch_at: float) -> None:
        retried = bool(paths & self._retry)
        self._retry -= paths
        changes = self.tracker.observe(paths)
        if not changes:
            log.debug("no content changed in %d touched path(s)", len(paths))
            if self.deferred:
                # a follow-up lane waited for this batch, which turned out to change nothing
                # (often the build's own writes): run it now, as part of the cycle it came from,
                # rather than at the next real save
                self._cycle_tasks(set(), [], batch_at, reloaded=False)
            return
        self.cycle += 1
        if self.on_save is not None:
            self.on_save()  # a server that gave up gets one more start with this save
        project = self.session.project
        cfg_files = plan.config_files(project)
        recovering = self._reload_error is not None
        reload = recovering or plan.needs_reload(project, changes, self.session.graph)
        cleanup = False
        if reload:
            old = self.session.graph
            try:
                self.session.reload()
            except FarmbuildError as exc:
                self._reload_error = exc
                self._notify_frontend_state(changed=[project.rel(c.path) for c in changes])
                self._emit(ErrorEvent(self.cycle, changes, exc))
                return
            self._reload_error = None
            self.recovery.configure(Settings.from_config(self.session.project.config.development.hot_reload))
            self._apply_roots()
            new = self.session.graph
            if recovering or any(c.path in cfg_files for c in changes):
                # a config change, or saves made while the project did not load: let doit's
                # signatures decide which tasks really rerun
                tasks = set(new.specs)
            else:
                tasks = plan.affected(self.session.project, new, changes) | new.downstream(plan.changed_specs(old, new))
            self.failing = {k: v for k, v in self.failing.items() if k in new.specs}
            if old.targets - new.targets:
                cleanup = True  # a task went away: the build deletes what it generated
        else:
            tasks = plan.affected(project, self.session.graph, changes)
        self._cycle_tasks(tasks, changes, batch_at, reloaded=reload, retried=retried, cleanup=cleanup)

    def _cycle_tasks(self, tasks: set[str], changes: list[FileChange], batch_at: float, *,
                     reloaded: bool, retried: bool = False, cleanup: bool = False) -> None:
        graph = self.session.graph
        tasks = set(tasks) | self.deferred & set(graph.specs)
        self.deferred.clear()
        if not tasks and cleanup:
            self._build(set(), changes, batch_at, 0, 1, reloaded=reloaded, retried=retried)
            return
        if not tasks:
            log.debug("cycle %d: no task reads %s", self.cycle, ", ".join(self.session.project.rel(c.path) for c in changes))
            return
        if self.use_lanes:
            lanes = plan.lanes(graph, tasks, self.session.project.frontend_root, plan.declared_deferred())
        else:
            lanes = [tasks]
        for i, lane in enumerate(lanes):
            if i > 0 and self._has_pending():
                self.deferred |= lane
                self._emit(Deferred(self.cycle, lane))
                return
            self._build(lane, changes, batch_at, i, len(lanes), reloaded=reloaded, retried=retried)

    def _order(self, graph: TaskGraph, tasks: set[str]) -> list[str]:
        """The order doit is given the lane's tasks in (it runs each one's producers right before it).

        Tasks writing into the frontend first, in graph order (schema, types, types-index, ...,
        client, hooks): a model's TypeScript lands right after its schema, not after every
        OpenAPI fragment and client of the batch (Vite picks generated files up from the disk).
        """
        root = self.session.project.frontend_root
        ordered = graph.ordered(tasks)
        front = [t for t in ordered if any(p.is_relative_to(root) for p in graph.specs[t].targets)]
        seen = set(front)
        return front + [t for t in ordered if t not in seen]

    def _build(self, tasks: set[str], changes: list[FileChange], batch_at: float, lane: int, lanes: int, *,
               reloaded: bool, retried: bool, recovery: bool = False) -> None:
        session = self.session
        graph = session.graph
        project = session.project
        closure = graph.upstream(tasks)
        inputs = graph.sources(closure)
        before = _stat(inputs)
        started = self.clock()
        try:
            # an empty selection (a reload removed tasks, nothing else to do) means "all": doit checks,
            # and the build deletes the outputs of the tasks that went away
            # a retry runs its tasks even if doit thinks them done (the ai task succeeds with its
            # change left pending): a retry is a try
            report = session.build(BuildOptions(tasks=self._order(graph, tasks), upstream=False, always=recovery))
        except FarmbuildError as exc:  # the lock timed out, a corrupt state we could not repair...
            self.deferred |= tasks  # not dropped: they run with the next cycle
            self._emit(ErrorEvent(self.cycle, changes, exc))
            return
        finished = self.clock()
        moved = [p for p, st in _stat(inputs).items() if st != before.get(p)]
        if moved:
            stale = sorted(graph.direct(moved) & closure)
            log.debug("inputs changed during the build: %s; forgetting %s", [project.rel(p) for p in moved], stale)
            with session.lock:
                runner.forget(project.root, stale)
            self._retry.update(moved)
            self.submit(moved)
        for rel in report.written:
            path = project.root / rel
            if self.filter.accepts(path) or path in self.tracker:
                self.tracker.remember(path)  # our own write: its event is no change
        for r in report.results:
            if r.status == "failed":
                self.failing[r.id] = r
            elif r.status in ("ran", "up-to-date"):
                self.failing.pop(r.id, None)
        if self._unwatched():
            self._apply_roots()  # a directory to watch appeared (the first migration, a plugins/ dir)
        self._handle_effects(report.effects, recovery=recovery)
        event = BuildEvent(self.cycle, lane, lanes, changes, report, batch_at=batch_at, started_at=started,
                           finished_at=finished, reloaded=reloaded, retried=retried, recovery=recovery)
        event.notified = self._notify(report, [project.rel(c.path) for c in changes], recovery=recovery)
        self._emit(event)
        self._flush_decisions()  # after the build's own line

    # -- recovery --------------------------------------------------------------------

    def _decide(self, decision: Decision, task: str = "") -> None:
        if decision.action is Action.FALLBACK and decision.restart and self.restart is not None:
            try:
                self.restart(decision.restart)
            except Exception:  # noqa: BLE001 - a failed restart must not end the session
                log.debug("restarting %s failed", decision.restart, exc_info=True)
        self._decisions.append(RecoveryEvent(self.cycle, decision, task))

    def _flush_decisions(self) -> None:
        out, self._decisions = self._decisions, []
        for ev in out:
            self._emit(ev)

    def _record(self, effect: Effect) -> None:
        self.session.monitor.record([effect_metric(effect, time.time())])

    def _handle_effects(self, effects: list[Effect], *, recovery: bool) -> None:
        """Decide about every side effect a build tried; schedule the retries."""
        for eff in effects:
            if eff.ok:
                self._retry_tasks.pop(eff.key, None)
                done = self.recovery.succeeded(eff.key)
                if done is not None:
                    self._decide(done, eff.task)
                continue
            d = self.recovery.failed(eff.key, eff.verdict or Verdict.TRANSIENT, eff.message)
            if eff.verdict is Verdict.UNREACHABLE and d.action is not Action.ABSENT:
                self._record(eff)  # Session.build leaves "nobody listening" out; here it was a failure
            if d.action in (Action.RETRY, Action.FALLBACK, Action.GIVE_UP, Action.WAIT):
                # (given up: kept for when its server comes back, see Recovery.server_ready)
                self._retry_tasks.setdefault(eff.key, set()).add(eff.task)
            else:
                self._retry_tasks.pop(eff.key, None)
            if d.action is Action.FAIL_FAST and recovery:
                # a retry's build prints no line of its own: say why this one stops here
                d = replace(d, loud=True)
            self._decide(d, eff.task)

    def _run_retries(self) -> None:
        """Run what is due: one small build of the tasks to retry, and/or the Vite event."""
        keys = self.recovery.take_due()
        tasks: set[str] = set()
        vite = False
        for key in keys:
            if key == VITE_NOTIFY:
                vite = True
                continue
            these = {t for t in self._retry_tasks.get(key, set()) if t in self.session.graph.specs}
            if not these:
                self.recovery.forget(key)  # its task went away with a reload: nothing left to retry
                self._retry_tasks.pop(key, None)
            tasks |= these
        tries = self._vite_tries
        if tasks:
            log.debug("retrying %s", ", ".join(sorted(tasks)))
            self._build(tasks, [], self.clock(), 0, 1, reloaded=False, retried=False, recovery=True)
        if vite and self._vite_tries == tries:  # the build did not already try Vite
            self._notify_frontend_state()
        self._flush_decisions()

    def _deliver(self, event: dict[str, Any]) -> bool:
        """One POST to Vite (with whatever it missed before), and the decision about a failure."""
        assert self.notifier is not None
        if self._vite_backlog is not None:
            event = merge_events(self._vite_backlog, event)
        started = time.perf_counter()
        d: Delivery = self.notifier.deliver(event)
        self._vite_tries += 1
        eff = Effect("", VITE_NOTIFY, d.ok, d.verdict, d.reason, time.perf_counter() - started)
        if d.ok:
            self._vite_backlog = None
            self._record(eff)
            done = self.recovery.succeeded(VITE_NOTIFY)
            if done is not None:
                self._decide(done)
            return True
        decision = self.recovery.failed(VITE_NOTIFY, d.verdict or Verdict.TRANSIENT, d.reason)
        if decision.action is not Action.ABSENT:
            self._record(eff)
        # what it missed travels with the retry; after a give-up the next save sends the state anew
        self._vite_backlog = event if decision.action in (Action.RETRY, Action.FALLBACK, Action.WAIT) else None
        self._vite_failed_cycle = self.cycle
        if decision.action in (Action.ABSENT, Action.FAIL_FAST):
            self.notifier.said(d)  # nobody there / no plugin / wrong token: said once, as always
        self._decide(decision)
        return False

    # -- notifications ---------------------------------------------------------------

    def _errors(self) -> list[dict[str, Any]]:
        if self._reload_error is None:
            return []
        exc = self._reload_error
        file = getattr(exc, "file", None)
        if isinstance(exc, ConfigError) and file:
            file = self.session.project.rel(Path(file))
        return [{"task": "config", "message": str(exc), "file": file, "line": getattr(exc, "line", None)}]

    def _notify(self, report: BuildReport, changed: list[str], *, recovery: bool = False) -> list[str]:
        if self.notifier is None:
            return []
        done: list[str] = []
        failing = [self.failing[k] for k in self.session.graph.ordered(self.failing)]
        errors_sig = tuple((r.id, r.error or "") for r in failing) + tuple((e["task"], e["message"]) for e in self._errors())
        if report.written or report.removed or errors_sig != self._vite_errors or self._vite_backlog is not None:
            event = vite_event(self.session.project.root, changed, report, failing, self._errors())
            if self._vite_backlog is not None and (
                    self.recovery.restarting(VITE_NOTIFY)
                    or (self.recovery.cooling(VITE_NOTIFY) and (recovery or self.cycle == self._vite_failed_cycle))):
                # Vite is being restarted, or failed this save's event and its cooldown runs: this
                # event joins the backlog instead of knocking again (a new save does try at once)
                self._vite_backlog = merge_events(self._vite_backlog, event)
                return done
            if self._deliver(event):
                done.append("vite")
                self._vite_errors = errors_sig
            else:
                self._vite_errors = None  # unknown: tell it again next time
        return done

    def _notify_frontend_state(self, changed: list[str] | None = None) -> None:
        if self.notifier is None:
            return
        failing = [self.failing[k] for k in self.session.graph.ordered(self.failing)]
        empty = BuildReport([], 0.0)
        event = vite_event(self.session.project.root, changed or [], empty, failing, self._errors())
        errors_sig = tuple((r.id, r.error or "") for r in failing) + tuple((e["task"], e["message"]) for e in self._errors())
        self._vite_errors = errors_sig if self._deliver(event) else None

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # noqa: BLE001 - a broken observer must not stop the loop
                log.exception("watch event handler failed")


def _files_in(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.iterdir() if p.is_file()]
    except OSError:
        return []
