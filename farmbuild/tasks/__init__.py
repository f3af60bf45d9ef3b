"""Task kinds. Each kind lives in its own module and contributes specs through a
``tasks(ctx)`` generator; :data:`KINDS` is the only place that wires them together.
Order matters only for listing: doit orders execution from file_dep/targets/task_dep."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from . import schema, types, vite_plugin
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext

KINDS: list[Callable[["BuildContext"], Iterable[TaskSpec]]] = [
    schema.tasks,
    types.tasks,
    vite_plugin.tasks,
]

__all__ = ["KINDS", "TaskKind", "TaskSpec"]
