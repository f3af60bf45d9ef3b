"""Migration files: parsing (strict, with file:line), rendering, naming, numbering. Pure."""

from __future__ import annotations

import json

import pytest

from farmbuild.db.operations import (
    IndexSpec,
    Migration,
    Operation,
    OpType,
    next_migration,
    parse_migration,
    parse_operation,
    slug,
    summary,
)
from farmbuild.errors import MigrationError

F = "apps/api/migrations/0002_products_add_organic.json"

ALL_OPS = [
    Operation(OpType.CREATE_COLLECTION, "products", fields={"name": "string", "stock": "int"}),
    Operation(OpType.ADD_FIELD, "products", field="organic", field_type="bool", required=False, default_value=False),
    Operation(OpType.ADD_FIELD, "products", field="sku", field_type="string", required=True, warning="no default"),
    Operation(OpType.REMOVE_FIELD, "products", field="legacy", field_type="string"),
    Operation(OpType.RENAME_FIELD, "products", renamed_from="farm", field="producer"),
    Operation(OpType.CHANGE_TYPE, "products", field="stock", from_type="int", field_type="number", destructive_change=False),
    Operation(OpType.CREATE_INDEX, "products", index=IndexSpec("sku_1", (("sku", 1),), True, True, None)),
    Operation(OpType.CREATE_INDEX, "products", index=IndexSpec("seen_-1", (("seen", -1),), False, None, 60)),
    Operation(OpType.DROP_INDEX, "products", index=IndexSpec("old_1", ())),
    Operation(OpType.SET_VALIDATOR, "products", validator={"bsonType": "object", "required": ["name"]}),
]


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.type.value)
def test_every_operation_round_trips_through_json(op: Operation) -> None:
    again = parse_operation(json.loads(json.dumps(op.to_json())))
    assert again.to_json() == op.to_json()
    assert again.destructive == op.destructive


def test_destructive_operations() -> None:
    destructive = {op.type for op in ALL_OPS if op.destructive}
    assert destructive == {OpType.REMOVE_FIELD, OpType.DROP_INDEX}  # the change_type above only widens
    narrowing = Operation(OpType.CHANGE_TYPE, "p", field="x", from_type="number", field_type="int", destructive_change=True)
    assert narrowing.destructive
    hand_written = parse_operation({"type": "change_type", "collection": "p", "field": "x", "field_type": "int"})
    assert hand_written.destructive  # unknown: assume the worst


def test_render_is_deterministic_and_parses_back() -> None:
    m = next_migration("products", [], ALL_OPS[1:3])
    text = m.render()
    assert text == next_migration("products", [], ALL_OPS[1:3]).render()
    assert text.endswith("\n") and "\t" not in text
    back = parse_migration(text, f"apps/api/migrations/{m.id}.json")
    assert back.to_json() == m.to_json()
    assert json.loads(text)["id"] == "0001_products_add_organic_add_sku"


def test_short_scalar_lists_stay_on_one_line() -> None:
    m = Migration("0001_p_x", "x", "", (ALL_OPS[6],))
    assert '"keys": [["sku", 1]]' in m.render()


@pytest.mark.parametrize("text, problem, line", [
    ("{", "invalid JSON", 1),
    ("[]", "expected a JSON object", None),
    ('{"id": "0002_products_add_organic", "operations": [], "extra": 1}', "unknown key(s) ['extra']", None),
    ('{"id": "0003_other", "name": "", "description": "", "operations": [{}]}', "must equal the file name", 2),
    ('{"operations": []}', "operations must be a non-empty list", None),
    ('{"operations": [\n  {"type": "create_collection", "collection": "p", "fields": {}},\n'
     '  {"type": "drop_everything", "collection": "p"}\n]}', "operations[1]: unknown type 'drop_everything'", 3),
    ('{"operations": [{"type": "add_field", "collection": "p"}]}', "add_field: missing 'field'", 1),
    ('{"operations": [{"type": "add_field", "collection": "p", "field": "x", "colour": 1}]}', "unknown key(s) ['colour']", 1),
    ('{"operations": [{"type": "create_index", "collection": "p", "index": "i", "keys": [["a", 2]]}]}', "direction", 1),
    ('{"operations": [{"type": "set_validator", "collection": "p", "validator": {}, "validation_action": "x"}]}',
     "validation_action", 1),
])
def test_bad_files_name_file_line_and_problem(text: str, problem: str, line: int | None) -> None:
    with pytest.raises(MigrationError) as info:
        parse_migration(text, F)
    assert problem in str(info.value)
    assert info.value.file == F
    assert info.value.line == line


def test_file_names_start_with_a_number() -> None:
    with pytest.raises(MigrationError, match="starts with its number"):
        parse_migration('{"operations": [{"type": "drop_index", "collection": "p", "index": "i"}]}',
                        "apps/api/migrations/products_fix.json")


@pytest.mark.parametrize("ops, name", [
    ([ALL_OPS[0], ALL_OPS[-1]], "initial"),
    ([ALL_OPS[1]], "add_organic"),
    ([ALL_OPS[4], ALL_OPS[-1]], "rename_farm_producer"),
    ([ALL_OPS[-1]], "validator"),
    ([ALL_OPS[3], ALL_OPS[1], ALL_OPS[2], ALL_OPS[5], ALL_OPS[6]], "remove_legacy_add_organic_add_sku_alter_stock_and_more"),
    ([ALL_OPS[8]], "drop_index_old_1"),
])
def test_summary_names_what_changed(ops: list[Operation], name: str) -> None:
    assert summary(ops) == name


def test_numbers_count_per_collection() -> None:
    existing = [
        Migration("0001_products_initial", "initial", "", (ALL_OPS[0],), number=1),
        Migration("0002_products_add_organic", "", "", (ALL_OPS[1],), number=2),
        Migration("0001_orders_initial", "initial", "", (Operation(OpType.CREATE_COLLECTION, "orders", fields={}),), number=1),
    ]
    assert next_migration("products", existing, [ALL_OPS[2]]).id == "0003_products_add_sku"
    orders_op = Operation(OpType.ADD_FIELD, "orders", field="note", default_value=None)
    assert next_migration("orders", existing, [orders_op]).id == "0002_orders_add_note"
    assert next_migration("reviews", existing, [Operation(OpType.CREATE_COLLECTION, "reviews", fields={})]).id == \
        "0001_reviews_initial"


def test_slug_keeps_file_names_safe() -> None:
    assert slug("../../etc/passwd") == "etc_passwd"
    assert slug("Ünïcode.Name") == "n_code_name"
    assert slug("___") == "x"
    m = next_migration("../evil", [], [Operation(OpType.CREATE_COLLECTION, "../evil", fields={})])
    assert "/" not in m.id and ".." not in m.id
