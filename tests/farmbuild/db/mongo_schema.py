"""Test helpers: MongoDB's ``$jsonSchema`` rules and semantics, for validators built here.

No MongoDB server can run on the build machines, and mongomock never evaluates validators, so
the validator documents are checked two ways: :func:`parser_problems` applies the rules
MongoDB's ``$jsonSchema`` parser enforces (the keywords it knows, ``bsonType`` aliases,
non-empty ``required``/``enum``, boolean ``exclusiveMinimum`` next to a ``minimum``), and
:func:`matches` evaluates a schema against a Python document the way the server would after
pymongo encoded it (datetime → date, UUID → binData, Decimal → decimal, int → int/long).
The real server is exercised by the integration test when ``FARM_TEST_MONGODB_URL`` is set.
"""

from __future__ import annotations

import datetime
import decimal
import re
import uuid
from typing import Any

KEYWORDS = {
    "additionalItems", "additionalProperties", "allOf", "anyOf", "bsonType", "dependencies", "description",
    "enum", "exclusiveMaximum", "exclusiveMinimum", "items", "maximum", "maxItems", "maxLength", "maxProperties",
    "minimum", "minItems", "minLength", "minProperties", "multipleOf", "not", "oneOf", "pattern",
    "patternProperties", "properties", "required", "title", "type", "uniqueItems",
}
BSON_ALIASES = {
    "double", "string", "object", "array", "binData", "undefined", "objectId", "bool", "date", "null", "regex",
    "dbPointer", "javascript", "symbol", "javascriptWithScope", "int", "timestamp", "long", "decimal", "minKey",
    "maxKey", "number",
}


def parser_problems(schema: Any, path: str = "$") -> list[str]:
    """What MongoDB's $jsonSchema parser would refuse in ``schema`` (empty: accepted)."""
    out: list[str] = []
    if not isinstance(schema, dict):
        return [f"{path}: a schema must be an object"]
    for key, value in schema.items():
        here = f"{path}.{key}"
        if key not in KEYWORDS:
            out.append(f"{here}: unknown or unsupported $jsonSchema keyword")
        elif key == "type":
            out.append(f"{here}: use bsonType (type 'integer' is unsupported; farmbuild never emits type)")
        elif key == "bsonType":
            values = value if isinstance(value, list) else [value]
            if not values or any(v not in BSON_ALIASES for v in values) or len(set(values)) != len(values):
                out.append(f"{here}: invalid bsonType {value!r}")
        elif key == "required":
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                out.append(f"{here}: must be a non-empty array of strings")
            elif len(set(value)) != len(value):
                out.append(f"{here}: values must be unique")
        elif key == "enum":
            if not isinstance(value, list) or not value:
                out.append(f"{here}: must be a non-empty array")
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            plain = "minimum" if key == "exclusiveMinimum" else "maximum"
            if not isinstance(value, bool):
                out.append(f"{here}: must be a boolean in draft 4")
            elif plain not in schema:
                out.append(f"{here}: needs {plain}")
        elif key in ("minimum", "maximum", "multipleOf"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                out.append(f"{here}: must be a number")
        elif key in ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                out.append(f"{here}: must be a non-negative integer")
        elif key == "pattern":
            try:
                re.compile(value)
            except (re.error, TypeError):
                out.append(f"{here}: invalid regex")
        elif key in ("properties", "patternProperties"):
            if not isinstance(value, dict):
                out.append(f"{here}: must be an object")
            else:
                for k, v in value.items():
                    out += parser_problems(v, f"{here}.{k}")
        elif key in ("additionalProperties", "additionalItems"):
            if not isinstance(value, bool):
                out += parser_problems(value, here)
        elif key == "items":
            if isinstance(value, list):
                for i, v in enumerate(value):
                    out += parser_problems(v, f"{here}[{i}]")
            else:
                out += parser_problems(value, here)
        elif key in ("anyOf", "oneOf", "allOf"):
            if not isinstance(value, list) or not value:
                out.append(f"{here}: must be a non-empty array")
            else:
                for i, v in enumerate(value):
                    out += parser_problems(v, f"{here}[{i}]")
        elif key == "not":
            out += parser_problems(value, here)
        elif key in ("title", "description") and not isinstance(value, str):
            out.append(f"{here}: must be a string")
        elif key == "uniqueItems" and not isinstance(value, bool):
            out.append(f"{here}: must be a boolean")
    return out


def bson_types(value: Any) -> set[str]:
    if value is None:
        return {"null"}
    if isinstance(value, bool):
        return {"bool"}
    if isinstance(value, int):
        return {"int", "number"} if -(2**31) <= value < 2**31 else {"long", "number"}
    if isinstance(value, float):
        return {"double", "number"}
    if isinstance(value, decimal.Decimal):
        return {"decimal", "number"}
    if isinstance(value, str):
        return {"string"}
    if isinstance(value, datetime.datetime):
        return {"date"}
    if isinstance(value, (uuid.UUID, bytes)):
        return {"binData"}
    if type(value).__name__ == "ObjectId":
        return {"objectId"}
    if isinstance(value, dict):
        return {"object"}
    if isinstance(value, (list, tuple, set, frozenset)):
        return {"array"}
    raise TypeError(f"pymongo cannot encode {type(value).__name__}")


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False  # BSON: true is not 1
    return bool(a == b)


def _num(value: Any) -> Any:
    return float(value) if isinstance(value, decimal.Decimal) else value


def matches(schema: dict[str, Any], value: Any) -> bool:
    """Whether ``value`` (as pymongo would store it) satisfies ``schema`` (MongoDB semantics)."""
    types = bson_types(value)
    if "bsonType" in schema:
        allowed = schema["bsonType"] if isinstance(schema["bsonType"], list) else [schema["bsonType"]]
        if not types & set(allowed):
            return False
    if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
        return False
    if "string" in types:
        if "minLength" in schema and len(value) < schema["minLength"]:
            return False
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return False
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
    if "number" in types:
        n = _num(value)
        if "minimum" in schema:
            if n < schema["minimum"] or (schema.get("exclusiveMinimum") and n == schema["minimum"]):
                return False
        if "maximum" in schema:
            if n > schema["maximum"] or (schema.get("exclusiveMaximum") and n == schema["maximum"]):
                return False
    if "array" in types:
        items = list(value)
        if "minItems" in schema and len(items) < schema["minItems"]:
            return False
        if "maxItems" in schema and len(items) > schema["maxItems"]:
            return False
        spec = schema.get("items")
        if isinstance(spec, dict) and not all(matches(spec, v) for v in items):
            return False
        if isinstance(spec, list):
            if not all(matches(s, v) for s, v in zip(spec, items)):
                return False
            extra = items[len(spec):]
            add = schema.get("additionalItems", True)
            if add is False and extra:
                return False
            if isinstance(add, dict) and not all(matches(add, v) for v in extra):
                return False
    if "object" in types:
        for name in schema.get("required", []):
            if name not in value:
                return False
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                if not matches(props[k], v):
                    return False
            else:
                pattern_hit = False
                for pat, sub in schema.get("patternProperties", {}).items():
                    if re.search(pat, k):
                        pattern_hit = True
                        if not matches(sub, v):
                            return False
                if pattern_hit:
                    continue
                add = schema.get("additionalProperties", True)
                if add is False or (isinstance(add, dict) and not matches(add, v)):
                    return False
    if "anyOf" in schema and not any(matches(s, value) for s in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(1 for s in schema["oneOf"] if matches(s, value)) != 1:
        return False
    if "allOf" in schema and not all(matches(s, value) for s in schema["allOf"]):
        return False
    if "not" in schema and matches(schema["not"], value):
        return False
    return True
