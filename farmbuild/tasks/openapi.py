"""``openapi:<route module>`` fragments and ``openapi-json``, the app's merged OpenAPI document.

Each route module gets a fragment (``.farm/openapi/<key>.json``): the worker imports the app
and runs FastAPI's own ``get_openapi`` over the routes whose endpoint is defined in that module,
so an edit to one router re-runs one fragment, not ``app.openapi()`` for the whole app. The
routes of no route module (defined in the app module itself, or in a plugin or a library) and
the document's own keys (info, servers, tags) are the app fragment ``openapi:_app``.

``openapi-json`` merges the fragments into ``.farm/openapi.json``, equal to ``app.openapi()``
(the component names are decided there, app-wide: see :mod:`codegen.openapi.merge`), and
``.farm/openapi.meta.json``, which says which Python function each operation is and which
Python class each component schema is, for the clients.

What a fragment depends on: its module and everything the module imports, plus the files on
the way from the app module to it (the app module, packages, a router module that includes it
with a prefix) — but not the other route modules, so editing one leaves the others up to date.
"""

from __future__ import annotations

import json
import weakref
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ProjectError, TaskError
from ..project import Project, PyModule
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext

log = logging.getLogger(__name__)

APP_KEY = "_app"  # not a valid route-module key unless someone names a router module _app.py
# keys whose generated files would collide with farmbuild's own: the app group, the client runtime
RESERVED_KEYS = (APP_KEY, "_runtime")


def fragment_path(project: Project, key: str) -> Path:
    return project.state_dir / "openapi" / f"{key}.json"


def document_path(project: Project) -> Path:
    return project.state_dir / "openapi.json"


def meta_path(project: Project) -> Path:
    return project.state_dir / "openapi.meta.json"


def fragment_keys(project: Project) -> list[str]:
    return [m.key for m in project.routes] + [APP_KEY]


def dumps(data: object) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def _walk(project: Project, start: str, barriers: set[str]) -> set[str]:
    """Local modules reachable from ``start`` by imports, not entering ``barriers``."""
    graph = project.graph
    seen = {start}
    stack = [start]
    while stack:
        for dep in graph.imports(stack.pop()):
            if dep not in seen and dep not in barriers:
                seen.add(dep)
                stack.append(dep)
    return seen


def fragment_deps(project: Project, module: PyModule | None) -> list[Path]:
    """The files a fragment depends on (see the module docstring)."""
    return project.graph.files(fragment_modules(project, module))


def fragment_modules(project: Project, module: PyModule | None) -> set[str]:
    """The local modules (dotted names) whose files a fragment depends on."""
    memo = _memo(project)
    name = module.name if module is not None else None
    hit = memo["modules"].get(name)
    if hit is not None:
        return hit
    graph = project.graph
    route_names = memo["route_names"]
    if module is None:
        mods = frozenset(_walk(project, project.app_module(), route_names))
    else:
        # a route module that imports this one may include its router with a prefix: keep it
        barriers = route_names - {module.name} - memo["importing_routes"].get(module.name, frozenset())
        mods = frozenset(graph.closure(module.name) | _walk(project, project.app_module(), barriers))
    memo["modules"][name] = mods
    return mods


# Per project (graph made once per discovery): the route names, which route modules import each
# module, and the answers of fragment_modules (the openapi and client tasks both ask, 2N times).
_MEMO: "weakref.WeakKeyDictionary[object, dict[str, Any]]" = weakref.WeakKeyDictionary()


def _memo(project: Project) -> dict[str, Any]:
    graph = project.graph
    memo = _MEMO.get(graph)
    if memo is None or memo["routes"] != [m.name for m in project.routes]:
        route_names = frozenset(m.name for m in project.routes)
        importing: dict[str, set[str]] = {}
        for r in route_names:
            for m in graph.closure(r):
                if m != r:
                    importing.setdefault(m, set()).add(r)
        memo = {"routes": [m.name for m in project.routes], "route_names": route_names,
                "importing_routes": {k: frozenset(v) for k, v in importing.items()}, "modules": {}}
        _MEMO[graph] = memo
    return memo


def tasks(ctx: "BuildContext") -> Iterator[TaskSpec]:
    project = ctx.project
    route_names = [m.name for m in project.routes]
    for m in project.routes:
        if m.key in RESERVED_KEYS:
            raise ProjectError(
                f"{m.rel}: the route module name '{m.key}' is reserved by farmbuild"
                f" ({', '.join(RESERVED_KEYS)} name its own generated files); rename the module"
            )
    config = project.loaded.section_fingerprint("backend")
    app_ref = project.config.backend.app
    fragments: list[Path] = []
    for module in [*project.routes, None]:
        key = module.key if module else APP_KEY
        target = fragment_path(project, key)
        fragments.append(target)
        source = module.rel if module else _app_source(project)

        def action(module: PyModule | None = module, key: str = key, target: Path = target,
                   source: str = source) -> dict[Path, str]:
            data = ctx.worker().call(
                "openapi_fragment", app=app_ref, module=module.name if module else None,
                route_modules=route_names, key=key, source=source,
            )
            return {target: dumps(data)}

        what = f"the routes of {module.rel}" if module else "the app's own routes and document info"
        yield TaskSpec(
            kind=TaskKind.OPENAPI_FRAGMENT,
            name=key,
            action=action,
            file_dep=tuple(fragment_deps(project, module)),
            targets=(target,),
            config=config,
            config_sections=("backend",),
            doc=f"OpenAPI fragment: {what}",
            meta={"module": module.name if module else None, "source": source},
        )

    doc_target, meta_target = document_path(project), meta_path(project)

    def merge_action() -> dict[Path, str]:
        from codegen.openapi import FragmentError, merge

        loaded = [_read_fragment(project, p) for p in fragments]
        if any(f.get("x-farm", {}).get("custom_openapi") for f in loaded):
            log.warning(
                "%s overrides app.openapi(): %s is what FastAPI generates from the routes, without the"
                " override (the clients are generated from it too)", app_ref, project.rel(doc_target),
            )

        def occurrences(names: list[str]) -> dict[str, int]:
            return ctx.worker().call("openapi_occurrences", app=app_ref, names=names)

        try:
            document, meta = merge(loaded, occurrences)
        except FragmentError as exc:
            raise TaskError(f"{project.rel(doc_target)}: {exc}") from exc
        return {doc_target: dumps(document), meta_target: dumps(meta)}

    yield TaskSpec(
        kind=TaskKind.OPENAPI,
        name=None,
        action=merge_action,
        # the app's files too: numbering types that share a qualified name asks the whole app
        file_dep=tuple(sorted({*fragments, *project.app_files()})),
        targets=(doc_target, meta_target),
        doc="the app's OpenAPI document (.farm/openapi.json, equal to app.openapi())",
    )


def _app_source(project: Project) -> str:
    files = project.graph.files([project.app_module()])
    return project.rel(files[0]) if files else project.app_module()


def _read_fragment(project: Project, path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise TaskError(f"{project.rel(path)}: unreadable OpenAPI fragment ({exc}); run `farm clean` and rebuild") from exc
    if not isinstance(data, dict):
        raise TaskError(f"{project.rel(path)}: not an OpenAPI fragment; run `farm clean` and rebuild")
    return data
