"""What the schema task records about a module: JSON Schema plus what JSON Schema loses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from farmbuild.errors import UserCodeError
from farmbuild.worker import Worker
from tests.conftest import write_tree

COMMON = """\
from decimal import Decimal
from enum import Enum, IntEnum
from typing import Generic, TypeVar
from pydantic import BaseModel, Field, computed_field

T = TypeVar("T")


class Priority(IntEnum):
    low = 1
    urgent = 9


class Unit(str, Enum):
    kilogram = "kg"
    piece = "pc"


class Money(BaseModel):
    \"\"\"An amount in a currency.\"\"\"

    amount: Decimal
    currency: str = "EUR"

    @computed_field
    @property
    def display(self) -> str:
        return f"{self.amount} {self.currency}"


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class Address(BaseModel):
    street: str
"""

SHOP = """\
from pydantic import BaseModel, Field
from src.models.common import Address as DeliveryAddress, Money, Page, Priority


class Address(BaseModel):
    vat_id: str


class Product(BaseModel):
    id: str = Field(alias="_id")
    two_factor: bool = Field(default=False, alias="2fa")
    title: str = Field(json_schema_extra={"renamed_from": "name"})
    stars: int = Field(default=0, deprecated="use rating")
    price: Money
    prio: Priority = Priority.low
    tags: set[str] = set()

    class Settings:
        name = "products"
        indexes = ["title", [("prio", -1), ("title", 1)],
                   {"keys": [("_id", 1)], "unique": True, "name": "products_id_unique"}]


class Invoice(BaseModel):
    billing: Address
    delivery: DeliveryAddress
    page: Page[Product]
"""


@pytest.fixture
def api(tmp_path: Path) -> Path:
    write_tree(tmp_path, {"src/__init__.py": "", "src/models/__init__.py": "",
                          "src/models/common.py": COMMON, "src/models/shop.py": SHOP})
    return tmp_path


@pytest.fixture
def extract(api: Path):  # noqa: ANN201
    w = Worker([api], [api], api, timeout_s=30)

    def run(mod: str) -> dict:
        return w.call("schema", module=f"src.models.{mod}", source=f"src/models/{mod}.py")

    yield run
    w.close()


def test_source_order_and_kinds(extract) -> None:  # noqa: ANN001
    data = extract("common")
    assert data["order"] == ["Priority", "Unit", "Money", "Page", "Address"]
    assert data["definitions"]["Priority"]["kind"] == "enum"
    assert data["definitions"]["Money"]["doc"] == "An amount in a currency."


def test_enum_member_names_survive(extract) -> None:  # noqa: ANN001
    d = extract("common")["definitions"]
    assert d["Priority"]["members"] == [["low", 1], ["urgent", 9]]
    assert d["Priority"]["base"] == "int"
    assert d["Unit"]["members"] == [["kilogram", "kg"], ["piece", "pc"]]
    assert d["Unit"]["base"] == "str"


def test_computed_fields_only_in_serialization(extract) -> None:  # noqa: ANN001
    money = extract("common")["definitions"]["Money"]
    assert "display" in money["serialization"]["properties"]
    assert money["serialization"]["properties"]["display"].get("readOnly") is True
    assert "display" not in money["validation"]["properties"]
    assert money["computed_fields"] == ["display"]


def test_generic_parameters_are_kept_symbolic(extract) -> None:  # noqa: ANN001
    page = extract("common")["definitions"]["Page"]
    assert page["generic_params"] == ["T"]
    assert page["validation"]["properties"]["items"]["items"] == {"x-farm-typevar": "T"}
    assert page["validation"]["title"] == "Page"


def test_refs_name_the_module_of_each_class(extract) -> None:  # noqa: ANN001
    data = extract("shop")
    refs = data["refs"]
    assert refs["src.models.common:Address"]["module"] == "src.models.common"
    assert refs["src.models.shop:Address"]["module"] == "src.models.shop"
    page = refs["src.models.common:Page[src.models.shop:Product]"]
    assert page["generic_origin"] == "src.models.common:Page"
    assert page["generic_args"] == ["src.models.shop:Product"]
    assert refs["src.models.common:Priority"]["members"] == [["low", 1], ["urgent", 9]]
    inv = data["definitions"]["Invoice"]["validation"]["properties"]
    assert inv["billing"] == {"$ref": "#/$defs/src.models.shop:Address"}
    assert inv["delivery"] == {"$ref": "#/$defs/src.models.common:Address"}


def test_field_info(extract) -> None:  # noqa: ANN001
    fields = {f["name"]: f for f in extract("shop")["definitions"]["Product"]["fields"]}
    assert fields["id"]["alias"] == "_id"
    assert fields["two_factor"]["alias"] == "2fa" and fields["two_factor"]["default"] is False
    assert fields["title"]["renamed_from"] == "name"
    assert fields["stars"]["deprecated"] == "use rating"
    assert fields["prio"]["default"] == 1
    assert fields["tags"]["default"] == []
    assert fields["price"]["required"] is True


def test_document_settings_are_normalised(extract) -> None:  # noqa: ANN001
    doc = extract("shop")["definitions"]["Product"]["document"]
    assert doc == {
        "collection": "products",
        "indexes": [
            {"keys": [["title", 1]], "unique": False, "name": "title_1"},
            {"keys": [["prio", -1], ["title", 1]], "unique": False, "name": "prio_-1_title_1"},
            {"keys": [["_id", 1]], "unique": True, "name": "products_id_unique"},
        ],
    }
    assert extract("shop")["definitions"]["Invoice"]["document"] is None


def test_bad_index_definition_names_the_class_line(extract, api: Path) -> None:  # noqa: ANN001
    (api / "src/models/shop.py").write_text(SHOP.replace('"title", [("prio", -1)', '"title", [("prio", 7)'))
    with pytest.raises(UserCodeError) as info:
        extract("shop")
    assert info.value.file == "src/models/shop.py"
    assert info.value.line == 9
    assert "direction of 'prio'" in str(info.value)


def test_output_is_deterministic_across_processes(api: Path) -> None:
    outs = []
    for _ in range(2):
        w = Worker([api], [api], api, timeout_s=30)
        try:
            outs.append(json.dumps(w.call("schema", module="src.models.shop", source="src/models/shop.py")))
        finally:
            w.close()
    assert outs[0] == outs[1]
    assert str(api) not in outs[0]  # no absolute paths
