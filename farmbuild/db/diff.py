"""A document model against the replayed state of its collection → operations. Pure.

Renames cannot be detected reliably (a removed ``title`` and an added ``name`` of the same
type may be a rename or two unrelated changes), so a rename is written only when the model
says so: ``Field(json_schema_extra={"renamed_from": "old"})``. Without the hint, the remove +
add is written as such, with a warning that suggests the hint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .model import FieldTarget, TargetCollection
from .operations import Operation, OpType
from .state import CollectionState
from .validator import widens


@dataclass(frozen=True)
class Plan:
    """What it takes to bring one collection in line with its model."""

    collection: str
    operations: tuple[Operation, ...]
    warnings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.operations


def _add(target: TargetCollection, f: FieldTarget, warnings: list[str]) -> Operation:
    warning = None
    if f.has_default:
        return Operation(OpType.ADD_FIELD, target.collection, field=f.name, field_type=f.type,
                         required=f.required, default_value=f.default)
    if f.default_factory:
        warning = (f"'{f.name}' has a default factory that gives a new value per call: existing documents"
                   " are not backfilled; backfill them in a hand-written step if the model needs the field")
    elif f.required:
        warning = (f"'{f.name}' is required and has no default: existing documents do not have it and will not"
                   f" load; give it a default (then delete this migration and build again) or backfill the documents")
    else:
        warning = None  # optional without a default is not possible in pydantic; kept for hand-made schemas
    if warning:
        warnings.append(warning)
    return Operation(OpType.ADD_FIELD, target.collection, field=f.name, field_type=f.type,
                     required=f.required, warning=warning)


def diff(target: TargetCollection, current: CollectionState | None) -> Plan:
    """The operations that turn ``current`` (None: the collection is new) into ``target``."""
    name = target.collection
    if current is None:
        ops: list[Operation] = [Operation(OpType.CREATE_COLLECTION, name, fields={f.name: f.type for f in target.fields.values()})]
        ops += [Operation(OpType.CREATE_INDEX, name, index=idx) for idx in target.indexes.values()]
        ops.append(Operation(OpType.SET_VALIDATOR, name, validator=target.validator))
        return Plan(name, tuple(ops))

    warnings: list[str] = []
    renames: list[Operation] = []
    fields_now = dict(current.fields)
    for f in target.fields.values():
        old = f.renamed_from
        if old and old != f.name and old in fields_now and f.name not in fields_now:
            renames.append(Operation(OpType.RENAME_FIELD, name, renamed_from=old, field=f.name))
            fields_now = {(f.name if k == old else k): v for k, v in fields_now.items()}

    removed = [k for k in fields_now if k not in target.fields]
    added = [f for f in target.fields.values() if f.name not in fields_now]
    removes = [Operation(OpType.REMOVE_FIELD, name, field=k, field_type=fields_now[k]) for k in removed]
    adds = [_add(target, f, warnings) for f in added]
    for f in added:
        same = [k for k in removed if fields_now[k] == f.type]
        if same and not f.renamed_from:
            old = same[0]
            warnings.append(
                f"'{old}' was removed and '{f.name}' added with the same type ({f.type}). If this is a rename,"
                f" delete this migration, add Field(json_schema_extra={{\"renamed_from\": \"{old}\"}}) to"
                f" '{f.name}' in {target.where} and build again: otherwise the data in '{old}' is dropped")
    changes = []
    for f in target.fields.values():
        before = fields_now.get(f.name)
        if before is None or before == f.type:
            continue
        destructive = not widens(before, f.type)
        warning = None
        if destructive:
            warning = (f"'{f.name}' changes type from {before} to {f.type}: stored values are not converted;"
                       " documents that do not fit are logged by MongoDB's validator (validationAction: warn)")
            warnings.append(warning)
        changes.append(Operation(OpType.CHANGE_TYPE, name, field=f.name, from_type=before, field_type=f.type,
                                 destructive_change=destructive, warning=warning))
    if removes:
        warnings.append(
            "removing " + ", ".join(f"'{op.field}'" for op in removes)
            + " deletes that data from every document when applied (a destructive operation: it needs"
              " `farm db apply --accept-data-loss` or database.allow_destructive = true)")

    drops, creates = [], []
    for idx_name, idx in current.indexes.items():
        want = target.indexes.get(idx_name)
        if want is None or not want.same_as(idx):
            drops.append(Operation(OpType.DROP_INDEX, name, index=idx))
    for idx_name, want in target.indexes.items():
        have = current.indexes.get(idx_name)
        if have is None or not want.same_as(have):
            creates.append(Operation(OpType.CREATE_INDEX, name, index=want))

    validator = []
    if _canonical(current.validator) != _canonical(target.validator):
        validator.append(Operation(OpType.SET_VALIDATOR, name, validator=target.validator))

    return Plan(name, (*renames, *removes, *adds, *changes, *drops, *creates, *validator), tuple(warnings))


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
