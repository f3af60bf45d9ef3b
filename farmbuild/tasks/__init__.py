"""Task kinds. Each kind lives in its own module and contributes specs through a
``tasks(ctx)`` generator; :data:`KINDS` is the only place that wires them together.
doit orders execution from file_dep/targets/task_dep, and among tasks whose dependencies
are met it keeps this order: that is what runs the database schema update (``db``) before
type generation, as the original design orders them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from . import ai, client, db, hooks, openapi, plugins, pyclient, schema, types, vite_plugin
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext

KINDS: list[Callable[["BuildContext"], Iterable[TaskSpec]]] = [
    schema.tasks,
    db.tasks,  # right after schema, ahead of type generation (the original design's order)
    types.tasks,
    vite_plugin.tasks,
    openapi.tasks,
    client.tasks,
    hooks.tasks,
    # after the TypeScript outputs: a model pull or a backend reload must not hold them back
    plugins.tasks,
    ai.tasks,
    # the Python client last: doit runs independent tasks in definition order, and nothing
    # TypeScript waits for it (see farmbuild/tasks/pyclient.py)
    pyclient.tasks,
]

# Kinds whose outputs no running frontend waits for. `farm watch` should run a batch's other
# tasks first, notify Vite, and only then run these (a second doit call), so a slow generator
# (datamodel-code-generator takes about a second) never delays the browser.
DEFERRED: frozenset[TaskKind] = frozenset({TaskKind.PYCLIENT})

__all__ = ["DEFERRED", "KINDS", "TaskKind", "TaskSpec"]
