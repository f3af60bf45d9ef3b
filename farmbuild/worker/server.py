"""The worker process: imports user code and answers jobs, staying warm between them.

Started by :class:`farmbuild.worker.client.Worker` as ``python -m farmbuild.worker``.
Frames arrive on stdin and answers leave on a private copy of the original stdout; fd 1 is
pointed at stderr so a ``print`` in user code cannot corrupt the protocol.

Before every job the worker compares the files of the local modules it has imported with
what it imported, and drops each changed module and every local module that imports it,
transitively (pydantic classes and FastAPI apps hold references to the classes they were
built from, so importers must be re-executed too). Modules from site-packages stay loaded:
that, plus pydantic and FastAPI being imported once, is what makes the worker warm.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from . import protocol

OPS: dict[str, Callable[..., Any]] = {}


def op(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        OPS[name] = fn
        return fn

    return register


class State:
    def __init__(self) -> None:
        self.roots: list[Path] = []
        self.scan: list[Path] = []
        self.project_root: Path = Path.cwd()
        # module name -> (path, mtime_ns, size, md5) at import time
        self.seen: dict[str, tuple[str, int, int, str]] = {}
        self.imports_cache: dict[tuple[str, str], list[str]] = {}
        self.jobs = 0


STATE = State()
_SKIP_PARTS = {"site-packages", "dist-packages", ".venv", "venv", "node_modules", "__pycache__"}


def _is_local(path: str | None) -> bool:
    if not path:
        return False
    p = Path(path)
    if _SKIP_PARTS.intersection(p.parts):
        return False
    return any(p.is_relative_to(s) for s in STATE.scan)


def _md5(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.md5(fh.read()).hexdigest()
    except OSError:
        return ""


_CLASSIFIED: dict[str, int] = {}  # module name -> id() of the module object already classified


# File timestamps come from the kernel's coarse clock, which may lag time.time_ns() by a tick.
_MTIME_SLACK_NS = 10_000_000


def _record_loaded(job_started_ns: int | None = None) -> None:
    """Remember the file state of every newly imported local module.

    Only modules not classified before are looked at (sys.modules holds thousands of entries;
    checking them all after every job dominated a 500-module build). A file written while the
    job ran may have been imported before or after the write: its recorded hash is left empty
    so the next job imports it again (the same race as doit issue 119, one level down).
    """
    for name, mod in list(sys.modules.items()):
        if _CLASSIFIED.get(name) == id(mod):
            continue
        _CLASSIFIED[name] = id(mod)
        f = getattr(mod, "__file__", None)
        if not f or not _is_local(f):
            continue
        try:
            st = os.stat(f)
        except OSError:
            continue
        md5 = _md5(f)
        if job_started_ns is not None and st.st_mtime_ns >= job_started_ns - _MTIME_SLACK_NS:
            md5 = ""
        STATE.seen[name] = (f, st.st_mtime_ns, st.st_size, md5)


def _imports_of(name: str, path: str, md5: str) -> list[str]:
    key = (name, md5)
    hit = STATE.imports_cache.get(key)
    if hit is not None:
        return hit
    from farmbuild.importgraph import parse_imports

    try:
        refs = parse_imports(Path(path).read_bytes(), name, path.endswith("__init__.py"))
    except (OSError, SyntaxError, ValueError):
        refs = []
    mods: list[str] = []
    for r in refs:
        mods.append(r.module)
        mods.extend(f"{r.module}.{n}" for n in r.names)
    STATE.imports_cache[key] = mods
    return mods


def invalidate(extra_changed: list[str] | None = None) -> list[str]:
    """Drop changed local modules and their local importers; return the dropped names."""
    changed: set[str] = set()
    for name, (path, mtime, size, md5) in list(STATE.seen.items()):
        try:
            st = os.stat(path)
        except OSError:
            changed.add(name)
            continue
        if not md5:
            changed.add(name)  # changed while it was being imported: its content is unknown
        elif (st.st_mtime_ns, st.st_size) != (mtime, size):
            new_md5 = _md5(path)
            if new_md5 != md5:
                changed.add(name)
            else:
                STATE.seen[name] = (path, st.st_mtime_ns, st.st_size, md5)
    for f in extra_changed or ():
        for name, entry in STATE.seen.items():
            if entry[0] == f:
                changed.add(name)
    if not changed:
        return []
    # reverse edges among loaded local modules (a module depends on its packages too). Only the
    # unchanged ones: a changed module is dropped anyway, and its file no longer says what the
    # loaded version imports (parsing it would also file the new imports under the old md5 in
    # the cache, so a later save restoring that content would find the wrong importers).
    loaded = {n: e for n, e in STATE.seen.items() if n in sys.modules and n not in changed}
    rdeps: dict[str, set[str]] = {}
    for name, (path, _, _, md5) in loaded.items():
        deps = set(_imports_of(name, path, md5))
        parts = name.split(".")
        deps.update(".".join(parts[:i]) for i in range(1, len(parts)))
        for dep in deps:
            # `from a.b import c` may name module a.b.c or attribute c; both ends count
            dparts = dep.split(".")
            for i in range(1, len(dparts) + 1):
                rdeps.setdefault(".".join(dparts[:i]), set()).add(name)
    drop = set(changed)
    stack = list(changed)
    while stack:
        for r in rdeps.get(stack.pop(), ()):
            if r not in drop:
                drop.add(r)
                stack.append(r)
    # A package is only dropped when its own file changed or it imports something dropped;
    # dropping a submodule must also remove the attribute its parent package holds.
    for name in sorted(drop):
        sys.modules.pop(name, None)
        STATE.seen.pop(name, None)
        _CLASSIFIED.pop(name, None)
        parent, _, child = name.rpartition(".")
        if parent and parent in sys.modules and getattr(sys.modules[parent], child, None) is not None:
            try:
                delattr(sys.modules[parent], child)
            except AttributeError:
                pass
    importlib.invalidate_caches()
    return sorted(drop)


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """file:line (project-relative), the problem and a hint for an exception from user code."""
    root = STATE.project_root

    def rel(path: str | None) -> str | None:
        if not path:
            return None
        try:
            return Path(path).resolve().relative_to(root).as_posix()
        except (ValueError, OSError):
            return path

    if isinstance(exc, SyntaxError):
        msg = exc.msg or "invalid syntax"
        hint = None
        if "unicode error" in msg or "codec can't decode" in msg or isinstance(exc, UnicodeDecodeError):
            hint = "the file is not valid UTF-8: save it as UTF-8"
        elif isinstance(exc, (IndentationError, TabError)):
            hint = "fix the indentation"
        else:
            hint = "fix the syntax error; the last good outputs are kept"
        return {"kind": "syntax", "problem": f"{type(exc).__name__}: {msg}", "file": rel(exc.filename),
                "line": exc.lineno, "hint": hint}
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if _is_local(f.filename)]
    frame = user[-1] if user else None
    text = str(exc).replace(str(root) + os.sep, "")  # project paths in messages are relative
    if frames and (not user or user[-1] is not frames[-1]):
        # raised inside a library: say where, but point the user at their own line
        last = frames[-1]
        text = f"{text} (raised in {Path(last.filename).name}:{last.lineno})"
    lines = text.splitlines()
    if len(lines) > 12:
        text = "\n".join(lines[:12] + [f"... ({len(lines) - 12} more lines)"])
    problem = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    kind = "exception"
    hint = None
    if isinstance(exc, ImportError) and ("partially initialized module" in text or "circular import" in text):
        kind = "circular"
        hint = "circular import: move the shared definitions into a module both can import"
    elif isinstance(exc, ModuleNotFoundError):
        kind = "import"
        missing = getattr(exc, "name", None) or ""
        top = missing.split(".")[0]
        if not any((Path(r) / top).exists() or (Path(r) / f"{top}.py").exists() for r in STATE.roots):
            hint = f"install '{top}' in the environment farmbuild runs in, or fix the import"
        else:
            hint = "the module path is wrong: imports are resolved from backend.root"
    elif isinstance(exc, ImportError):
        kind = "import"
        hint = "fix the import"
    else:
        hint = "fix the error raised while importing; the last good outputs are kept"
    return {"kind": kind, "problem": problem, "file": rel(frame.filename) if frame else None,
            "line": frame.lineno if frame else None, "hint": hint}


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles user code from its source every time it is imported.

    The default loader trusts ``__pycache__/*.pyc`` when the source's mtime (whole seconds) and
    size match: a module saved twice within one second at the same size (uvicorn --reload wrote
    the pyc in between) would be imported stale. User modules are small; compiling them is cheap.
    """

    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


def _install_source_only_loader() -> None:
    loader_details = (_SourceOnlyLoader, importlib.machinery.SOURCE_SUFFIXES)
    local_hook = importlib.machinery.FileFinder.path_hook(loader_details)

    def hook(entry: str) -> Any:
        if entry and _is_local(os.path.join(entry, "__init__.py")):
            return local_hook(entry)
        raise ImportError("not a project directory")  # the next hook (the default) takes it

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


@op("init")
def _init(roots: list[str], scan: list[str], project_root: str, preload: list[str] | None = None) -> dict[str, Any]:
    STATE.roots = [Path(r) for r in roots]
    STATE.scan = [Path(s) for s in scan]
    STATE.project_root = Path(project_root)
    _install_source_only_loader()
    for r in reversed(roots):
        if r not in sys.path:
            sys.path.insert(0, r)
    for name in preload or ():
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    return {"pid": os.getpid(), "python": sys.version.split()[0]}


@op("ping")
def _ping() -> str:
    return "pong"


@op("schema")
def _schema(module: str, source: str) -> dict[str, Any]:
    from .schema_op import extract

    return extract(module, source)


@op("sleep")
def _sleep(seconds: float) -> None:  # used by tests of the timeout path
    time.sleep(seconds)


def _load_ops() -> None:
    """Ops contributed by other parts of farmbuild register themselves on import."""
    for mod in ("farmbuild.worker.ops",):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def _exit_with_parent(interval_s: float = 0.5) -> None:
    """Exit when farmbuild dies, even while user code hangs in the main thread.

    The worker runs in its own session (Ctrl-C is farmbuild's to handle), so a ``kill -9`` of
    farmbuild would otherwise leave it behind, stuck in a user's endless loop.
    """
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent:
                os._exit(70)

    threading.Thread(target=watch, name="farm-worker-parent", daemon=True).start()


def main() -> None:
    _exit_with_parent()
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # user prints go to stderr
    sys.stdout = sys.stderr
    in_fd = sys.stdin.fileno()
    _load_ops()
    while True:
        try:
            req = protocol.recv(in_fd)
        except protocol.ProtocolEOF:
            return
        except (KeyboardInterrupt, BrokenPipeError):
            return
        rid = req.get("id")
        name = req.get("op")
        args = req.get("args") or {}
        dropped: list[str] = []
        job_started_ns = time.time_ns()
        fn = OPS.get(name)
        if fn is None:
            reply = {"id": rid, "ok": False, "error": {"kind": "protocol", "problem": f"unknown worker op {name!r}"}}
            protocol.send(proto_out, reply)
            continue
        try:
            if name != "init" and (req.get("check", True) or req.get("changed")):
                dropped = invalidate(req.get("changed"))
            result = fn(**args)
            reply = {"id": rid, "ok": True, "result": result}
        except SystemExit as exc:
            err = describe_exception(exc)
            err["problem"] = f"SystemExit({exc.code!r}) raised while importing user code"
            reply = {"id": rid, "ok": False, "error": err}
        except Exception as exc:  # noqa: BLE001 - every user error becomes a structured reply
            err = describe_exception(exc)
            definition_file = getattr(exc, "file", None)
            if definition_file and type(exc).__name__ == "DefinitionError":
                err.update({"kind": "definition", "problem": str(exc), "file": definition_file,
                            "line": getattr(exc, "line", None),
                            "hint": getattr(exc, "hint", None) or "fix the model definition"})
            reply = {"id": rid, "ok": False, "error": err}
        finally:
            _record_loaded(job_started_ns)
        STATE.jobs += 1
        reply["rss_mb"] = round(_rss_mb(), 1)
        reply["dropped"] = dropped
        try:
            protocol.send(proto_out, reply)
        except BrokenPipeError:
            return

