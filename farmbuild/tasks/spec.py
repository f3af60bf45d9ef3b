"""Typed task specs, converted to doit's dicts in one place (:meth:`TaskSpec.to_doit`).

A task's key is everything that shapes its output: its ``file_dep`` (the inputs, the
templates), ``config`` (a fingerprint of the config sections it reads plus the farmbuild
version, through doit's ``config_changed``) and the content of its targets as last written
(so a hand-edited or truncated generated file is restored by the next build).
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from .. import secrets
from ..errors import FarmbuildError, TaskError
from ..fsutil import ensure_inside, md5_bytes, md5_file, write_if_changed

if TYPE_CHECKING:
    from ..graph import BuildContext

log = logging.getLogger(__name__)


class TaskKind(str, Enum):
    """Every kind of task farmbuild runs (the doit basename)."""

    SCHEMA = "schema"
    TYPES = "types"
    TYPES_INDEX = "types-index"
    OPENAPI_FRAGMENT = "openapi"  # openapi:<route module>
    OPENAPI = "openapi-json"  # the merged document (doit reserves the bare basename for the group)
    CLIENT = "client"
    CLIENT_INDEX = "client-index"
    HOOKS = "hooks"
    HOOKS_INDEX = "hooks-index"
    PYCLIENT = "pyclient"
    DB = "db"
    DB_APPLY = "db-apply"
    AI = "ai"
    PLUGINS = "plugins"
    PLUGINS_RELOAD = "plugins-reload"
    NOTIFY_FRONTEND = "notify-frontend"
    NOTIFY_BACKEND = "notify-backend"
    VITE_PLUGIN = "vite-plugin"

    def __str__(self) -> str:
        return self.value


Outputs = Mapping[Path, "str | bytes"]


@dataclass(frozen=True)
class TaskSpec:
    """One doit task, typed.

    ``action`` returns the content of every target (``{path: text}``) — the spec writes them
    through the single write helper — or ``None`` for side-effect tasks without targets.
    Raising a :class:`~farmbuild.errors.FarmbuildError` fails the task with that message;
    the previous outputs stay as they were.
    """

    kind: TaskKind
    name: str | None
    action: Callable[[], Outputs | None]
    file_dep: tuple[Path, ...] = ()
    targets: tuple[Path, ...] = ()
    task_dep: tuple[str, ...] = ()
    config: str | None = None  # fingerprint for config_changed
    config_sections: tuple[str, ...] = ()  # which sections the fingerprint covers (for `farm explain`)
    always: bool = False  # side-effect tasks that run whenever selected
    # extra doit uptodate objects: ``() -> bool`` checks, ``(task, values)`` callables, or objects
    # with ``configure_task`` (all must hold)
    uptodate: tuple[Any, ...] = ()
    verify_targets: bool = True
    doc: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.kind.value}:{self.name}" if self.name else self.kind.value

    def to_doit(self, ctx: "BuildContext") -> dict[str, Any]:
        from ..fingerprint import code_fingerprint

        # the task's key includes the config it reads and the generator code (farmbuild version)
        uptodate: list[Any] = [_ConfigChanged(self.config if self.config is not None else code_fingerprint())]
        if self.targets and self.verify_targets:
            uptodate.append(_TargetsIntact(ctx.project.root, ctx.intact))
        uptodate.extend(self.uptodate)
        if self.always:
            uptodate.append(False)
        d: dict[str, Any] = {
            "basename": self.kind.value,
            "actions": [(_run, [self, ctx])],
            "file_dep": [str(p) for p in self.file_dep],
            "targets": [str(p) for p in self.targets],
            "task_dep": list(self.task_dep),
            "uptodate": uptodate,
            "doc": self.doc or self.id,
            "verbosity": 0,
        }
        if self.name:
            d["name"] = self.name
        return d


# doit asks ``inspect.signature`` of every uptodate callable of every task on every build (to
# pass ``task``/``values``); for a callable object that costs more than the check itself at a
# few thousand tasks. A ``__signature__`` answers it at once.
UPTODATE_SIGNATURE = inspect.Signature([
    inspect.Parameter("task", inspect.Parameter.POSITIONAL_OR_KEYWORD),
    inspect.Parameter("values", inspect.Parameter.POSITIONAL_OR_KEYWORD),
])


class _ConfigChanged(config_changed):
    __signature__ = UPTODATE_SIGNATURE


# A target whose size and mtime are those recorded after the write is not re-hashed, unless its
# mtime lies this close to the moment it was recorded (a hand edit within the same clock tick
# would not move the mtime: the "racy" case, as git handles it).
RACY_NS = 2_000_000_000


def _stat_sig(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


class _TargetsIntact:
    """doit uptodate check: every target still holds the bytes this task last wrote."""

    __signature__ = UPTODATE_SIGNATURE

    def __init__(self, root: Path, intact: dict[str, str] | None = None) -> None:
        self.root = root
        self.intact = intact  # where targets found intact are noted (the stale-output cleanup trusts them)

    def __call__(self, task: Any, values: dict[str, Any]) -> bool:
        saved = values.get("md5") if values else None
        if not isinstance(saved, dict):
            return False
        stats = values.get("stat")
        if not isinstance(stats, dict):
            stats = {}
        at = values.get("at")
        for rel, digest in saved.items():
            path = self.root / rel
            known = stats.get(rel)
            if known is not None and isinstance(at, int):
                now = _stat_sig(path)
                if now is None:
                    return False
                if now == known and at - now[1] > RACY_NS:
                    continue
            if md5_file(path) != digest:
                return False
        if self.intact is not None:
            self.intact.update(saved)
        return True


def _refuse_secrets(spec: TaskSpec, ctx: "BuildContext", path: Path, data: bytes) -> None:
    """A generated file must never carry a secret: it is committed, served, shipped to browsers."""
    var = secrets.found_in(data)
    if var is None:
        return
    source = spec.meta.get("source")  # the user module a task is made from, when there is one
    origin = f" (made from {source})" if source else ""
    raise TaskError(
        f"refusing to write {ctx.project.rel(path)}{origin}: it would contain the value of the"
        f" environment variable {var}, a secret. A model default, example or docstring reads it at import"
        " time; read secrets where they are used (in a function or a dependency), never in what the API describes"
    )


def _run(spec: TaskSpec, ctx: "BuildContext") -> dict[str, Any] | TaskFailed:
    start = time.perf_counter()
    try:
        outputs = spec.action()
        written: list[str] = []
        md5: dict[str, str] = {}
        if outputs is not None:
            declared = {p.resolve() for p in spec.targets}
            missing = declared - {Path(p).resolve() for p in outputs}
            if missing:
                raise FarmbuildError(
                    f"{spec.id} produced no content for {', '.join(sorted(ctx.project.rel(p) for p in missing))}"
                    " (a task must write every target it declares)"
                )
            for path, content in sorted(outputs.items(), key=lambda kv: str(kv[0])):
                path = Path(path)
                if path.resolve() not in declared:
                    raise FarmbuildError(f"{spec.id} tried to write {ctx.project.rel(path)}, which it does not declare")
                ensure_inside(ctx.project.root, path)
                data = content.encode("utf-8") if isinstance(content, str) else content
                _refuse_secrets(spec, ctx, path, data)
                if write_if_changed(ctx.project.root, path, data):
                    written.append(ctx.project.rel(path))
                md5[ctx.project.rel(path)] = md5_bytes(data)
        written.extend(ctx.take_written(spec.id))
        ctx.record(spec, time.perf_counter() - start, written, None, md5)
        stats = {rel: sig for rel in md5 if (sig := _stat_sig(ctx.project.root / rel)) is not None}
        return {"md5": md5, "stat": stats, "at": time.time_ns()}
    except FarmbuildError as exc:
        ctx.record(spec, time.perf_counter() - start, ctx.take_written(spec.id), exc)
        return TaskFailed(str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug in farmbuild: one line, traceback with -v
        log.debug("%s crashed", spec.id, exc_info=True)
        err = FarmbuildError(f"{spec.id}: internal error {type(exc).__name__}: {exc} (run with -v for the traceback)")
        ctx.record(spec, time.perf_counter() - start, [], err)
        return TaskFailed(str(err))
