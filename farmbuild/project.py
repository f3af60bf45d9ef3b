"""Project discovery: where the models, routes, AI code, plugins and migrations are.

One :class:`Project` per build: the validated config plus every source the task graph is
made from. It knows nothing about tasks; the task kinds read it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from .config import CONFIG_FILE, PYPROJECT, LoadedConfig, load_config
from .errors import ProjectError
from .importgraph import SKIP_DIRS, ImportGraph

log = logging.getLogger(__name__)

STATE_DIR = ".farm"


@dataclass(frozen=True)
class PyModule:
    """A user module that is a unit of generation (one model module, one route module)."""

    name: str  # dotted import name, e.g. "src.models.billing.invoice"
    path: Path  # absolute
    rel: str  # project-relative POSIX path, e.g. "apps/api/src/models/billing/invoice.py"
    key: str  # path below its models/routes dir without suffix, e.g. "billing/invoice"

    @property
    def task_name(self) -> str:
        """The doit sub-task name: the key with '/' kept (doit allows it), e.g. ``schema:billing/invoice``."""
        return self.key


@dataclass
class Project:
    root: Path
    loaded: LoadedConfig
    backend_root: Path
    models: list[PyModule]
    routes: list[PyModule]
    ai_dir: Path | None
    plugin_dirs: list[Path]
    plugin_manifests: list[Path]
    migrations_dir: Path
    frontend_root: Path
    frontend_src: Path
    graph: ImportGraph = field(repr=False)

    @property
    def config(self):  # noqa: ANN201 - FarmConfig, kept short for call sites
        return self.loaded.config

    @cached_property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def config_file(self) -> Path | None:
        return self.loaded.source

    def rel(self, path: Path) -> str:
        """Project-relative POSIX path (for messages and generated headers: never absolute)."""
        try:
            return PurePosixPath(Path(path).resolve().relative_to(self.root)).as_posix()
        except ValueError:
            return str(path)

    @property
    def sys_path(self) -> list[Path]:
        """What the worker puts on sys.path: the backend root, then the project root (plugins)."""
        return [self.backend_root, self.root]

    @cached_property
    def migration_files(self) -> list[Path]:
        if not self.migrations_dir.is_dir():
            return []
        return sorted(p for p in self.migrations_dir.glob("*.json") if p.is_file())

    def module_files(self, module: PyModule | str) -> list[Path]:
        """The module's file plus every local file it imports, transitively."""
        name = module.name if isinstance(module, PyModule) else module
        return self.graph.files(self.graph.closure(name))

    def app_module(self) -> str:
        return self.config.backend.app.partition(":")[0]

    def app_files(self) -> list[Path]:
        return self.module_files(self.app_module())


def find_root(start: Path) -> Path:
    """The nearest directory (``start`` or a parent) with farm.toml or a pyproject [tool.farm].

    Falls back to ``start`` itself, so a standard layout needs no config file.
    """
    start = start.resolve()
    for d in [start, *start.parents]:
        if (d / CONFIG_FILE).is_file():
            return d
        pp = d / PYPROJECT
        if pp.is_file():
            try:
                if "[tool.farm" in pp.read_text("utf-8", errors="replace"):
                    return d
            except OSError:
                pass
    return start


def _modules_under(root: Path, backend_root: Path, dirs: list[str], key_name: str) -> list[PyModule]:
    found: dict[str, PyModule] = {}
    for d in dirs:
        base = (backend_root / d).resolve()
        if not base.is_dir():
            raise ProjectError(
                f"{_rel(root, base)}: directory not found (config key {key_name} = {dirs!r}, relative to backend.root);"
                " create it or set the key in farm.toml"
            )
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(x for x in dirnames if x not in SKIP_DIRS and not x.startswith("."))
            for fn in sorted(filenames):
                if not fn.endswith(".py") or fn == "__init__.py" or fn.startswith("."):
                    continue
                path = Path(dirpath, fn)
                rel_to_backend = path.relative_to(backend_root)
                parts = list(rel_to_backend.with_suffix("").parts)
                if not all(p.isidentifier() for p in parts):
                    log.warning("%s: not importable as a module (name is not an identifier); skipped", _rel(root, path))
                    continue
                key = PurePosixPath(*path.relative_to(base).with_suffix("").parts).as_posix()
                mod = PyModule(".".join(parts), path, path.relative_to(root).as_posix(), key)
                if key in found:
                    raise ProjectError(
                        f"{mod.rel} and {found[key].rel} would generate the same output '{key}'"
                        f" (config key {key_name}); rename one of them"
                    )
                found[key] = mod
    return sorted(found.values(), key=lambda m: m.key)


def max_source_bytes(mb: float) -> int:
    """``backend.max_module_mb`` in bytes."""
    return int(mb * 2**20)


def _check_inside(root: Path, folder: Path, key: str) -> None:
    """``folder`` (absolute, maybe unresolved) and every folder above it up to ``root`` stay inside
    ``root`` once symlinks are resolved."""
    real_root = root.resolve()
    probe = folder
    while probe != root and probe.is_relative_to(root):
        if os.path.lexists(probe) and not probe.resolve().is_relative_to(real_root):
            rel = PurePosixPath(probe.relative_to(root)).as_posix()
            raise ProjectError(f"{rel} (config key {key}) is a symlink to a folder outside the project, and farmbuild"
                               " writes generated files there: replace it with a real folder inside the project")
        probe = probe.parent


def _rel(root: Path, path: Path) -> str:
    try:
        return PurePosixPath(path.resolve().relative_to(root)).as_posix()
    except ValueError:
        return str(path)


def discover(root: Path | None = None, loaded: LoadedConfig | None = None) -> Project:
    """Load the config and find every source of the project at ``root``."""
    root = find_root(root or Path.cwd()) if loaded is None else loaded.root
    if loaded is None:
        loaded = load_config(root)
    root = loaded.root
    cfg = loaded.config
    state = root / STATE_DIR
    if os.path.lexists(state) and not state.resolve().is_relative_to(root.resolve()):
        # farmbuild writes its lock, state and caches there without asking: never outside the project
        raise ProjectError(f"{STATE_DIR} is a symlink to a folder outside the project; farmbuild keeps its"
                           f" state inside the project: remove the link (rm {STATE_DIR}) and build again")
    backend_root = (root / cfg.backend.root).resolve()
    if not backend_root.is_dir():
        raise ProjectError(
            f"{cfg.backend.root}: backend root not found in {root} (config key backend.root)."
            " Run farm from the project root (or pass -C DIR), or set [backend] root in farm.toml"
        )
    models = _modules_under(root, backend_root, cfg.backend.models, "backend.models")
    routes = _modules_under(root, backend_root, cfg.backend.routes, "backend.routes")
    app_mod = cfg.backend.app.partition(":")[0]
    app_file = backend_root.joinpath(*app_mod.split("."))
    if not (app_file.with_suffix(".py").is_file() or (app_file / "__init__.py").is_file()):
        raise ProjectError(
            f"{_rel(root, app_file.with_suffix('.py'))}: the app module {app_mod!r} was not found"
            f" (config key backend.app = {cfg.backend.app!r}, relative to backend.root)"
        )
    ai_dir = (backend_root / cfg.backend.ai).resolve()
    plugin_dirs = [(root / d).resolve() for d in cfg.plugins.dirs]
    manifests = sorted(
        p.resolve() for d in plugin_dirs if d.is_dir() for p in d.glob("*/plugin.json") if p.is_file()
    )
    frontend_root = (root / cfg.frontend.root).resolve()
    if not frontend_root.is_dir():
        raise ProjectError(
            f"{cfg.frontend.root}: frontend root not found in {root} (config key frontend.root);"
            " create the Vite app there or set [frontend] root in farm.toml"
        )
    # folders farmbuild writes into must not lead out of the project (a symlink): say so up front,
    # naming the config key, rather than refusing each write with a path outside
    for where, key in ((root / cfg.backend.root, "backend.root"), (root / cfg.frontend.root, "frontend.root"),
                       (root / cfg.frontend.root / cfg.frontend.src, "frontend.src"),
                       (root / cfg.database.migrations, "database.migrations"),
                       (root / cfg.python_client.output, "python_client.output")):
        _check_inside(root, where, key)
    graph = ImportGraph(
        roots=[backend_root, root],
        scan=[backend_root, *[d for d in plugin_dirs if d.is_dir()]],
        cache_file=root / STATE_DIR / "cache" / "imports.json",
        max_source_bytes=max_source_bytes(cfg.backend.max_module_mb),
    )
    return Project(
        root=root,
        loaded=loaded,
        backend_root=backend_root,
        models=models,
        routes=routes,
        ai_dir=ai_dir if ai_dir.is_dir() else None,
        plugin_dirs=plugin_dirs,
        plugin_manifests=manifests,
        migrations_dir=(root / cfg.database.migrations).resolve(),
        frontend_root=frontend_root,
        frontend_src=(frontend_root / cfg.frontend.src).resolve(),
        graph=graph,
    )
