"""``client:<route module>`` and ``client-index``: the typed TypeScript API client.

``client:<key>`` turns the module's OpenAPI fragment into ``<src>/services/api/<key>.ts``: one
function per operation, named after the endpoint function, with the model types imported from
``types/models`` (never redeclared). It reads the schema documents of the model modules the
route module imports (to name ``XInput`` exactly as the type generator does), so its inputs are
the fragment, those documents and the templates. ``client-index`` writes ``services/api.ts`` and
the shared runtime ``services/api/_runtime.ts``. The text comes from :mod:`codegen.tsclient`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TaskError
from ..project import Project, PyModule
from .openapi import APP_KEY, fragment_deps, fragment_path
from .schema import schema_path
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext


def load_json(project: Project, path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise TaskError(f"{project.rel(path)}: unreadable {what} ({exc}); run `farm clean` and build again") from exc
    if not isinstance(data, dict) or data.get("format") != 1:
        raise TaskError(f"{project.rel(path)}: not a {what} of format 1; run `farm clean` and build again")
    return data


def route_groups(project: Project) -> list[tuple[str, PyModule | None]]:
    """Every fragment: ``(key, route module)``; the app's own routes are ``(_app, None)``."""
    return [(m.key, m) for m in project.routes] + [(APP_KEY, None)]


def models_used(project: Project, module: PyModule | None) -> list[PyModule]:
    """The model modules whose schema a route module's client may need: those it imports."""
    files = {p.resolve() for p in fragment_deps(project, module)}
    return [m for m in project.models if m.path.resolve() in files]


def fingerprint(project: Project) -> str:
    """Besides files: which modules are model modules (imported, not declared) and route modules."""
    layout = json.dumps([sorted((m.name, m.key) for m in project.models), sorted(m.key for m in project.routes)])
    return project.loaded.section_fingerprint("frontend") + ":" + hashlib.md5(layout.encode()).hexdigest()


def tasks(ctx: "BuildContext") -> Iterator[TaskSpec]:
    from codegen.tsclient import CLIENT_INDEX, CLIENT_INDEX_TEMPLATES, CLIENT_TEMPLATES, RUNTIME_FILE, client_file
    from codegen.typescript import module_file

    project = ctx.project
    files = {m.name: module_file(m.key) for m in project.models}
    config = fingerprint(project)
    for key, module in route_groups(project):
        fragment = fragment_path(project, key)
        used = models_used(project, module)
        target = project.frontend_src / client_file(key)

        def action(fragment: Path = fragment, used: list[PyModule] = used, target: Path = target) -> dict[Path, str]:
            from codegen.tsclient import plan, render_client

            docs = {m.name: load_json(project, schema_path(project, m), "schema document") for m in used}
            return {target: render_client(plan(load_json(project, fragment, "OpenAPI fragment"), docs, files))}

        yield TaskSpec(
            kind=TaskKind.CLIENT,
            name=key,
            action=action,
            file_dep=(fragment, *(schema_path(project, m) for m in used), *CLIENT_TEMPLATES),
            targets=(target,),
            config=config,
            config_sections=("frontend", "backend.models", "backend.routes"),
            doc=f"TypeScript API client of {module.rel}" if module else f"TypeScript API client of the app's own routes",
            meta={"module": module.name if module else None},
        )

    fragments = [fragment_path(project, key) for key, _ in route_groups(project)]
    index, runtime = project.frontend_src / CLIENT_INDEX, project.frontend_src / RUNTIME_FILE

    def index_action() -> dict[Path, str]:
        from codegen.tsclient import render_client_index, render_runtime

        loaded = [load_json(project, f, "OpenAPI fragment") for f in fragments]
        return {index: render_client_index(loaded), runtime: render_runtime()}

    yield TaskSpec(
        kind=TaskKind.CLIENT_INDEX,
        name=None,
        action=index_action,
        file_dep=(*fragments, *CLIENT_INDEX_TEMPLATES),
        targets=(index, runtime),
        config=config,
        config_sections=("frontend",),
        doc="services/api.ts (every route module's client) and services/api/_runtime.ts",
    )
