"""What schema extraction adds to pydantic's JSON Schema for the generators (see the docstrings
of farmbuild/worker/jsonschema.py and schema_op.py)."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from farmbuild.worker.schema_op import extract

SHOP = '''
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, computed_field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = 0


class Cat(BaseModel):
    kind: Literal["cat"]


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"


class Hidden(BaseModel):
    secret: int = 1


class Summary(BaseModel):
    count: int


class Product(BaseModel):
    id: UUID = Field(default_factory=uuid4)
    created: datetime = Field(default_factory=datetime.now)
    tags: list[str] = Field(default_factory=list)
    price: Decimal
    note: str | None = None
    pet: Cat | Dog = Field(discriminator="kind")
    related: Page["Product"] | None = None
    numbers: Page[Decimal] | None = None
    hidden: Hidden = Field(default_factory=Hidden, exclude=True)

    @computed_field
    @property
    def summary(self) -> Summary:
        return Summary(count=1)
'''


@pytest.fixture
def doc(tmp_path: Path) -> Iterator[dict[str, Any]]:
    pkg = tmp_path / "addpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "shop.py").write_text(textwrap.dedent(SHOP))
    sys.path.insert(0, str(tmp_path))
    try:
        yield json.loads(json.dumps(extract("addpkg.shop", "apps/api/src/models/shop.py")))
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("addpkg")]:
            del sys.modules[name]


def product(doc: dict[str, Any], mode: str) -> dict[str, Any]:
    """Product refers to itself (Page["Product"]): its definition is a $ref into defs."""
    schema = doc["definitions"]["Product"][mode]
    if set(schema) == {"$ref"}:
        return doc["defs"][mode][schema["$ref"].removeprefix("#/$defs/")]
    return schema


def test_discriminator_mapping_points_at_real_keys(doc: dict[str, Any]) -> None:
    pet = product(doc, "serialization")["properties"]["pet"]
    assert pet["discriminator"]["mapping"] == {"cat": "#/$defs/addpkg.shop:Cat", "dog": "#/$defs/addpkg.shop:Dog"}


def test_serialization_lists_defaults_that_are_always_sent(doc: dict[str, Any]) -> None:
    ser = product(doc, "serialization")
    assert ser["x-farm-always-sent"] == ["id", "created", "tags", "note", "related", "numbers"]
    assert "hidden" not in ser["properties"]  # excluded: never sent
    assert "x-farm-always-sent" not in product(doc, "validation")


def test_decimal_strings_carry_their_format(doc: dict[str, Any]) -> None:
    assert product(doc, "serialization")["properties"]["price"] == {"format": "decimal", "title": "Price", "type": "string"}
    assert product(doc, "validation")["properties"]["price"]["anyOf"] == [
        {"type": "number"}, {"format": "decimal", "type": "string"},
    ]


def test_parametrized_generics_describe_their_arguments_and_template(doc: dict[str, Any]) -> None:
    refs = doc["refs"]
    page = refs["addpkg.shop:Page[addpkg.shop:Product]"]  # a forward reference, resolved
    assert page["generic_template"] == "addpkg.shop:Page[~T]"
    assert page["generic_params"] == ["T"]
    assert page["generic_arg_schemas"] == {
        "serialization": [{"$ref": "#/$defs/addpkg.shop:Product"}],
        "validation": [{"$ref": "#/$defs/addpkg.shop:Product"}],
    }
    decimals = refs["addpkg.shop:Page[decimal:Decimal]"]["generic_arg_schemas"]
    assert decimals["serialization"] == [{"format": "decimal", "type": "string"}]
    assert decimals["validation"] == [{"anyOf": [{"type": "number"}, {"format": "decimal", "type": "string"}]}]
    for mode in ("validation", "serialization"):
        template = doc["defs"][mode]["addpkg.shop:Page[~T]"]
        assert template["properties"]["items"]["items"] == {"x-farm-typevar": "T"}


def test_every_def_has_both_modes(doc: dict[str, Any]) -> None:
    # Summary is reached only through a computed field, Hidden only through an excluded one
    assert set(doc["defs"]["validation"]) == set(doc["defs"]["serialization"])
    assert {"addpkg.shop:Summary", "addpkg.shop:Hidden"} <= set(doc["defs"]["validation"])


def test_only_builtin_factories_record_a_default(doc: dict[str, Any]) -> None:
    fields = {f["name"]: f for f in doc["definitions"]["Product"]["fields"]}
    assert fields["tags"]["default"] == [] and fields["tags"]["default_factory"]
    for name in ("id", "created", "hidden"):
        assert fields[name]["default_factory"] and "default" not in fields[name]


def test_extraction_is_deterministic(doc: dict[str, Any], tmp_path: Path) -> None:
    sys.path.insert(0, str(tmp_path))
    try:
        for name in [n for n in sys.modules if n.startswith("addpkg")]:
            del sys.modules[name]
        again = json.loads(json.dumps(extract("addpkg.shop", "apps/api/src/models/shop.py")))
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith("addpkg")]:
            del sys.modules[name]
    assert again == doc
