"""The real pymongo path — MongoClient, sockets, wire commands — against a scripted server
(see wire.py). What a real MongoDB does with the commands is the FARM_TEST_MONGODB_URL tests'
job; this proves farmbuild sends the right ones, through real pymongo, from a real `farm`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from farmbuild.db.mongo import apply, connect
from farmbuild.db.operations import parse_migration
from farmbuild.errors import DatabaseError

from ...conftest import farm_cli
from .test_db_build import CANARY, MIGRATIONS, MODEL, shop
from .wire import WireMongo


@pytest.fixture
def wire() -> Iterator[WireMongo]:
    server = WireMongo().start()
    try:
        yield server
    finally:
        server.stop()


def names(server: WireMongo) -> list[str]:
    return [next(iter(c)) for c in server.commands]


MIGRATION = parse_migration(json.dumps({"id": "0001_p_initial", "operations": [
    {"type": "create_collection", "collection": "p", "fields": {"x": "int"}},
    {"type": "add_field", "collection": "p", "field": "x", "default_value": 1},
    {"type": "create_index", "collection": "p", "index": "x_1", "keys": [["x", 1]], "unique": True},
    {"type": "set_validator", "collection": "p", "validator": {"bsonType": "object"}},
]}), "apps/api/migrations/0001_p_initial.json", checksum="abc")


def test_apply_sends_the_documented_commands(wire: WireMongo) -> None:
    with connect(f"mongodb://127.0.0.1:{wire.port}/shop", "MONGODB_URL", timeout_ms=3000) as client:
        report = apply(client["shop"], [MIGRATION], allow_destructive=False)
        assert [m.id for m in report.applied] == ["0001_p_initial"]
        sent = len(wire.commands)
        assert apply(client["shop"], [MIGRATION], allow_destructive=False).applied == []
        assert names(wire)[sent:] == ["find"]  # applied already: one read, no write
    assert wire.sent("ping")
    (update,) = wire.sent("update")
    assert update["updates"][0]["q"] == {"x": {"$exists": False}} and update["updates"][0]["u"] == {"$set": {"x": 1}}
    (index,) = wire.sent("createIndexes")
    assert index["indexes"][0]["name"] == "x_1" and index["indexes"][0]["unique"] is True
    (collmod,) = wire.sent("collMod")
    assert collmod["collMod"] == "p" and collmod["validator"] == {"$jsonSchema": {"bsonType": "object"}}
    assert (collmod["validationLevel"], collmod["validationAction"]) == ("moderate", "warn")
    (record,) = [c for c in wire.sent("insert") if c["insert"] == "schema_migrations"]
    assert record["documents"][0]["_id"] == "0001_p_initial" and record["documents"][0]["checksum"] == "abc"
    order = names(wire)
    assert order.index("create") < order.index("update") < order.index("createIndexes") < order.index("collMod") \
        < order.index("insert")  # recorded last, after every operation


def test_farm_build_applies_to_a_local_server_in_development(make_project, wire: WireMongo) -> None:  # noqa: ANN001
    root: Path = make_project({MODEL: shop()})
    res = farm_cli("build", "-C", str(root), env={"MONGODB_URL": f"mongodb://127.0.0.1:{wire.port}/shop"})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "applied 0001_products_initial to mongodb://127.0.0.1:" in res.stderr
    assert {c["create"] for c in wire.sent("create")} == {"products"}
    assert wire.sent("collMod")[0]["collMod"] == "products"
    assert (root / MIGRATIONS / "0001_products_initial.json").is_file()
    # the next build changes nothing and so asks the server nothing
    sent = len(wire.commands)
    res = farm_cli("build", "-C", str(root), env={"MONGODB_URL": f"mongodb://127.0.0.1:{wire.port}/shop"})
    assert res.returncode == 0 and len(wire.commands) == sent


def test_failed_authentication_keeps_the_password_secret(make_project, wire: WireMongo) -> None:  # noqa: ANN001
    url = f"mongodb://app:{CANARY}@127.0.0.1:{wire.port}/shop"
    with pytest.raises(DatabaseError) as info:
        with connect(url, "MONGODB_URL", timeout_ms=2000):
            pass
    assert CANARY not in str(info.value) and "mongodb://***@127.0.0.1" in str(info.value)
    assert "refused the connection" in str(info.value) and "Check the user, password" in str(info.value)
    root: Path = make_project({MODEL: shop()})
    for args in (("build", "-vv"), ("db", "status"), ("db", "plan")):
        res = farm_cli(*args, "-C", str(root), env={"MONGODB_URL": url})
        assert res.returncode == 1, (args, res.stderr)
        assert CANARY not in res.stdout + res.stderr, args
    for p in root.rglob("*"):
        if p.is_file():
            assert CANARY.encode() not in p.read_bytes(), p
