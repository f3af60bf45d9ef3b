"""``pyclient``: the Python client package, from the merged OpenAPI document.

``clients/python/`` (``[python_client] output``) gets an installable package
(``[python_client] package``, default ``<project>_client``): models by
datamodel-code-generator, ``Client``/``AsyncClient`` from a jinja2 template
(:mod:`codegen.pyclient`). It depends on the whole document, so it is the slowest generator
(datamodel-code-generator takes about a second for a small app): the kind is wired last in
:data:`farmbuild.tasks.KINDS`, so when doit may run several tasks it reaches this one after every
TypeScript output; ``farm watch`` should run it in a batch of its own after the rest (see the
README).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..errors import TaskError
from .openapi import document_path, meta_path
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext
    from ..project import Project

# what `generate` returns, relative to the output dir (the package name is filled in)
FILES = ("pyproject.toml", "{pkg}/__init__.py", "{pkg}/models.py", "{pkg}/client.py", "{pkg}/py.typed")


def output_dir(project: "Project") -> Path:
    return project.root / project.config.python_client.output


def targets(project: "Project") -> list[Path]:
    pkg = project.loaded.python_package
    return [output_dir(project) / f.format(pkg=pkg) for f in FILES]


def _load(project: "Project", path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise TaskError(f"{project.rel(path)}: unreadable ({exc}); run `farm build openapi-json`") from exc


def tasks(ctx: "BuildContext") -> Iterator[TaskSpec]:
    from codegen.pyclient import TEMPLATE_FILES

    project = ctx.project
    if not project.config.python_client.enabled:
        return
    doc, meta = document_path(project), meta_path(project)
    outs = targets(project)
    pkg = project.loaded.python_package
    out_dir = output_dir(project)

    def action() -> dict[Path, str]:
        from codegen.pyclient import ClientGenerationError, generate

        try:
            files = generate(_load(project, doc), _load(project, meta), package=pkg, source=project.rel(doc))
        except ClientGenerationError as exc:
            raise TaskError(f"{project.rel(out_dir / pkg)}: {exc}") from exc
        return {out_dir / Path(PurePosixPath(rel)): text for rel, text in files.items()}

    yield TaskSpec(
        kind=TaskKind.PYCLIENT,
        name=None,
        action=action,
        file_dep=(doc, meta, *TEMPLATE_FILES),
        targets=tuple(outs),
        config=project.loaded.section_fingerprint("python_client"),
        config_sections=("python_client",),
        doc=f"Python client package {pkg} in {project.rel(out_dir)}",
        meta={"package": pkg},
    )
