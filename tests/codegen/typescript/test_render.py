"""The shared renderer: JSON Schema nodes → TypeScript expressions (the API issue 4 builds on)."""

from __future__ import annotations

from typing import Any

import pytest

from codegen.typescript import Import, ImportScope, RefTarget, TypeRenderer, describe, jsdoc_tags, literal

REFS = {
    "Product": RefTarget(name="Product", module="./catalog"),
    "Money": RefTarget(name="Money", module="./common"),
    "Local": RefTarget(name="Local"),
    "Page[Product]": RefTarget(name="Page", module="./common", args=({"$ref": "#/$defs/Product"},)),
    "Record": RefTarget(name="Record", module="./weird"),
}


def resolve(ref: str, mode: str) -> RefTarget:
    key = ref.removeprefix("#/$defs/")
    target = REFS[key]
    if mode == "validation" and key == "Money":
        return RefTarget(name="MoneyInput", module="./common")
    return target


def expr(schema: Any, mode: str = "serialization", **kw: Any) -> str:
    return TypeRenderer(resolve, ImportScope(), **kw).expr(schema, mode)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({}, "unknown"),
        (True, "unknown"),
        (False, "never"),
        ({"type": "string"}, "string"),
        ({"type": "integer"}, "number"),
        ({"type": "number"}, "number"),
        ({"type": "boolean"}, "boolean"),
        ({"type": "null"}, "null"),
        ({"type": ["string", "null"]}, "string | null"),
        ({"const": "card"}, '"card"'),
        ({"enum": ["a", 1, True, None]}, '"a" | 1 | true | null'),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "string | null"),
        ({"anyOf": [{"type": "string"}, {"type": "string"}]}, "string"),
        ({"anyOf": [{"type": "string"}, {}]}, "unknown"),
        ({"type": "array", "items": {"type": "string"}}, "string[]"),
        ({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}}, "(string | null)[]"),
        ({"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}, "number[][]"),
        ({"type": "array"}, "unknown[]"),
        ({"type": "array", "maxItems": 0, "minItems": 0}, "[]"),
        ({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 2, "maxItems": 2},
         "[number, string]"),
        ({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 1, "maxItems": 2},
         "[number, string?]"),
        ({"type": "array", "prefixItems": [{"type": "integer"}], "items": {"type": "string"}, "minItems": 1},
         "[number, ...string[]]"),
        ({"type": "object"}, "Record<string, unknown>"),
        ({"type": "object", "additionalProperties": True}, "Record<string, unknown>"),
        ({"type": "object", "additionalProperties": {"type": "number"}}, "Record<string, number>"),
        ({"type": "object", "additionalProperties": {"type": "number"}, "propertyNames": {"$ref": "#/$defs/Local"}},
         "Partial<Record<Local, number>>"),
        ({"type": "object", "properties": {"a": {"type": "string"}, "b-c": {"type": "integer"}}, "required": ["a"]},
         '{ a: string; "b-c"?: number; }'),
        ({"$ref": "#/$defs/Product"}, "Product"),
        ({"$ref": "#/$defs/Page[Product]"}, "Page<Product>"),
        ({"type": "array", "items": {"$ref": "#/$defs/Money"}}, "Money[]"),
        ({"x-farm-typevar": "T"}, "T"),
        ({"allOf": [{"$ref": "#/$defs/Product"}]}, "Product"),
        ({"allOf": [{"$ref": "#/$defs/Product"}, {"$ref": "#/$defs/Local"}]}, "Product & Local"),
        ({"not": {"type": "string"}}, "unknown"),
    ],
)
def test_expressions(schema: Any, expected: str) -> None:
    assert expr(schema) == expected


def test_mode_picks_the_input_variant_and_imports_it() -> None:
    r = TypeRenderer(resolve, ImportScope())
    t = r.render({"type": "array", "items": {"$ref": "#/$defs/Money"}}, "validation")
    assert t.text == "MoneyInput[]"
    assert t.imports == frozenset({Import("./common", "MoneyInput", "MoneyInput")})
    # a second render reports only its own imports, the scope keeps all of them
    t2 = r.render({"$ref": "#/$defs/Product"}, "validation")
    assert t2.imports == frozenset({Import("./catalog", "Product", "Product")})
    assert r.scope.render() == (
        'import type { Product } from "./catalog";\nimport type { MoneyInput } from "./common";'
    )


def test_imports_that_collide_with_local_names_are_aliased() -> None:
    scope = ImportScope(declared={"Product"})
    r = TypeRenderer(resolve, scope)
    assert r.expr({"$ref": "#/$defs/Product"}, "serialization") == "CatalogProduct"
    assert scope.render() == 'import type { Product as CatalogProduct } from "./catalog";'


def test_a_shadowed_record_is_not_used() -> None:
    scope = ImportScope(declared={"Record"})
    r = TypeRenderer(resolve, scope)
    assert r.expr({"type": "object", "additionalProperties": {"type": "string"}}, "serialization") == "{ [key: string]: string }"
    keyed = {"type": "object", "additionalProperties": {"type": "string"}, "propertyNames": {"enum": ["a", "b"]}}
    assert r.expr(keyed, "serialization") == '{ [K in "a" | "b"]?: string }'


def test_a_global_once_used_pushes_a_later_import_of_that_name_to_an_alias() -> None:
    r = TypeRenderer(resolve, ImportScope())
    assert r.expr({"type": "object"}, "serialization") == "Record<string, unknown>"
    assert r.expr({"$ref": "#/$defs/Record"}, "serialization") == "WeirdRecord"


def test_discriminated_member_with_defaulted_tag_keeps_it_required_in_input() -> None:
    dog_input = {"properties": {"kind": {"const": "dog", "default": "dog"}}, "required": []}
    cat = {"properties": {"kind": {"const": "cat"}}, "required": ["kind"]}

    def res(ref: str, mode: str) -> RefTarget:
        key = ref.removeprefix("#/$defs/")
        if key == "Dog":
            return RefTarget(name="DogInput" if mode == "validation" else "Dog", schema=dog_input)
        return RefTarget(name="Cat", schema=cat)

    union = {
        "oneOf": [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}],
        "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/$defs/Cat", "dog": "#/$defs/Dog"}},
    }
    r = TypeRenderer(res)
    assert r.expr(union, "validation") == 'Cat | (DogInput & { kind: "dog" })'
    assert r.expr(union, "serialization") == "Cat | Dog"
    assert r.expr({"type": "array", "items": union}, "validation") == '(Cat | (DogInput & { kind: "dog" }))[]'


def test_properties_optional_readonly_and_always_sent() -> None:
    schema = {
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "integer", "default": 1},
            "c": {"type": "string", "readOnly": True},
        },
        "required": ["a", "c"],
        "x-farm-always-sent": ["b"],
    }
    r = TypeRenderer(resolve)
    out = [(p.name, p.optional, p.readonly) for p in r.properties(schema, "serialization")]
    assert out == [("a", False, False), ("b", False, False), ("c", False, True)]
    out = [(p.name, p.optional) for p in r.properties({**schema, "required": ["a"]}, "validation")]
    assert out == [("a", False), ("b", True), ("c", True)]
    # OpenAPI output schemas have no x-farm-always-sent: defaults_sent reads `default` instead
    plain = {k: v for k, v in schema.items() if k != "x-farm-always-sent"}
    assert [p.optional for p in TypeRenderer(resolve, defaults_sent=True).properties(plain, "serialization")] == [False, False, False]
    assert [p.optional for p in TypeRenderer(resolve).properties(plain, "serialization")] == [False, True, False]


def test_interface_rendering() -> None:
    schema = {
        "description": "A thing.",
        "properties": {"items": {"type": "array", "items": {"x-farm-typevar": "T"}}, "2fa": {"type": "boolean"}},
        "required": ["items", "2fa"],
        "additionalProperties": True,
    }
    text = TypeRenderer(resolve).interface("Box", schema, "serialization", params=["T"])
    assert text == (
        "/** A thing. */\n"
        "export interface Box<T> {\n"
        "  items: T[];\n"
        '  "2fa": boolean;\n'
        "  [key: string]: unknown;\n"
        "}"
    )


def test_jsdoc_tags_read_through_nullable_and_decimal_branches() -> None:
    schema = {
        "anyOf": [{"type": "number", "minimum": 0.0}, {"type": "string", "format": "decimal"}, {"type": "null"}],
        "default": None,
        "deprecated": True,
        "examples": ["1.50"],
    }
    assert jsdoc_tags(schema) == [
        ("deprecated", ""), ("format", "decimal"), ("default", "null"), ("minimum", "0"), ("example", '"1.50"'),
    ]
    assert describe({"description": "Amount.", "format": "uuid"}) == "/**\n * Amount.\n *\n * @format uuid\n */"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "null"), (True, "true"), (3, "3"), (-1, "-1"), (1.5, "1.5"), (2.0, "2"), ("a", '"a"'),
     ([1, "b"], 'readonly [1, "b"]'), (float("nan"), "number")],
)
def test_literals(value: Any, expected: str) -> None:
    assert literal(value) == expected
