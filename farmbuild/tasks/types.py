"""``types:<model module>`` and ``types-index``: TypeScript types from the schema documents.

``types:<key>`` reads ``.farm/schema/<key>.json`` and writes
``<frontend src>/types/models/<key>.ts`` (one task per module, so an edit regenerates one
file; a comment-only edit leaves the schema JSON unchanged and stops before this task).
``types-index`` reads every schema document and writes ``types/models/index.ts`` (the barrel)
and ``types/api.ts`` (FastAPI's error shapes). The text comes from :mod:`codegen.typescript`.

What shapes a module's output besides its schema: the templates (``file_dep``), the frontend
config section, and *which* modules are model modules (a model of a module that is not one is
declared locally instead of imported) — the latter two go into the ``config`` fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from codegen.typescript import (
    API_FILE,
    INDEX_FILE,
    TEMPLATE_FILES,
    Export,
    NameCollision,
    module_exports,
    module_file,
    render_api,
    render_index,
    render_module,
)

from ..errors import SchemaError, UserCodeError
from ..project import Project, PyModule
from .schema import schema_path
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext

log = logging.getLogger(__name__)


def types_path(project: Project, module: PyModule) -> Path:
    """``<frontend src>/types/models/<key>.ts``."""
    return project.frontend_src / module_file(module.key)


def exports_path(project: Project, module: PyModule) -> Path:
    """``.farm/types/<key>.exports.json``: the names the module's ``.ts`` file exports, for the index."""
    return project.state_dir / "types" / f"{module.key}.exports.json"


def dump_exports(exports: list[Export]) -> str:
    return json.dumps({"format": 1, "exports": [[e.name, e.is_value] for e in exports]}, indent=0) + "\n"


def load_exports(project: Project, path: Path) -> list[Export]:
    try:
        data = json.loads(path.read_text("utf-8"))
        if data.get("format") != 1:
            raise ValueError("not format 1")
        return [Export(str(name), bool(is_value)) for name, is_value in data["exports"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SchemaError(
            f"{project.rel(path)}: cannot read the exports summary ({exc}); run `farm build` again"
            " (or `farm clean` if it keeps failing)"
        ) from exc


def module_files(project: Project) -> dict[str, PurePosixPath]:
    """Every model module's Python name → its ``.ts`` file, relative to the frontend ``src/``."""
    return {m.name: module_file(m.key) for m in project.models}


def load_schema(project: Project, path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise SchemaError(
            f"{project.rel(path)}: cannot read the schema document ({exc});"
            " run `farm build` again (or `farm clean` if it keeps failing)"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != 1:
        raise SchemaError(f"{project.rel(path)}: not a schema document of format 1; run `farm clean` and build again")
    return data


def render_types(project: Project, module: PyModule, files: Mapping[str, PurePosixPath] | None = None) -> str:
    """The ``.ts`` text of one model module from its schema document (a plain call for harnesses)."""
    return _render_types(project, module, files)[0]


def _render_types(project: Project, module: PyModule,
                  files: Mapping[str, PurePosixPath] | None = None) -> tuple[str, list[Export]]:
    doc = load_schema(project, schema_path(project, module))
    try:
        return render_module(doc, files if files is not None else module_files(project)), module_exports(doc)
    except NameCollision as exc:
        raise UserCodeError(str(exc), file=module.rel, line=exc.line) from exc


def render_types_index(project: Project, *, from_summaries: bool = False) -> tuple[dict[Path, str], list[str]]:
    """``types/models/index.ts`` and ``types/api.ts`` (with the barrel's collision warnings).

    From the schema documents (a plain call for harnesses), or from the exports summaries the
    ``types:<key>`` tasks wrote (what the ``types-index`` task does); both give the same text.
    """
    modules = []
    for module in project.models:
        if from_summaries:
            exports = load_exports(project, exports_path(project, module))
        else:
            exports = module_exports(load_schema(project, schema_path(project, module)))
        modules.append((module.key, exports))
    index, warnings = render_index(modules)
    return {project.frontend_src / INDEX_FILE: index, project.frontend_src / API_FILE: render_api()}, warnings


def _fingerprint(project: Project) -> str:
    layout = json.dumps(sorted((m.name, m.key) for m in project.models))
    return project.loaded.section_fingerprint("frontend") + ":" + hashlib.md5(layout.encode()).hexdigest()


def tasks(ctx: "BuildContext") -> Iterator[TaskSpec]:
    project = ctx.project
    files = module_files(project)
    fingerprint = _fingerprint(project)
    templates = tuple(TEMPLATE_FILES)
    for module in project.models:
        target, summary = types_path(project, module), exports_path(project, module)

        def action(module: PyModule = module, target: Path = target, summary: Path = summary) -> dict[Path, str]:
            text, exports = _render_types(project, module, files)
            return {target: text, summary: dump_exports(exports)}

        yield TaskSpec(
            kind=TaskKind.TYPES,
            name=module.task_name,
            action=action,
            file_dep=(schema_path(project, module), *templates),
            targets=(target, summary),
            config=fingerprint,
            config_sections=("frontend", "backend.models"),
            doc=f"TypeScript types of {module.rel}",
            meta={"module": module.name, "source": module.rel},
        )

    def index_action() -> dict[Path, str]:
        outputs, warnings = render_types_index(project, from_summaries=True)
        for w in warnings:
            log.warning("%s", w)
        return outputs

    yield TaskSpec(
        kind=TaskKind.TYPES_INDEX,
        name=None,
        action=index_action,
        file_dep=(*(exports_path(project, m) for m in project.models), *templates),
        targets=(project.frontend_src / INDEX_FILE, project.frontend_src / API_FILE),
        config=fingerprint,
        config_sections=("frontend", "backend.models"),
        doc="types/models/index.ts (every model type) and types/api.ts (API error types)",
    )
