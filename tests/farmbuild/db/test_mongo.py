"""Applying migrations through the Database seam: mongomock always, a real MongoDB when
FARM_TEST_MONGODB_URL is set (same tests, see conftest.backend)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from farmbuild.db.mongo import LEDGER, Call, apply, applied, calls_for, plan_apply, status_rows
from farmbuild.db.operations import IndexSpec, Migration, Operation, OpType, parse_migration
from farmbuild.errors import MigrationApplyError

from .conftest import Backend

VALIDATOR = {"bsonType": "object", "required": ["name"], "properties": {"name": {"bsonType": "string"}}}


def mig(mid: str, *ops: dict[str, Any]) -> Migration:
    text = json.dumps({"id": mid, "name": "", "description": "", "operations": list(ops)})
    return parse_migration(text, f"apps/api/migrations/{mid}.json", checksum=f"md5-{mid}")


INITIAL = mig(
    "0001_products_initial",
    {"type": "create_collection", "collection": "products", "fields": {"name": "string", "sku": "string"}},
    {"type": "create_index", "collection": "products", "index": "sku_unique", "keys": [["sku", 1]], "unique": True},
    {"type": "set_validator", "collection": "products", "validator": VALIDATOR},
)


def names(backend: Backend) -> set[str]:
    return set(backend.db.list_collection_names())


def test_create_collection_indexes_and_validator(backend: Backend) -> None:
    report = apply(backend.db, [INITIAL], allow_destructive=False)
    assert [m.id for m in report.applied] == ["0001_products_initial"]
    assert {"products", LEDGER} <= names(backend)
    info = backend.db["products"].index_information()
    assert info["sku_unique"]["key"] == [("sku", 1)] and info["sku_unique"]["unique"]
    assert backend.validator_of("products") == VALIDATOR
    assert backend.validation_settings("products") == ("moderate", "warn")
    record = applied(backend.db)["0001_products_initial"]
    assert record["checksum"] == "md5-0001_products_initial" and record["operations"] == 3


def test_applying_is_idempotent_and_in_order(backend: Backend) -> None:
    add = mig("0002_products_add_stock", {"type": "add_field", "collection": "products", "field": "stock",
                                          "field_type": "int", "default_value": 0})
    report = apply(backend.db, [add, INITIAL], allow_destructive=False)  # given out of order
    assert [m.id for m in report.applied] == ["0001_products_initial", "0002_products_add_stock"]
    assert apply(backend.db, [INITIAL, add], allow_destructive=False).applied == []
    assert backend.db[LEDGER].count_documents({}) == 2


def test_add_field_backfills_only_missing_values(backend: Backend) -> None:
    apply(backend.db, [INITIAL], allow_destructive=False)
    coll = backend.db["products"]
    coll.insert_many([{"name": "a", "sku": "1"}, {"name": "b", "sku": "2", "organic": True}])
    created = "2026-09-01T08:00:00Z"
    m = mig("0002_products_add_organic",
            {"type": "add_field", "collection": "products", "field": "organic", "field_type": "bool", "default_value": False},
            {"type": "add_field", "collection": "products", "field": "listed", "field_type": "date", "default_value": created},
            {"type": "add_field", "collection": "products", "field": "sku2", "field_type": "string", "required": True})
    apply(backend.db, [INITIAL, m], allow_destructive=False)
    docs = {d["name"]: d for d in coll.find({}, {"_id": 0})}
    assert docs["a"]["organic"] is False and docs["b"]["organic"] is True
    assert docs["a"]["listed"].replace(tzinfo=UTC) == datetime(2026, 9, 1, 8, 0, tzinfo=UTC)  # a BSON date, not a string
    assert "sku2" not in docs["a"]  # no default: recorded, nothing written


def test_rename_field_moves_the_data(backend: Backend) -> None:
    apply(backend.db, [INITIAL], allow_destructive=False)
    backend.db["products"].insert_one({"name": "tomatoes", "sku": "t", "farm": "De Groene Akker"})
    m = mig("0002_products_rename_farm_producer",
            {"type": "rename_field", "collection": "products", "renamed_from": "farm", "field": "producer"})
    assert plan_apply([INITIAL, m], ["0001_products_initial"], allow_destructive=False).run == [m]  # not destructive
    apply(backend.db, [INITIAL, m], allow_destructive=False)
    doc = backend.db["products"].find_one({"name": "tomatoes"})
    assert doc["producer"] == "De Groene Akker" and "farm" not in doc


def test_destructive_migrations_wait_for_consent(backend: Backend) -> None:
    apply(backend.db, [INITIAL], allow_destructive=False)
    backend.db["products"].insert_one({"name": "x", "sku": "s", "legacy": 1})
    remove = mig("0002_products_remove_legacy", {"type": "remove_field", "collection": "products", "field": "legacy"})
    later = mig("0003_products_add_note", {"type": "add_field", "collection": "products", "field": "note",
                                           "default_value": ""})
    other = mig("0001_orders_initial", {"type": "create_collection", "collection": "orders", "fields": {}})
    report = apply(backend.db, [INITIAL, remove, later, other], allow_destructive=False)
    assert [m.id for m in report.applied] == ["0001_orders_initial"]  # other collections go ahead
    held = {h.migration.id: h.reason for h in report.held}
    assert "destructive (remove field 'legacy')" in held["0002_products_remove_legacy"]
    assert "--accept-data-loss" in held["0002_products_remove_legacy"]
    assert held["0003_products_add_note"] == "waits for 0002_products_remove_legacy"
    assert backend.db["products"].find_one({"name": "x"})["legacy"] == 1  # nothing lost
    report = apply(backend.db, [INITIAL, remove, later, other], allow_destructive=True)
    assert [m.id for m in report.applied] == ["0002_products_remove_legacy", "0003_products_add_note"]
    doc = backend.db["products"].find_one({"name": "x"})
    assert "legacy" not in doc and doc["note"] == ""


def test_drop_index_and_change_type(backend: Backend) -> None:
    apply(backend.db, [INITIAL], allow_destructive=False)
    m = mig("0002_products_drop_index_sku_unique",
            {"type": "drop_index", "collection": "products", "index": "sku_unique"},
            {"type": "create_index", "collection": "products", "index": "sku_1", "keys": [["sku", 1]], "unique": False},
            {"type": "change_type", "collection": "products", "field": "sku", "from_type": "string",
             "field_type": "int", "destructive": True})
    assert apply(backend.db, [INITIAL, m], allow_destructive=False).held
    apply(backend.db, [INITIAL, m], allow_destructive=True)
    info = backend.db["products"].index_information()
    assert "sku_unique" not in info and "sku_1" in info


def test_a_failing_operation_is_named_and_the_migration_not_recorded(backend: Backend) -> None:
    apply(backend.db, [INITIAL], allow_destructive=False)
    coll = backend.db["products"]
    coll.insert_many([{"name": "a", "sku": "1", "code": "X"}, {"name": "b", "sku": "2", "code": "X"}])
    m = mig("0002_products_index_code",
            {"type": "add_field", "collection": "products", "field": "origin", "default_value": "NL"},
            {"type": "create_index", "collection": "products", "index": "code_unique", "keys": [["code", 1]],
             "unique": True},
            {"type": "add_field", "collection": "products", "field": "after", "default_value": 1})
    with pytest.raises(MigrationApplyError) as info:
        apply(backend.db, [INITIAL, m], allow_destructive=False)
    err = info.value
    assert err.migration_id == "0002_products_index_code" and err.index == 1
    assert "operation 2 (create unique index 'code_unique' (code 1)) failed" in str(err)
    assert "apps/api/migrations/0002_products_index_code.json" in str(err)
    assert "farm db apply" in str(err)
    assert "0002_products_index_code" not in applied(backend.db)
    assert coll.count_documents({"after": {"$exists": True}}) == 0  # stopped at the failure
    # fix the data, run again: the first operation is idempotent, the migration completes
    coll.update_one({"name": "b"}, {"$set": {"code": "Y"}})
    report = apply(backend.db, [INITIAL, m], allow_destructive=False)
    assert [x.id for x in report.applied] == ["0002_products_index_code"]
    assert coll.count_documents({"origin": "NL", "after": 1}) == 2


def test_a_failing_validator_is_named(mongomock_backend: Backend) -> None:
    mongomock_backend.db.fail_collmod = "$jsonSchema keyword 'format' is not currently supported"
    with pytest.raises(MigrationApplyError) as info:
        apply(mongomock_backend.db, [INITIAL], allow_destructive=False)
    assert "operation 3 (set the collection's validator) failed: $jsonSchema keyword 'format'" in str(info.value)
    assert applied(mongomock_backend.db) == {}


def test_pre_existing_collections_and_indexes_are_adopted(backend: Backend) -> None:
    backend.db.create_collection("products")
    backend.db["products"].create_index([("sku", 1)], name="sku_unique", unique=True)
    report = apply(backend.db, [INITIAL], allow_destructive=False)
    assert report.applied == [INITIAL]


def test_calls_are_the_documented_pymongo_forms() -> None:
    c = "products"
    got = {op.type: calls_for(op) for op in [
        Operation(OpType.CREATE_COLLECTION, c, fields={}),
        Operation(OpType.ADD_FIELD, c, field="organic", field_type="bool", default_value=False),
        Operation(OpType.REMOVE_FIELD, c, field="legacy"),
        Operation(OpType.RENAME_FIELD, c, renamed_from="farm", field="producer"),
        Operation(OpType.CHANGE_TYPE, c, field="x", field_type="int"),
        Operation(OpType.CREATE_INDEX, c, index=IndexSpec("by_date", (("created_at", -1),), True, True, 60)),
        Operation(OpType.DROP_INDEX, c, index=IndexSpec("old", ())),
        Operation(OpType.SET_VALIDATOR, c, validator=VALIDATOR),
    ]}
    assert got[OpType.CREATE_COLLECTION] == [Call("create_collection", c, (c,))]
    assert got[OpType.ADD_FIELD] == [Call("update_many", c, ({"organic": {"$exists": False}}, {"$set": {"organic": False}}))]
    assert got[OpType.REMOVE_FIELD] == [Call("update_many", c, ({"legacy": {"$exists": True}}, {"$unset": {"legacy": ""}}))]
    assert got[OpType.RENAME_FIELD] == [
        Call("update_many", c, ({"farm": {"$exists": True}}, {"$rename": {"farm": "producer"}}))]
    assert got[OpType.CHANGE_TYPE] == []  # recorded, no data conversion
    assert got[OpType.CREATE_INDEX] == [Call("create_index", c, ([["created_at", -1]],),
                                             {"name": "by_date", "unique": True, "sparse": True,
                                              "expireAfterSeconds": 60})]
    assert got[OpType.DROP_INDEX] == [Call("drop_index", c, ("old",))]
    (collmod,) = got[OpType.SET_VALIDATOR]
    assert collmod.method == "command" and collmod.args[0]["collMod"] == c
    assert collmod.args[0]["validationLevel"] == "moderate" and collmod.args[0]["validationAction"] == "warn"
    assert got[OpType.ADD_FIELD][0].render() == \
        "db['products'].update_many({\"organic\": {\"$exists\": false}}, {\"$set\": {\"organic\": false}})"


def test_status_rows(backend: Backend) -> None:
    apply(backend.db, [INITIAL], allow_destructive=False)
    remove = mig("0002_products_remove_sku", {"type": "remove_field", "collection": "products", "field": "sku"})
    done = applied(backend.db)
    done["0000_gone"] = {"_id": "0000_gone"}
    rows = {r["id"]: r for r in status_rows([INITIAL, remove], done, allow_destructive=False)}
    assert rows["0001_products_initial"]["status"] == "applied"
    assert rows["0002_products_remove_sku"]["status"] == "pending" and rows["0002_products_remove_sku"]["destructive"]
    assert "--accept-data-loss" in rows["0002_products_remove_sku"]["note"]
    assert rows["0000_gone"]["note"] == "recorded in the database, but no file has this id"
    edited = parse_migration(INITIAL.render(), INITIAL.file or "", checksum="other")
    assert "changed after it was applied" in status_rows([edited], done, allow_destructive=False)[0]["note"]
    assert {r["status"] for r in status_rows([INITIAL], None, allow_destructive=False)} == {"unknown"}
