"""``hooks:<route module>`` and ``hooks-index``: TanStack Query v5 hooks over the API client.

``hooks:<key>`` writes ``<src>/hooks/api/<key>.ts`` from the module's OpenAPI fragment (the
hooks only name the client's functions and types, so the fragment and the template are all it
reads); ``hooks-index`` writes ``hooks/api.ts`` from the names summaries the ``hooks:<key>`` tasks
write (``.farm/index/hooks/<key>.json``, see :mod:`.client`). The text comes from :mod:`codegen.tsclient`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .client import dump_summary, fingerprint, load_json, load_summaries, route_groups, summary_path
from .openapi import fragment_path
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext


def tasks(ctx: "BuildContext") -> Iterator[TaskSpec]:
    from codegen.tsclient import HOOKS_INDEX, HOOKS_INDEX_TEMPLATES, HOOKS_TEMPLATES, hooks_file

    project = ctx.project
    config = fingerprint(project)
    for key, module in route_groups(project):
        fragment = fragment_path(project, key)
        target = project.frontend_src / hooks_file(key)
        summary = summary_path(project, "hooks", key)

        def action(fragment: Path = fragment, target: Path = target, summary: Path = summary) -> dict[Path, str]:
            from codegen.tsclient import index_entry, plan, render_hooks

            # names and parameters only: model types are the client's business
            frag = load_json(project, fragment, "OpenAPI fragment")
            return {target: render_hooks(plan(frag, {}, {})), summary: dump_summary(index_entry(frag, hooks=True))}

        yield TaskSpec(
            kind=TaskKind.HOOKS,
            name=key,
            action=action,
            file_dep=(fragment, *HOOKS_TEMPLATES),
            targets=(target, summary),
            config=config,
            config_sections=("frontend",),
            doc=f"React Query hooks of {module.rel}" if module else f"React Query hooks of the app's own routes",
            meta={"module": module.name if module else None},
        )

    summaries = [summary_path(project, "hooks", key) for key, _ in route_groups(project)]
    index = project.frontend_src / HOOKS_INDEX

    def index_action() -> dict[Path, str]:
        from codegen.tsclient import render_hooks_index

        return {index: render_hooks_index(load_summaries(project, summaries), summaries=True)}

    yield TaskSpec(
        kind=TaskKind.HOOKS_INDEX,
        name=None,
        action=index_action,
        file_dep=(*summaries, *HOOKS_INDEX_TEMPLATES),
        targets=(index,),
        config=config,
        config_sections=("frontend",),
        doc="hooks/api.ts (every route module's hooks)",
    )
