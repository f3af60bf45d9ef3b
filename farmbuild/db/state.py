"""The schema the migrations describe: replay them in order into a state. Pure.

Migrations are the state (as in Django and Alembic): there is no hidden cache, so a clean
checkout and an incremental build see the same thing. Replaying is strict where a conflict
means two histories were merged wrong (a collection created twice, a field added twice, a
rename onto an existing field) and lenient where a hand-written migration has good reason
(removing a field the models never knew, dropping an index that was made by hand).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import MigrationError
from .operations import IndexSpec, Migration, Operation, OpType, order


@dataclass
class CollectionState:
    name: str
    fields: dict[str, str] = field(default_factory=dict)  # stored name -> type name
    indexes: dict[str, IndexSpec] = field(default_factory=dict)
    validator: dict[str, Any] | None = None
    migrations: list[str] = field(default_factory=list)  # ids that touched it, in order


@dataclass
class SchemaState:
    collections: dict[str, CollectionState] = field(default_factory=dict)


def _fail(migration: Migration, index: int, problem: str) -> MigrationError:
    return MigrationError(migration.where, f"operations[{index}] ({migration.operations[index].type}): {problem}")


def apply_operation(state: SchemaState, op: Operation, migration: Migration, index: int) -> None:
    """Apply one operation to ``state`` (in place)."""
    if op.type is OpType.CREATE_COLLECTION:
        if op.collection in state.collections:
            first = state.collections[op.collection].migrations[0]
            raise _fail(migration, index, f"collection '{op.collection}' was already created by {first};"
                                          " two histories were merged: keep one of the two migrations")
        state.collections[op.collection] = CollectionState(op.collection, dict(op.fields or {}), migrations=[migration.id])
        return
    coll = state.collections.get(op.collection)
    if coll is None:
        raise _fail(migration, index, f"no earlier migration creates collection '{op.collection}'"
                                      " (add a create_collection operation before this one)")
    if op.type is OpType.ADD_FIELD:
        assert op.field is not None
        if op.field in coll.fields:
            raise _fail(migration, index, f"field '{op.field}' already exists in '{op.collection}'")
        coll.fields[op.field] = op.field_type or "any"
    elif op.type is OpType.REMOVE_FIELD:
        coll.fields.pop(op.field or "", None)
    elif op.type is OpType.RENAME_FIELD:
        assert op.field is not None and op.renamed_from is not None
        if op.renamed_from not in coll.fields:
            raise _fail(migration, index, f"field '{op.renamed_from}' does not exist in '{op.collection}'")
        if op.field in coll.fields:
            raise _fail(migration, index, f"field '{op.field}' already exists in '{op.collection}'")
        coll.fields = {(op.field if k == op.renamed_from else k): v for k, v in coll.fields.items()}
    elif op.type is OpType.CHANGE_TYPE:
        if op.field not in coll.fields:
            raise _fail(migration, index, f"field '{op.field}' does not exist in '{op.collection}'")
        coll.fields[op.field or ""] = op.field_type or "any"
    elif op.type is OpType.CREATE_INDEX:
        assert op.index is not None
        if op.index.name in coll.indexes:
            raise _fail(migration, index, f"index '{op.index.name}' already exists on '{op.collection}'"
                                          " (drop it first to change it)")
        coll.indexes[op.index.name] = op.index
    elif op.type is OpType.DROP_INDEX:
        assert op.index is not None
        coll.indexes.pop(op.index.name, None)
    elif op.type is OpType.SET_VALIDATOR:
        coll.validator = dict(op.validator or {})
    if migration.id not in coll.migrations:
        coll.migrations.append(migration.id)


def replay(migrations: Iterable[Migration]) -> SchemaState:
    """The state after every migration, applied in order (by number, then id)."""
    state = SchemaState()
    for migration in order(migrations):
        for i, op in enumerate(migration.operations):
            apply_operation(state, op, migration, i)
    return state
