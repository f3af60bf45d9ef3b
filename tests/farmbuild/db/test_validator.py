"""pydantic JSON Schema → MongoDB's $jsonSchema dialect (pure), checked against MongoDB's rules."""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from farmbuild.db.model import target_from_schema
from farmbuild.db.validator import (
    MAX_RECURSION,
    collmod_command,
    document_validator,
    to_mongo,
    type_name,
    widens,
)

from .mongo_schema import matches, parser_problems

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_API = REPO / "examples" / "farm-app" / "apps" / "api"


def _walk_keys(schema: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(schema, dict):
        for k, v in schema.items():
            out.add(k)
            out |= _walk_keys(v)
    elif isinstance(schema, list):
        for v in schema:
            out |= _walk_keys(v)
    return out


@pytest.mark.parametrize("schema, expected", [
    ({"type": "integer", "minimum": 0}, {"bsonType": ["int", "long"], "minimum": 0}),
    ({"type": "number"}, {"bsonType": ["double", "int", "long", "decimal"]}),
    ({"type": "string", "format": "date-time"}, {"bsonType": "date"}),
    ({"type": "string", "format": "date"}, {"bsonType": "date"}),
    ({"type": "string", "format": "uuid"}, {"bsonType": "binData"}),
    ({"type": "string", "format": "binary"}, {"bsonType": "binData"}),
    ({"type": "string", "format": "email"}, {"bsonType": "string"}),
    ({"type": "boolean"}, {"bsonType": "bool"}),
    ({"const": "card", "type": "string"}, {"bsonType": "string", "enum": ["card"]}),
    ({"type": "integer", "exclusiveMinimum": 0}, {"bsonType": ["int", "long"], "minimum": 0, "exclusiveMinimum": True}),
    ({"type": "number", "exclusiveMaximum": 5.5}, {"bsonType": ["double", "int", "long", "decimal"], "maximum": 5.5,
                                                   "exclusiveMaximum": True}),
    ({"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "title": "X"}, {"bsonType": ["string", "null"]}),
    ({"anyOf": [{"type": "string"}, {}]}, {}),  # one branch takes anything: so does the field
    ({"type": "object", "required": [], "properties": {}}, {"bsonType": "object", "properties": {}}),
    ({"type": "array", "maxItems": 2, "minItems": 2, "prefixItems": [{"type": "string"}, {"type": "integer"}]},
     {"bsonType": "array", "minItems": 2, "maxItems": 2, "items": [{"bsonType": "string"}, {"bsonType": ["int", "long"]}],
      "additionalItems": False}),
    ({"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "boolean"}},
     {"bsonType": "array", "items": [{"bsonType": "string"}], "additionalItems": {"bsonType": "bool"}}),
    ({"type": "array", "items": {"type": "string"}, "uniqueItems": True},
     {"bsonType": "array", "uniqueItems": True, "items": {"bsonType": "string"}}),
    ({"type": "object", "additionalProperties": {"type": "integer"}},
     {"bsonType": "object", "additionalProperties": {"bsonType": ["int", "long"]}}),
    ({"description": "x", "examples": [1], "deprecated": True, "readOnly": True, "renamed_from": "y",
      "x-farm-typevar": "T"}, {}),
    ({"enum": ["a", "a", "b"]}, {"enum": ["a", "b"]}),
])
def test_keywords_in_mongodb_dialect(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert to_mongo(schema, {}) == expected
    assert parser_problems(to_mongo(schema, {})) == []


def test_refs_are_inlined_and_siblings_kept() -> None:
    defs = {"m:Money": {"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"],
                        "title": "Money"}}
    out = to_mongo({"$ref": "#/$defs/m:Money", "description": "Price"}, defs)
    assert out == {"bsonType": "object", "properties": {"amount": {"bsonType": ["double", "int", "long", "decimal"]}},
                   "required": ["amount"]}
    both = to_mongo({"$ref": "#/$defs/m:Money", "required": ["currency"]}, defs)
    assert "allOf" in both  # a sibling that collides with the definition is kept, not merged over it
    assert "$ref" not in _walk_keys(both)


def test_recursion_is_cut_at_a_bounded_depth() -> None:
    defs = {"m:Node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/m:Node"}},
                                                        "name": {"type": "string"}}}}
    out = to_mongo({"$ref": "#/$defs/m:Node"}, defs)
    depth = 0
    node = out
    while "properties" in node:
        depth += 1
        node = node["properties"]["children"]["items"]
    assert depth == MAX_RECURSION
    assert node == {"bsonType": "object"}
    assert parser_problems(out) == []


def test_collmod_command_document() -> None:
    validator = {"bsonType": "object", "required": ["name"]}
    assert collmod_command("products", validator) == {
        "collMod": "products",
        "validator": {"$jsonSchema": {"bsonType": "object", "required": ["name"]}},
        "validationLevel": "moderate",
        "validationAction": "warn",
    }
    assert list(collmod_command("x", {}))[0] == "collMod"  # the command name must be the first key


@pytest.mark.parametrize("schema, name", [
    ({"bsonType": "string"}, "string"),
    ({"bsonType": ["int", "long"]}, "int"),
    ({"bsonType": ["double", "int", "long", "decimal"]}, "number"),
    ({"anyOf": [{"bsonType": ["double", "int", "long", "decimal"]}, {"bsonType": "string"}]}, "number|string"),
    ({"bsonType": ["null", "string"]}, "string|null"),
    ({"bsonType": "array", "items": {"bsonType": "string"}}, "array<string>"),
    ({"bsonType": "array", "items": [{"bsonType": "date"}, {"bsonType": "date"}]}, "array<date>"),
    ({"bsonType": "array"}, "array"),
    ({"enum": ["a", "b"]}, "string"),
    ({}, "any"),
])
def test_type_names(schema: dict[str, Any], name: str) -> None:
    assert type_name(schema) == name


@pytest.mark.parametrize("old, new, wider", [
    ("string", "string|null", True),
    ("string|null", "string", False),
    ("int", "number", True),
    ("number", "int", False),
    ("int", "string", False),
    ("array<string>", "array<string|null>", True),
    ("array<int>", "array<string>", False),
    ("object", "any", True),
])
def test_widening(old: str, new: str, wider: bool) -> None:
    assert widens(old, new) is wider


def test_validator_of_a_model_with_extra_forbid_allows_id(schema_of) -> None:  # noqa: ANN001
    data = schema_of("""
        from pydantic import BaseModel, ConfigDict

        class Tag(BaseModel):
            model_config = ConfigDict(extra="forbid")
            label: str

            class Settings:
                name = "tags"
    """)
    v = document_validator(data["definitions"]["Tag"], data["defs"]["validation"])
    assert v["additionalProperties"] is False
    assert v["properties"]["_id"] == {"bsonType": "objectId"}
    from bson import ObjectId

    assert matches(v, {"_id": ObjectId(), "label": "a"})
    assert not matches(v, {"_id": ObjectId(), "label": "a", "colour": "red"})
    assert parser_problems(v) == []


# -- the example app's models: accepted by MongoDB's parser, and accepting what the models store --

_DUMP = textwrap.dedent("""
    import base64, pickle, sys
    from datetime import UTC, datetime
    from decimal import Decimal
    from uuid import UUID
    sys.path.insert(0, sys.argv[1])
    from src.store import _store
    from src.models.common import Address, Money
    from src.models.orders import (CardPayment, Discount, Order, OrderLine, OrderStatus, RefundRequest, ShippingFee)
    from src.models.catalog import Unit
    day = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    order = Order(
        id=UUID("12345678-1234-5678-1234-567812345678"), customer_id="cus_0001",
        lines=[OrderLine(product_id="elstar-apples", product_name="Elstar apples", unit=Unit.kilogram, quantity=2,
                         unit_price=Money(amount=Decimal("3.20")))],
        payment=CardPayment(method="card", brand="visa", last4="4242"),
        adjustments=[Discount(kind="discount", code="AUTUMN", amount=Money(amount=Decimal("1.00"))),
                     ShippingFee(kind="shipping", carrier="PostNL", amount=Money(amount=Decimal("4.95")))],
        status=OrderStatus.paid, shipping_address=Address(recipient="A", street="S 1", postal_code="1000 AA", city="C"),
        delivery_window=(day, day), refund=RefundRequest(reason="late delivery", requested_at=day),
        tags={"gift"}, metadata={"channel": "web"}, created_at=day)
    docs = {
        "products": [p.model_dump(by_alias=True) for p in _store.products.values()],
        "customers": [c.model_dump(by_alias=True) for c in _store.customers.values()],
        "reviews": [r.model_dump(by_alias=True) for r in _store.reviews.values()],
        "orders": [order.model_dump(by_alias=True)],
    }
    from enum import Enum
    def plain(v):  # what bson encodes: an Enum member as its value (a str/int subclass)
        if isinstance(v, Enum):
            return v.value
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple, set)):
            return type(v)(plain(x) for x in v)
        return v
    sys.stdout.write(base64.b64encode(pickle.dumps(plain(docs))).decode())
""")


@pytest.fixture(scope="module")
def example_documents() -> dict[str, list[dict[str, Any]]]:
    """Documents as the example app's models dump them (Python mode, by alias: what pymongo stores)."""
    out = subprocess.run([sys.executable, "-c", _DUMP, str(EXAMPLE_API)], capture_output=True, text=True, check=True,
                         cwd=EXAMPLE_API)
    return pickle.loads(base64.b64decode(out.stdout))  # noqa: S301 - our own subprocess


def _example_targets() -> dict[str, Any]:
    """The validators in the committed initial migrations of the example app."""
    out = {}
    for path in sorted((EXAMPLE_API / "migrations").glob("0001_*_initial.json")):
        data = json.loads(path.read_text("utf-8"))
        for op in data["operations"]:
            if op["type"] == "set_validator":
                out[op["collection"]] = op["validator"]
    return out


def test_example_validators_pass_mongodb_parser_rules() -> None:
    validators = _example_targets()
    assert set(validators) == {"products", "customers", "orders", "reviews"}
    for name, v in validators.items():
        assert parser_problems(v) == [], name
        assert not {"$ref", "$defs", "format", "default", "type", "const", "prefixItems", "title"} & _walk_keys(v)


def test_example_validators_accept_what_the_models_store(example_documents) -> None:  # noqa: ANN001
    validators = _example_targets()
    for collection, docs in example_documents.items():
        assert docs, collection
        for doc in docs:
            assert matches(validators[collection], doc), (collection, doc)


def test_example_validators_reject_misfits(example_documents) -> None:  # noqa: ANN001
    validators = _example_targets()
    product = dict(example_documents["products"][0])
    assert not matches(validators["products"], {**product, "stock": -1})
    assert not matches(validators["products"], {**product, "stock": "12"})
    assert not matches(validators["products"], {k: v for k, v in product.items() if k != "name"})
    assert not matches(validators["products"], {**product, "created_at": "2026-09-01"})  # a string is not a date
    order = dict(example_documents["orders"][0])
    assert not matches(validators["orders"], {**order, "payment": {"method": "cash"}})
    assert not matches(validators["orders"], {**order, "status": 7})
    customer = dict(example_documents["customers"][0])
    assert not matches(validators["customers"], {**customer, "email": "not-an-email"})


def test_recursive_review_replies_are_validated_to_the_cut(example_documents) -> None:  # noqa: ANN001
    v = _example_targets()["reviews"]
    replies = v["properties"]["replies"]["items"]
    assert replies["properties"]["replies"]["items"]["properties"]["replies"]["items"] == {"bsonType": "object"}
    review = next(r for r in example_documents["reviews"] if r["replies"])
    bad_reply = {**review["replies"][0], "body": ""}
    assert not matches(v, {**review, "replies": [bad_reply]})


def test_target_reads_stored_names_and_hints(schema_of) -> None:  # noqa: ANN001
    data = schema_of("""
        from datetime import datetime
        from uuid import UUID, uuid4
        from pydantic import BaseModel, Field

        class Item(BaseModel):
            id: UUID = Field(default_factory=uuid4)
            sku: str = Field(alias="_id")
            title: str = Field(json_schema_extra={"renamed_from": "name"})
            tags: list[str] = Field(default_factory=list)
            seen: datetime | None = None

            class Settings:
                name = "items"
                indexes = [{"keys": [("sku", 1)], "unique": True, "sparse": True},
                           {"keys": "seen", "expireAfterSeconds": 3600}]
    """)
    t = target_from_schema(data, "Item")
    assert list(t.fields) == ["id", "_id", "title", "tags", "seen"]
    assert t.fields["id"].default_factory and not t.fields["id"].has_default  # uuid4: no constant default
    assert t.fields["tags"].default == []
    assert t.fields["title"].renamed_from == "name"
    assert t.fields["seen"].type == "date|null"
    assert t.indexes["sku_1"].unique and t.indexes["sku_1"].sparse
    assert t.indexes["seen_1"].expire_after_seconds == 3600
    assert "renamed_from" not in json.dumps(t.validator)
