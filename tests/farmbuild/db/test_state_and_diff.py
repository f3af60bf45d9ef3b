"""Replaying migrations into a state, and diffing models against it. Pure."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from farmbuild.db.diff import diff
from farmbuild.db.model import target_from_schema
from farmbuild.db.operations import IndexSpec, Migration, Operation, OpType, next_migration, parse_migration
from farmbuild.db.state import replay
from farmbuild.errors import MigrationError

@pytest.fixture
def product(schema_of) -> Callable[..., Any]:  # noqa: ANN001
    """The target of a Product model with extra field lines, indexes, a docstring, a name constraint."""

    def make(extra: str = "", indexes: str = '["name"]', doc: str = "", name: str = "str") -> Any:
        lines = ["from datetime import datetime", "from uuid import UUID, uuid4", "from typing import Annotated",
                 "from pydantic import BaseModel, Field", "", "class Product(BaseModel):"]
        if doc:
            lines.append(f"    {doc!r}")
        lines += [f"    name: {name}", "    stock: int = 0", "    created_at: datetime"]
        lines += ["    " + line for line in textwrap.dedent(extra).splitlines()]
        lines += ["", "    class Settings:", '        name = "products"', f"        indexes = {indexes}"]
        return target_from_schema(schema_of("\n".join(lines) + "\n"), "Product")

    return make


def evolve(history: list[Migration], target: Any) -> tuple[list[Migration], Any]:
    """Diff target against the replayed history; append the migration it needs (as read back from its file)."""
    state = replay(history).collections.get(target.collection)
    plan = diff(target, state)
    if plan.empty:
        return history, plan
    m = next_migration(target.collection, history, plan.operations)
    again = parse_migration(m.render(), f"apps/api/migrations/{m.id}.json")
    return [*history, again], plan


def types(plan: Any) -> list[str]:
    return [op.type.value for op in plan.operations]


def test_new_collection_then_convergence(product) -> None:  # noqa: ANN001
    history, plan = evolve([], product())
    assert types(plan) == ["create_collection", "create_index", "set_validator"]
    assert plan.operations[0].fields == {"name": "string", "stock": "int", "created_at": "date"}
    assert [m.id for m in history] == ["0001_products_initial"]
    history2, plan2 = evolve(history, product())
    assert plan2.empty and history2 == history


def test_add_field_with_default_and_required_without(product) -> None:  # noqa: ANN001
    history, _ = evolve([], product())
    history, plan = evolve(history, product("organic: bool = False\nsku: str\ntags: list[str] = Field(default_factory=list)"))
    ops = {op.field: op for op in plan.operations if op.type is OpType.ADD_FIELD}
    assert ops["organic"].default_value is False and ops["organic"].field_type == "bool"
    assert ops["tags"].default_value == []
    assert not ops["sku"].has_default and ops["sku"].required
    assert any("'sku' is required and has no default" in w for w in plan.warnings)
    assert types(plan)[-1] == "set_validator"
    assert history[-1].id == "0002_products_add_organic_add_sku_add_tags"
    assert evolve(history, product("organic: bool = False\nsku: str\ntags: list[str] = Field(default_factory=list)"))[1].empty


def test_factory_defaults_that_change_per_call_are_not_backfilled(product) -> None:  # noqa: ANN001
    history, _ = evolve([], product())
    _, plan = evolve(history, product("ref: UUID = Field(default_factory=uuid4)"))
    add = next(op for op in plan.operations if op.type is OpType.ADD_FIELD)
    assert not add.has_default and add.field_type == "binData"
    assert "default factory" in (add.warning or "")


def test_remove_field_is_destructive(product) -> None:  # noqa: ANN001
    history, _ = evolve([], product("colour: str = ''"))
    history, plan = evolve(history, product())
    remove = plan.operations[0]
    assert remove.type is OpType.REMOVE_FIELD and remove.field == "colour" and remove.destructive
    assert any("removing 'colour' deletes that data" in w for w in plan.warnings)
    assert "colour" not in replay(history).collections["products"].fields


def test_rename_only_with_the_hint(product) -> None:  # noqa: ANN001
    history, _ = evolve([], product("farm: str"))
    # no hint: remove + add, with a warning that suggests the hint
    _, plain = evolve(history, product("producer: str"))
    assert types(plain)[:2] == ["remove_field", "add_field"]
    hint = [w for w in plain.warnings if "renamed_from" in w]
    assert hint and "'farm' was removed and 'producer' added with the same type" in hint[0]
    # with the hint: one rename, not destructive
    hinted = 'producer: str = Field(json_schema_extra={"renamed_from": "farm"})'
    history, plan = evolve(history, product(hinted))
    assert types(plan) == ["rename_field", "set_validator"]  # the validator names 'producer' now
    assert plan.operations[0].renamed_from == "farm" and not plan.operations[0].destructive
    assert history[-1].id == "0002_products_rename_farm_producer"
    assert list(replay(history).collections["products"].fields) == ["name", "stock", "created_at", "producer"]
    # the hint can stay or go: nothing more to do
    assert evolve(history, product(hinted))[1].empty
    assert evolve(history, product("producer: str"))[1].empty


def test_rename_with_a_type_change(product) -> None:  # noqa: ANN001
    history, _ = evolve([], product("qty: int"))
    _, plan = evolve(history, product('amount: float = Field(json_schema_extra={"renamed_from": "qty"})'))
    assert types(plan)[:2] == ["rename_field", "change_type"]
    assert not plan.operations[1].destructive  # int -> number only widens


def test_change_type_narrowing_is_destructive_widening_is_not(product) -> None:  # noqa: ANN001
    history, _ = evolve([], product("code: str"))
    history, widen = evolve(history, product("code: str | None = None"))
    change = next(op for op in widen.operations if op.type is OpType.CHANGE_TYPE)
    assert (change.from_type, change.field_type, change.destructive) == ("string", "string|null", False)
    assert not widen.warnings
    _, narrow = evolve(history, product("code: int = 0"))
    change = next(op for op in narrow.operations if op.type is OpType.CHANGE_TYPE)
    assert change.destructive and change.warning and "not converted" in change.warning
    assert narrow.warnings


def test_indexes_created_dropped_and_redefined(product) -> None:  # noqa: ANN001
    history, _ = evolve([], product(indexes='["name", {"keys": [("stock", -1)], "name": "by_stock"}]'))
    history, plan = evolve(history, product(indexes='[{"keys": [("stock", 1)], "name": "by_stock", "unique": True},'
                                                    ' [("created_at", -1)]]'))
    assert types(plan) == ["drop_index", "drop_index", "create_index", "create_index"]
    assert [op.index.name for op in plan.operations] == ["name_1", "by_stock", "by_stock", "created_at_-1"]
    assert plan.operations[0].destructive
    assert set(replay(history).collections["products"].indexes) == {"by_stock", "created_at_-1"}


def test_constraint_and_docstring_changes(product) -> None:  # noqa: ANN001
    history, _ = evolve([], product())
    assert evolve(history, product(doc="Now with a docstring."))[1].empty  # no titles/descriptions in validators
    assert evolve(history, product(name='str = Field(description="Shown on the shelf label.")'))[1].empty
    history, plan = evolve(history, product(name="Annotated[str, Field(min_length=1, max_length=80)]"))
    assert types(plan) == ["set_validator"]
    assert plan.operations[0].validator["properties"]["name"] == {"bsonType": "string", "minLength": 1, "maxLength": 80}
    assert history[-1].id == "0002_products_validator"


def _m(mid: str, *ops: dict[str, Any]) -> Migration:
    import json

    return parse_migration(json.dumps({"id": mid, "name": "", "description": "", "operations": list(ops)}),
                           f"apps/api/migrations/{mid}.json")


CREATE = {"type": "create_collection", "collection": "p", "fields": {"a": "string"}}


@pytest.mark.parametrize("ops, problem", [
    ([CREATE, CREATE], "already created by 0001_p_initial"),
    ([{"type": "add_field", "collection": "q", "field": "x"}], "no earlier migration creates collection 'q'"),
    ([CREATE, {"type": "add_field", "collection": "p", "field": "a"}], "field 'a' already exists"),
    ([CREATE, {"type": "rename_field", "collection": "p", "renamed_from": "zz", "field": "b"}], "'zz' does not exist"),
    ([CREATE, {"type": "change_type", "collection": "p", "field": "zz", "field_type": "int"}], "'zz' does not exist"),
    ([CREATE, {"type": "create_index", "collection": "p", "index": "i", "keys": [["a", 1]]},
      {"type": "create_index", "collection": "p", "index": "i", "keys": [["a", -1]]}], "index 'i' already exists"),
])
def test_replay_refuses_inconsistent_histories(ops: list[dict[str, Any]], problem: str) -> None:
    history = [_m("0001_p_initial", ops[0])] + [_m(f"000{i + 2}_p_step", op) for i, op in enumerate(ops[1:])]
    with pytest.raises(MigrationError) as info:
        replay(history)
    assert problem in str(info.value)
    assert info.value.file.startswith("apps/api/migrations/000")


def test_replay_is_lenient_where_hand_written_migrations_have_reasons() -> None:
    history = [
        _m("0001_p_initial", CREATE),
        _m("0002_p_cleanup", {"type": "remove_field", "collection": "p", "field": "legacy_never_modelled"},
           {"type": "drop_index", "collection": "p", "index": "made_by_hand"}),
    ]
    assert replay(history).collections["p"].fields == {"a": "string"}


def test_replay_order_is_by_number_then_id() -> None:
    history = [
        _m("0002_p_add_b", {"type": "add_field", "collection": "p", "field": "b", "field_type": "int"}),
        _m("0010_p_rename", {"type": "rename_field", "collection": "p", "renamed_from": "b", "field": "c"}),
        _m("0001_p_initial", CREATE),
    ]
    state = replay(history)
    assert state.collections["p"].fields == {"a": "string", "c": "int"}
    assert state.collections["p"].migrations == ["0001_p_initial", "0002_p_add_b", "0010_p_rename"]


def test_index_spec_identity_ignores_only_the_name() -> None:
    a = IndexSpec("x", (("a", 1),), unique=False, sparse=None)
    assert a.same_as(IndexSpec("x", (("a", 1),), unique=False, sparse=False))
    assert not a.same_as(IndexSpec("x", (("a", 1),), unique=True))
    assert not a.same_as(IndexSpec("x", (("a", -1),)))
    op = Operation(OpType.CREATE_INDEX, "p", index=a)
    assert op.describe() == "create index 'x' (a 1)"
