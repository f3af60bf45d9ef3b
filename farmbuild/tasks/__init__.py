"""Task kinds. Each kind lives in its own module and contributes specs through a
``tasks(ctx)`` generator; :data:`KINDS` is the only place that wires them together.
doit orders execution from file_dep/targets/task_dep, and among tasks whose dependencies
are met it keeps this order: that is what runs the database schema update (``db``) before
type generation, as the original design orders them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from . import db, schema
from .spec import TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext

KINDS: list[Callable[["BuildContext"], Iterable[TaskSpec]]] = [
    schema.tasks,
    db.tasks,  # right after schema, ahead of type generation (the original design's order)
]

__all__ = ["KINDS", "TaskKind", "TaskSpec"]
