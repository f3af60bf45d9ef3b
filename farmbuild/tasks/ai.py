"""``ai``: apply farm.toml's ``[ai]`` section to Ollama and the running backend (hot swap, no restart).

Its key is the ``[ai]`` section and ``development.hot_reload.ai_models`` (``config_changed``);
its target is the applied state ``.farm/state/ai.json`` (see :mod:`farmbuild.aisync`). A change
that could not be applied because a server is down stays *pending*: the task then counts as up
to date only while nothing it needs answers (a quick probe), so a no-op build on a bare machine
stays a no-op, and the first build after Ollama or the backend comes up applies it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..aisync import AISync, SyncOptions, dumps_state, probe, read_state, state_path
from ..devclient import backend_url
from ..runtime.ai import AIState
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext

log = logging.getLogger(__name__)

SECTIONS = ("ai", "development.hot_reload.ai_models")


def tasks(ctx: "BuildContext") -> Iterator[TaskSpec]:
    project = ctx.project
    cfg = project.config
    opts = cfg.development.hot_reload.ai_models
    if not opts.enabled:
        return
    target = state_path(project.state_dir)
    desired = AIState.from_config(cfg.ai)
    url = backend_url(cfg)

    def action() -> dict:
        sync = AISync(project.root, desired, read_state(target), backend_url=url,
                      options=SyncOptions(hot_swap=opts.hot_swap, preload_models=opts.preload_models,
                                          side_effects=ctx.side_effects),
                      on_effect=lambda comp, op, exc, secs: ctx.effect("ai", comp, op, exc, duration_s=secs))
        return {target: dumps_state(sync.run().state)}

    def nothing_pending() -> bool:
        """Up to date unless a pending change could be applied now (its server answers)."""
        state = read_state(target)
        if not state or not state.get("pending"):
            return True
        if state.get("desired") != desired.to_json():
            return False  # the config moved on: config_changed reruns the task anyway
        if not ctx.side_effects:
            return True
        reachable = probe(project.root, state, backend_url=url)
        if any(reachable.values()):
            return False
        log.info("ai: %d change%s pending (%s); still not reachable, the next build retries",
                 len(state.get("pending_changes") or []), "" if len(state.get("pending_changes") or []) == 1 else "s",
                 "; ".join(state.get("pending_changes") or []) or "resync")
        return True

    yield TaskSpec(
        kind=TaskKind.AI,
        name=None,
        action=action,
        targets=(target,),
        config=project.loaded.section_fingerprint(*SECTIONS),
        config_sections=SECTIONS,
        uptodate=(nothing_pending,),
        doc="pull/unload Ollama models and hot-swap the running backend's AI registry ([ai] in farm.toml)",
        meta={"backend_url": url},
    )
