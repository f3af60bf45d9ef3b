"""``client:<route module>`` and ``client-index``: the typed TypeScript API client.

``client:<key>`` turns the module's OpenAPI fragment into ``<src>/services/api/<key>.ts``: one
function per operation, named after the endpoint function, with the model types imported from
``types/models`` (never redeclared). It reads the schema documents of the model modules the
route module imports (to name ``XInput`` exactly as the type generator does), so its inputs are
the fragment, those documents and the templates. ``client-index`` writes ``services/api.ts`` and
the shared runtime ``services/api/_runtime.ts``. The text comes from :mod:`codegen.tsclient`.

The index only needs each module's key and exported names: ``client:<key>`` also writes them to
``.farm/index/client/<key>.json`` and the index reads those, so a save that changes a module's
types or parameters but not its operations leaves the index up to date without reading 500
fragments (``hooks`` does the same).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TaskError
from ..project import Project, PyModule
from .openapi import APP_KEY, fragment_modules, fragment_path
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
    names = fragment_modules(project, module)
    return [m for m in project.models if m.name in names]


def summary_path(project: Project, which: str, key: str) -> Path:
    """``.farm/index/<client|hooks>/<key>.json``: what the index needs of one module."""
    return project.state_dir / "index" / which / f"{key}.json"


def dump_summary(entry: dict[str, Any]) -> str:
    return json.dumps({"format": 1, **entry}, indent=0, ensure_ascii=False) + "\n"


def load_summaries(project: Project, paths: list[Path]) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        data = load_json(project, path, "index summary")
        if not isinstance(data.get("key"), str) or not isinstance(data.get("names"), list):
            raise TaskError(f"{project.rel(path)}: not an index summary; run `farm clean` and build again")
        out.append(data)
    return out


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
        summary = summary_path(project, "client", key)

        def action(fragment: Path = fragment, used: list[PyModule] = used, target: Path = target,
                   summary: Path = summary) -> dict[Path, str]:
            from codegen.tsclient import index_entry, plan, render_client

            docs = {m.name: load_json(project, schema_path(project, m), "schema document") for m in used}
            frag = load_json(project, fragment, "OpenAPI fragment")
            return {target: render_client(plan(frag, docs, files)), summary: dump_summary(index_entry(frag, hooks=False))}

        yield TaskSpec(
            kind=TaskKind.CLIENT,
            name=key,
            action=action,
            file_dep=(fragment, *(schema_path(project, m) for m in used), *CLIENT_TEMPLATES),
            targets=(target, summary),
            config=config,
            config_sections=("frontend", "backend.models", "backend.routes"),
            doc=f"TypeScript API client of {module.rel}" if module else f"TypeScript API client of the app's own routes",
            meta={"module": module.name if module else None},
        )

    summaries = [summary_path(project, "client", key) for key, _ in route_groups(project)]
    index, runtime = project.frontend_src / CLIENT_INDEX, project.frontend_src / RUNTIME_FILE

    def index_action() -> dict[Path, str]:
        from codegen.tsclient import render_client_index, render_runtime

        return {index: render_client_index(load_summaries(project, summaries), summaries=True), runtime: render_runtime()}

    yield TaskSpec(
        kind=TaskKind.CLIENT_INDEX,
        name=None,
        action=index_action,
        file_dep=(*summaries, *CLIENT_INDEX_TEMPLATES),
        targets=(index, runtime),
        config=config,
        config_sections=("frontend",),
        doc="services/api.ts (every route module's client) and services/api/_runtime.ts",
    )
