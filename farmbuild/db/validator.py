"""pydantic's JSON Schema → MongoDB's ``$jsonSchema`` dialect, and field type names. Pure.

MongoDB validates with draft 4 of JSON Schema plus ``bsonType``, and rejects what it does not
implement: ``$ref``/``$defs``, ``format``, ``default``, ``type: "integer"``, ``const``,
``prefixItems``, numeric ``exclusiveMinimum``, empty ``required``/``enum`` arrays and any
unknown keyword. So the conversion

* inlines every ``$ref`` from the schema file's ``defs``, and cuts recursion (``Review.replies``
  is a list of ``Review``) after :data:`MAX_RECURSION` levels with ``{"bsonType": "object"}``;
* turns ``type`` into ``bsonType`` the way Beanie and pymongo store Python values: ``integer`` →
  ``int``/``long``, ``number`` → ``double``/``int``/``long``/``decimal``, strings with
  ``format: date-time`` or ``date`` → ``date`` (a BSON datetime), ``uuid`` and ``binary`` →
  ``binData``;
* rewrites draft 2020 forms into draft 4 (``const`` → one-value ``enum``, ``prefixItems`` →
  ``items`` array + ``additionalItems``, numeric exclusive bounds → ``minimum`` +
  ``exclusiveMinimum: true``);
* keeps only validation keywords: titles, descriptions, defaults, examples, ``deprecated`` and
  pydantic's discriminator mappings are dropped, so a docstring edit never writes a migration.

The document is validated with ``validationLevel: "moderate"`` and ``validationAction: "warn"``
(:func:`collmod_command`): existing documents that do not fit are logged by the server, never
rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .operations import VALIDATION_ACTION, VALIDATION_LEVEL

MAX_RECURSION = 3  # a model nested in itself is expanded this many times, then cut

_BSON_FOR_TYPE: dict[str, list[str]] = {
    "string": ["string"],
    "integer": ["int", "long"],
    "number": ["double", "int", "long", "decimal"],
    "boolean": ["bool"],
    "null": ["null"],
    "object": ["object"],
    "array": ["array"],
}
_BSON_FOR_FORMAT = {"date-time": "date", "date": "date", "uuid": "binData", "binary": "binData"}

_PASS_THROUGH = ("minLength", "maxLength", "pattern", "minimum", "maximum", "multipleOf",
                 "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties")
_CUT = {"bsonType": "object"}


class _Converter:
    def __init__(self, defs: Mapping[str, Any]) -> None:
        self.defs = defs

    def ref(self, ref: str, stack: tuple[str, ...]) -> dict[str, Any]:
        key = ref.rsplit("/", 1)[-1]
        if stack.count(key) >= MAX_RECURSION:
            return dict(_CUT)
        target = self.defs.get(key)
        if target is None:
            # a reference the schema file does not define: accept anything rather than guess
            return {}
        return self.convert(target, (*stack, key))

    def convert(self, schema: Any, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        if schema is True or schema == {}:
            return {}
        if schema is False:
            return {"not": {}}
        if not isinstance(schema, Mapping):
            return {}
        out: dict[str, Any] = {}
        if "$ref" in schema:
            base = self.ref(schema["$ref"], stack)
            rest = self.convert({k: v for k, v in schema.items() if k != "$ref"}, stack)
            if not rest:
                return base
            if not base:
                return rest
            if set(base).isdisjoint(rest):
                return {**base, **rest}
            return {"allOf": [base, rest]}

        bson = self._bson_type(schema)
        if bson:
            out["bsonType"] = bson[0] if len(bson) == 1 else bson
        if "const" in schema:
            out["enum"] = [schema["const"]]
        elif isinstance(schema.get("enum"), list) and schema["enum"]:
            out["enum"] = _unique(schema["enum"])
        for key in _PASS_THROUGH:
            value = schema.get(key)
            if key == "uniqueItems":
                if isinstance(value, bool):
                    out[key] = value
            elif key == "pattern":
                if isinstance(value, str):
                    out[key] = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = value
        for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            value = schema.get(bound)
            if isinstance(value, bool):
                if value and plain in schema:
                    out[bound] = True
            elif isinstance(value, (int, float)):
                out[plain] = value
                out[bound] = True
        # objects
        if isinstance(schema.get("properties"), Mapping):
            out["properties"] = {k: self.convert(v, stack) for k, v in schema["properties"].items()}
        if isinstance(schema.get("patternProperties"), Mapping):
            out["patternProperties"] = {k: self.convert(v, stack) for k, v in schema["patternProperties"].items()}
        if "additionalProperties" in schema:
            ap = schema["additionalProperties"]
            out["additionalProperties"] = ap if isinstance(ap, bool) else self.convert(ap, stack)
        required = schema.get("required")
        if isinstance(required, list) and required:
            out["required"] = _unique(required)
        # arrays
        prefix = schema.get("prefixItems")
        if isinstance(prefix, list) and prefix:
            out["items"] = [self.convert(s, stack) for s in prefix]
            if "items" in schema and schema["items"] is not True:
                extra = schema["items"]
                out["additionalItems"] = extra if isinstance(extra, bool) else self.convert(extra, stack)
            elif "items" not in schema and schema.get("maxItems") == len(prefix):
                out["additionalItems"] = False
        elif "items" in schema:
            items = schema["items"]
            if isinstance(items, list):
                out["items"] = [self.convert(s, stack) for s in items]
            elif isinstance(items, Mapping):
                out["items"] = self.convert(items, stack)
        # combinators
        for key in ("anyOf", "oneOf", "allOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                converted = [self.convert(b, stack) for b in branches]
                if key != "allOf" and any(c == {} for c in converted):
                    continue  # one branch accepts anything: so does the whole
                converted = [c for c in converted if c != {}] if key == "allOf" else converted
                if not converted:
                    continue
                if key != "allOf" and all(set(c) == {"bsonType"} for c in converted):
                    merged = _unique([t for c in converted for t in _as_list(c["bsonType"])])
                    out["bsonType"] = merged[0] if len(merged) == 1 else merged
                    continue
                out[key] = converted
        if isinstance(schema.get("not"), Mapping):
            out["not"] = self.convert(schema["not"], stack)
        return out

    @staticmethod
    def _bson_type(schema: Mapping[str, Any]) -> list[str]:
        types = schema.get("type")
        if types is None:
            return []
        out: list[str] = []
        for t in _as_list(types):
            if t == "string" and schema.get("format") in _BSON_FOR_FORMAT:
                out.append(_BSON_FOR_FORMAT[schema["format"]])
            else:
                out.extend(_BSON_FOR_TYPE.get(t, []))
        return _unique(out)


def _as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _unique(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(v == o and type(v) is type(o) for o in out):
            out.append(v)
    return out


def to_mongo(schema: Any, defs: Mapping[str, Any], *, root_key: str | None = None) -> dict[str, Any]:
    """Convert one JSON Schema (with ``$ref``s into ``defs``) to MongoDB's dialect.

    >>> to_mongo({"type": "integer", "minimum": 0}, {})
    {'bsonType': ['int', 'long'], 'minimum': 0}
    """
    stack = (root_key,) if root_key else ()
    return _Converter(defs).convert(schema, stack)


def document_validator(definition: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``$jsonSchema`` of a document model's entry in ``.farm/schema/<key>.json``.

    Uses the *validation* schema: what the model accepts when it reads a document back.
    ``_id`` is allowed even when the model forbids extra fields (MongoDB adds one to every
    document).
    """
    root = definition["validation"]
    is_ref = isinstance(root, Mapping) and set(root) == {"$ref"}
    out = to_mongo(root, defs, root_key=None if is_ref else definition.get("key"))
    if "bsonType" not in out:
        out = {"bsonType": "object", **out}
    if out.get("additionalProperties") is False:
        props = out.setdefault("properties", {})
        props.setdefault("_id", {"bsonType": "objectId"})
    return out


def collmod_command(collection: str, validator: Mapping[str, Any], *,
                    level: str = VALIDATION_LEVEL, action: str = VALIDATION_ACTION) -> dict[str, Any]:
    """The ``collMod`` command document that sets ``collection``'s validator.

    >>> collmod_command("products", {"bsonType": "object"})
    {'collMod': 'products', 'validator': {'$jsonSchema': {'bsonType': 'object'}}, 'validationLevel': 'moderate', 'validationAction': 'warn'}
    """
    return {
        "collMod": collection,
        "validator": {"$jsonSchema": dict(validator)},
        "validationLevel": level,
        "validationAction": action,
    }


# -- field type names --------------------------------------------------------------------------

_NUMBER = {"double", "int", "long", "decimal"}


def _members(schema: Any) -> set[str]:
    if not isinstance(schema, Mapping) or not schema:
        return {"any"}
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            out: set[str] = set()
            for branch in schema[key]:
                out |= _members(branch)
            return out
    if isinstance(schema.get("allOf"), list) and schema["allOf"] and "bsonType" not in schema:
        return _members(schema["allOf"][0])
    if "bsonType" in schema:
        types = _as_list(schema["bsonType"])
    elif isinstance(schema.get("enum"), list):
        types = [_value_type(v) for v in schema["enum"]]
    else:
        return {"any"}
    out = set()
    for t in types:
        if t == "array":
            items = schema.get("items")
            if isinstance(items, Mapping):
                out.add(f"array<{type_name(items)}>")
            elif isinstance(items, list) and items:
                merged: set[str] = set()
                for s in items:
                    merged |= _members(s)
                out.add(f"array<{_join(merged)}>")
            else:
                out.add("array")
        else:
            out.add(t)
    if _NUMBER <= out:
        out -= _NUMBER
        out.add("number")
    elif {"int", "long"} <= out:
        out -= {"int", "long"}
        out.add("int")
    return out


def _value_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "double"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _join(members: set[str]) -> str:
    if "any" in members:
        return "any"
    return "|".join(sorted(members, key=lambda m: (m == "null", m)))


def type_name(schema: Any) -> str:
    """A short name for the stored type of a field, from its MongoDB schema.

    ``string``, ``int``, ``number``, ``bool``, ``date``, ``binData``, ``object``,
    ``array<string>``, unions joined by ``|`` with ``null`` last (``object|null``), ``any``.

    >>> type_name({"anyOf": [{"bsonType": "object"}, {"bsonType": "null"}]})
    'object|null'
    """
    return _join(_members(schema))


def _split_union(name: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in name:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _member_within(m: str, wider: list[str]) -> bool:
    if m in wider or "any" in wider:
        return True
    if m == "int" and "number" in wider:
        return True
    if m.startswith("array<"):
        inner = m[len("array<"):-1]
        return any(w.startswith("array<") and widens(inner, w[len("array<"):-1]) for w in wider) or "array" in wider
    return False


def widens(old: str, new: str) -> bool:
    """True when every value of type ``old`` is also a value of type ``new``.

    >>> widens("string", "string|null"), widens("int", "number"), widens("string|null", "string")
    (True, True, False)
    """
    if old == new:
        return True
    wider = _split_union(new)
    return all(_member_within(m, wider) for m in _split_union(old))
