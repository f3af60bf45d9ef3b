"""``schema:<model module>``: import the module in the worker, write ``.farm/schema/<key>.json``.

The JSON holds the validation and serialization schema of every model and enum defined in
the module, plus what JSON Schema loses (see :mod:`farmbuild.worker.schema_op`). It is the
input of every generator downstream; because it is written only when it changes, an edit
that does not change the models (a comment, a docstring of a function) stops the cascade
here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..project import Project, PyModule
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext


_PATHS: dict[tuple[Path, str], Path] = {}


def schema_path(project: Project, module: PyModule) -> Path:
    # asked ~70 times per module while the graph is made (every client task lists its models)
    key = (project.root, module.key)
    hit = _PATHS.get(key)
    if hit is None:
        hit = _PATHS[key] = project.state_dir / "schema" / f"{module.key}.json"
    return hit


def dumps(data: object) -> str:
    """Deterministic JSON for intermediate files (key order as produced, which is deterministic)."""
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def tasks(ctx: "BuildContext") -> Iterator[TaskSpec]:
    project = ctx.project
    for module in project.models:
        target = schema_path(project, module)

        def action(module: PyModule = module, target: Path = target) -> dict[Path, str]:
            data = ctx.worker().call("schema", module=module.name, source=module.rel)
            return {target: dumps(data)}

        yield TaskSpec(
            kind=TaskKind.SCHEMA,
            name=module.task_name,
            action=action,
            file_dep=tuple(project.module_files(module)),
            targets=(target,),
            config=project.loaded.section_fingerprint("backend"),
            config_sections=("backend",),
            doc=f"JSON Schema of the models in {module.rel}",
            meta={"module": module.name, "source": module.rel},
        )
