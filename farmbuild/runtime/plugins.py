"""Plugins in a running FastAPI app: mount them, and reload one without restarting the process.

The ``plugins`` task generates a registry module (by default ``src/farm_plugins.py`` next to the
app) from every ``plugins/<name>/plugin.json``. It is plain data::

    PROJECT_ROOT = "../../.."   # from this file's directory
    PLUGINS = ({"name": "wishlist", "version": "0.1.0", "package": "plugins.wishlist",
                "router": "plugins.wishlist.backend.router:router", "prefix": "/api/plugins/wishlist",
                "manifest": "plugins/wishlist/plugin.json"},)

and the app hands it to a :class:`PluginHost`::

    from src import farm_plugins
    plugins = PluginHost(app, farm_plugins)
    plugins.mount_all()

A reload (``POST /__farm/plugins/reload`` or :meth:`PluginHost.reload`) re-reads the registry,
then per plugin: purges the plugin's modules from ``sys.modules``, imports its router again,
swaps its routes in place (same position in the route list, so a catch-all route mounted after
the plugins keeps losing to them) and resets ``app.openapi_schema`` (FastAPI caches it). If the
new code fails to import, the old modules and routes stay: the app keeps serving the last good
version and the error names the file and line.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import PluginLoadError

log = logging.getLogger(__name__)


@dataclass
class MountedPlugin:
    name: str
    version: str
    prefix: str
    package: str
    router: Any = None
    routes: list[Any] = field(default_factory=list)  # the entries include_router added to app.router.routes

    def paths(self) -> list[str]:
        """``"GET /api/plugins/wishlist/{customer_id}"``, one per route of the plugin's router."""
        out = []
        for r in getattr(self.router, "routes", []):
            methods = sorted(getattr(r, "methods", None) or [])
            out.append(f"{','.join(methods)} {self.prefix}{getattr(r, 'path', '')}".strip())
        return out


@dataclass
class ReloadResult:
    reloaded: list[str] = field(default_factory=list)
    mounted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    errors: list[PluginLoadError] = field(default_factory=list)
    routes: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"reloaded": self.reloaded, "mounted": self.mounted, "removed": self.removed,
                "errors": [e.to_dict() for e in self.errors], "routes": self.routes}


class PluginHost:
    """The plugins of one app (see the module docstring)."""

    def __init__(self, app: Any, registry: ModuleType | str, *, project_root: str | Path | None = None) -> None:
        self.app = app
        self._registry_name = registry if isinstance(registry, str) else registry.__name__
        self._registry: ModuleType | None = registry if isinstance(registry, ModuleType) else None
        self._project_root = Path(project_root).resolve() if project_root is not None else None
        self._lock = threading.RLock()
        self.mounted: dict[str, MountedPlugin] = {}
        self.errors: dict[str, PluginLoadError] = {}

    # -- registry -------------------------------------------------------------------

    def _load_registry(self, fresh: bool) -> list[dict[str, Any]]:
        mod = self._registry
        if mod is None or fresh:
            importlib.invalidate_caches()
            if mod is not None and sys.modules.get(self._registry_name) is mod:
                mod = importlib.reload(mod)
            else:
                mod = importlib.import_module(self._registry_name)
            self._registry = mod
        root = self.project_root
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))  # plugins import as plugins.<name>..., from the project root
        entries = list(getattr(mod, "PLUGINS", ()))
        return [dict(e) for e in entries]

    @property
    def project_root(self) -> Path:
        if self._project_root is not None:
            return self._project_root
        mod = self._registry
        if mod is None or not getattr(mod, "__file__", None):
            return Path.cwd()
        rel = getattr(mod, "PROJECT_ROOT", ".")
        return (Path(mod.__file__).resolve().parent / rel).resolve()  # type: ignore[arg-type]

    def plugins(self) -> list[str]:
        return [e["name"] for e in self._load_registry(fresh=False)]

    # -- mount / reload ---------------------------------------------------------------

    def mount_all(self) -> list[str]:
        """Mount every plugin of the registry; one that fails is logged and skipped (the app still starts)."""
        with self._lock:
            result = ReloadResult()
            for entry in self._load_registry(fresh=False):
                self._mount(entry, result, purge=False)
            for err in result.errors:
                log.error("%s", err)
            self._reset_openapi()
            return result.mounted

    def reload(self, names: list[str] | None = None) -> ReloadResult:
        """Re-read the registry; reload ``names`` (all when None); mount new plugins, unmount removed ones."""
        with self._lock:
            result = ReloadResult()
            entries = {e["name"]: e for e in self._load_registry(fresh=True)}
            for name in [n for n in self.mounted if n not in entries]:
                package = self.mounted[name].package
                self._unmount(name)
                self._purge(package)
                result.removed.append(name)
            for name in [n for n in self.errors if n not in entries]:
                del self.errors[name]
            wanted = list(entries) if names is None else [n for n in names if n in entries]
            for name, entry in entries.items():
                if name in self.mounted and name not in wanted:
                    continue
                self._mount(entry, result, purge=True)
            for name in names or ():
                if name not in entries and name not in result.removed:
                    result.errors.append(PluginLoadError(name, "not in the plugin registry (no plugins/<name>/plugin.json?)"))
            self._reset_openapi()
            for err in result.errors:
                log.error("%s", err)
            return result

    def _mount(self, entry: dict[str, Any], result: ReloadResult, *, purge: bool) -> None:
        name = str(entry["name"])
        module_name, _, attr = str(entry["router"]).partition(":")
        package = str(entry.get("package") or module_name.rpartition(".")[0] or module_name)
        prefix = str(entry.get("prefix") or f"/api/plugins/{name}")
        saved = self._purge(package) if purge else {}
        try:
            module = importlib.import_module(module_name)
            router = module
            for part in attr.split("."):
                router = getattr(router, part)
        except BaseException as exc:  # noqa: BLE001 - user code: report it, keep the last good version
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            self._restore(package, saved)
            err = self._describe(name, exc, module_name, attr)
            self.errors[name] = err
            result.errors.append(err)
            return
        from fastapi import APIRouter

        if not isinstance(router, APIRouter):
            self._restore(package, saved)
            err = PluginLoadError(name, f"{entry['router']} is a {type(router).__name__}, not a fastapi.APIRouter",
                                  file=entry.get("manifest"))
            self.errors[name] = err
            result.errors.append(err)
            return
        before = list(self.app.router.routes)
        try:
            self.app.include_router(router, prefix=prefix)
        except Exception as exc:  # noqa: BLE001 - e.g. a bad path in the plugin's router
            self._set_routes(before)
            self._restore(package, saved)
            err = PluginLoadError(name, f"mounting its router failed: {type(exc).__name__}: {exc}",
                                  file=entry.get("manifest"))
            self.errors[name] = err
            result.errors.append(err)
            return
        added = self.app.router.routes[len(before):]
        old = self.mounted.get(name)
        if old is not None:
            old_ids = {id(r) for r in old.routes}
            first = next((i for i, r in enumerate(before) if id(r) in old_ids), len(before))
            kept = [r for r in before if id(r) not in old_ids]
            position = sum(1 for r in before[:first] if id(r) not in old_ids)
            self._set_routes(kept[:position] + added + kept[position:])
            result.reloaded.append(name)
        else:
            self._set_routes(before + added)
            result.mounted.append(name)
        self.mounted[name] = MountedPlugin(name, str(entry.get("version", "")), prefix, package, router, list(added))
        self.errors.pop(name, None)
        result.routes[name] = self.mounted[name].paths()
        log.info("plugin %s %s: %d route(s) under %s", name, "reloaded" if old else "mounted", len(added), prefix)

    def _unmount(self, name: str) -> None:
        plugin = self.mounted.pop(name, None)
        if plugin is None:
            return
        ids = {id(r) for r in plugin.routes}
        self._set_routes([r for r in self.app.router.routes if id(r) not in ids])

    def _set_routes(self, routes: list[Any]) -> None:
        # A new list object: a request iterating the old list finishes on it. FastAPI >= 0.16x caches
        # its effective routes per router version, so tell it the routes changed.
        self.app.router.routes = routes
        mark = getattr(self.app.router, "_mark_routes_changed", None)
        if callable(mark):
            mark()

    def _purge(self, package: str) -> dict[str, ModuleType]:
        """Drop the plugin's modules (and the parent package's attribute) so the next import re-executes them."""
        saved = {n: m for n, m in sys.modules.items() if n == package or n.startswith(package + ".")}
        for n, m in saved.items():
            del sys.modules[n]
            _drop_bytecode(getattr(m, "__file__", None))
        parent, _, child = package.rpartition(".")
        if parent and parent in sys.modules and hasattr(sys.modules[parent], child):
            saved[f"{parent}:{child}"] = getattr(sys.modules[parent], child)
            delattr(sys.modules[parent], child)
        importlib.invalidate_caches()
        return saved

    def _restore(self, package: str, saved: dict[str, Any]) -> None:
        for n in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[n]
        for n, m in saved.items():
            if ":" in n:
                parent, _, child = n.partition(":")
                if parent in sys.modules:
                    setattr(sys.modules[parent], child, m)
            else:
                sys.modules[n] = m

    def _describe(self, name: str, exc: BaseException, module_name: str, attr: str) -> PluginLoadError:
        root = self.project_root

        def rel(path: str | None) -> str | None:
            if not path:
                return None
            try:
                return Path(path).resolve().relative_to(root).as_posix()
            except (ValueError, OSError):
                return path

        if isinstance(exc, SyntaxError):
            return PluginLoadError(name, f"{type(exc).__name__}: {exc.msg}", file=rel(exc.filename), line=exc.lineno)
        if isinstance(exc, AttributeError) and module_name in sys.modules and attr.split(".")[0] in str(exc):
            mod_file = getattr(sys.modules[module_name], "__file__", None)
            return PluginLoadError(name, f"{module_name} has no attribute {attr!r} (plugin.json backend.router)",
                                   file=rel(mod_file))
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if _inside(f.filename, root)]
        frame = frames[-1] if frames else None
        return PluginLoadError(name, f"{type(exc).__name__}: {exc}", file=rel(frame.filename) if frame else None,
                               line=frame.lineno if frame else None)

    def _reset_openapi(self) -> None:
        # FastAPI builds the schema once and caches it on the app; the next /openapi.json rebuilds it.
        if hasattr(self.app, "openapi_schema"):
            self.app.openapi_schema = None

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"mounted": {n: {"version": p.version, "prefix": p.prefix, "routes": p.paths()}
                                for n, p in self.mounted.items()},
                    "errors": {n: e.to_dict() for n, e in self.errors.items()}}


def _drop_bytecode(source: str | None) -> None:
    """Delete a module's cached bytecode: it is validated by mtime in whole seconds and size, so an edit
    saved within the second of the last import, keeping the size, would otherwise load the old code."""
    if not source or not source.endswith(".py"):
        return
    try:
        Path(importlib.util.cache_from_source(source)).unlink(missing_ok=True)
    except (OSError, ValueError, NotImplementedError):
        pass


def _inside(path: str, root: Path) -> bool:
    try:
        p = Path(path).resolve()
    except OSError:
        return False
    return p.is_relative_to(root) and not {"site-packages", ".venv", "node_modules"} & set(p.parts)
