"""``plugins`` and ``plugins-reload``.

- ``plugins``: validate every ``plugins/<name>/plugin.json`` (:mod:`farmbuild.plugins`) and write
  the frontend component index (``<web>/src/plugins/components/index.ts``) and the backend
  registry module (``<app package>/farm_plugins.py``, e.g. ``apps/api/src/farm_plugins.py``).
- ``plugins-reload``: when a plugin's code, its manifest or the registry changed, tell the running
  backend to reload exactly those plugins (``POST /__farm/plugins/reload``): same process, new
  routes, fresh ``/openapi.json``. Its state ``.farm/state/plugins.json`` records a digest of
  each plugin's files as last loaded. A backend that is not running needs nothing (it imports
  the current code when it starts); a plugin that fails to import fails the task with its
  file:line, and the backend keeps serving the previous version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from codegen.plugins import INDEX_TEMPLATE, REGISTRY_TEMPLATE, ComponentInfo, PluginInfo, render_plugins

from ..devclient import BackendDevClient, BackendError, BackendUnavailable, backend_url
from ..fsutil import md5_file
from ..plugins import MANIFEST, Plugin, find_manifests, load_plugins
from ..project import Project
from ..recovery import Verdict, classify
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext

log = logging.getLogger(__name__)

REGISTRY_MODULE = "farm_plugins"
OP_RELOAD = "plugins-reload"  # farmbuild.recovery key: backend plugins-reload
_SKIP = {"__pycache__", "node_modules", ".mypy_cache", ".pytest_cache"}


def components_index_path(project: Project) -> Path:
    return project.frontend_src / "plugins" / "components" / "index.ts"


def registry_module(project: Project) -> str:
    """``src.farm_plugins`` for ``backend.app = "src.main:app"``: a module of the app's own package."""
    package = project.app_module().rpartition(".")[0]
    return f"{package}.{REGISTRY_MODULE}" if package else REGISTRY_MODULE


def registry_path(project: Project) -> Path:
    return project.backend_root.joinpath(*registry_module(project).split(".")).with_suffix(".py")


def state_path(project: Project) -> Path:
    return project.state_dir / "state" / "plugins.json"


def _lenient(manifest: Path) -> dict[str, Any]:
    """The manifest's JSON if it parses (for file_dep only; the task validates it properly)."""
    try:
        data = json.loads(manifest.read_text("utf-8-sig"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _component_files(manifest: Path) -> list[Path]:
    comps = (_lenient(manifest).get("frontend") or {})
    comps = comps.get("components") if isinstance(comps, dict) else None
    out = []
    for spec in (comps or {}).values() if isinstance(comps, dict) else ():
        path = spec.get("path") if isinstance(spec, dict) else None
        if isinstance(path, str) and ".." not in PurePosixPath(path).parts and not path.startswith("/"):
            full = manifest.parent / path
            if full.is_file() and full.resolve().is_relative_to(manifest.parent.resolve()):
                out.append(full)
    return out


def _plugin_code(project: Project, folder: Path, manifest: Path) -> list[Path]:
    """Every Python file of the plugin, plus the local modules its router imports (transitively)."""
    files: set[Path] = set()
    real = folder.resolve()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP and not d.startswith("."))
        for fn in filenames:
            if fn.endswith(".py") and not fn.startswith("."):
                p = Path(dirpath, fn)
                if p.resolve().is_relative_to(real):
                    files.add(p)
    backend = _lenient(manifest).get("backend")
    router = backend.get("router") if isinstance(backend, dict) else None
    if isinstance(router, str) and ":" in router:
        files.update(f for f in project.module_files(router.partition(":")[0]) if f.is_file())
    return sorted(files)


def _to_info(p: Plugin) -> PluginInfo:
    return PluginInfo(name=p.name, version=p.version, package=p.package, manifest=PurePosixPath(p.manifest),
                      description=p.description, router=p.router, prefix=p.prefix,
                      components=tuple(ComponentInfo(c.name, PurePosixPath(c.path), c.export) for c in p.components))


def tasks(ctx: "BuildContext") -> Iterator[TaskSpec]:
    project = ctx.project
    index = components_index_path(project)
    registry = registry_path(project)
    found = find_manifests(project.plugin_dirs)
    manifests = [m for m, _ in found]

    def generate() -> dict[Path, str]:
        plugins = load_plugins(project.root, project.plugin_dirs)
        # relative without resolving: a target replaced by a symlink (to be restored) must not
        # make the generated imports point where the symlink goes
        out = render_plugins([_to_info(p) for p in plugins],
                             components_index=PurePosixPath(index.relative_to(project.root)),
                             registry=PurePosixPath(registry.relative_to(project.root)))
        return {project.root / rel: text for rel, text in out.items()}

    yield TaskSpec(
        kind=TaskKind.PLUGINS,
        name=None,
        action=generate,
        file_dep=tuple([*manifests, *(f for m in manifests for f in _component_files(m)),
                        INDEX_TEMPLATE, REGISTRY_TEMPLATE]),
        targets=(index, registry),
        config=project.loaded.section_fingerprint("plugins", "frontend", "backend"),
        config_sections=("plugins", "frontend", "backend"),
        doc=f"validate plugins/*/{MANIFEST}; write {project.rel(index)} and {project.rel(registry)}",
    )

    code = {m.parent.name: _plugin_code(project, m.parent, m) for m in manifests}
    manifest_of = {m.parent.name: m for m in manifests}
    state = state_path(project)
    url = backend_url(project.config)

    def reload() -> dict[Path, str]:
        digests = {name: _digest(project, [*files, manifest_of[name]]) for name, files in sorted(code.items())}
        previous = _read(state)
        changed = sorted(n for n in set(digests) | set(previous) if digests.get(n) != previous.get(n))
        if changed and ctx.side_effects:
            _reload_backend(ctx, url, changed)
        return {state: json.dumps({"format": 1, "plugins": digests}, indent=1, sort_keys=True) + "\n"}

    yield TaskSpec(
        kind=TaskKind.PLUGINS_RELOAD,
        name=None,
        action=reload,
        file_dep=tuple([registry, *manifests, *(f for files in code.values() for f in files)]),
        targets=(state,),
        config=project.loaded.section_fingerprint("plugins", "development.servers", "ai.backend_url"),
        config_sections=("plugins", "development.servers", "ai.backend_url"),
        doc="reload changed plugins in the running backend (same process; POST /__farm/plugins/reload)",
        meta={"backend_url": url},
    )


def _digest(project: Project, files: list[Path]) -> str:
    """What a plugin's backend is made of: its code and its manifest (which decides its registry entry)."""
    h = hashlib.md5()
    for f in sorted(files):
        h.update(f"{project.rel(f)}\0{md5_file(f)}\n".encode())
    return h.hexdigest()


def _read(state: Path) -> dict[str, str]:
    try:
        data = json.loads(state.read_text("utf-8"))
        plugins = data.get("plugins") if isinstance(data, dict) else None
        return {str(k): str(v) for k, v in plugins.items()} if isinstance(plugins, dict) else {}
    except (OSError, ValueError):
        return {}


def _reload_backend(ctx: "BuildContext", url: str, names: list[str]) -> None:
    project = ctx.project
    started = time.perf_counter()
    try:
        with BackendDevClient(url, project.root) as client:
            answer = client.plugins_reload(names)
    except BackendError as exc:
        # one try (farm watch retries a transient failure after the cooldown; a plugin that does not
        # import fails the same way until it is saved again). The state is not written: the next
        # build reloads the same plugins again.
        ctx.effect(TaskKind.PLUGINS_RELOAD.value, "backend", OP_RELOAD, exc, duration_s=time.perf_counter() - started)
        if classify(exc) is Verdict.DETERMINISTIC:
            raise  # the plugin's own error (file:line): the next save of it tries again
        raise BackendError(f"{exc}; the next build reloads them again", status=exc.status) from None
    except BackendUnavailable as exc:
        if exc.kind == "down":
            log.debug("plugins-reload: %s; nothing to reload (it loads the current code when it starts)", exc)
        else:
            log.info("plugins-reload: %s; restart it to pick up changes to %s", exc, ", ".join(names))
        return
    ctx.effect(TaskKind.PLUGINS_RELOAD.value, "backend", OP_RELOAD, None, duration_s=time.perf_counter() - started)
    done = [*answer.get("reloaded", []), *answer.get("mounted", [])]
    routes = answer.get("routes") or {}
    for name in done:
        log.info("plugins-reload: %s reloaded in the backend (pid %s): %s", name, answer.get("pid"),
                 ", ".join(routes.get(name, [])) or "no routes")
    for name in answer.get("removed", []):
        log.info("plugins-reload: %s removed from the backend (pid %s)", name, answer.get("pid"))
