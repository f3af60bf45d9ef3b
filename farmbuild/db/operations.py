"""Migration files and their operations: parsed, validated, rendered. Pure (text in, text out).

A migration file is ``<migrations dir>/NNNN_<collection>_<summary>.json``::

    {
      "id": "0002_products_add_organic",          # the file name without .json
      "name": "add_organic",
      "description": "products: add field 'organic' (bool, default false)",
      "operations": [
        {"type": "add_field", "collection": "products", "field": "organic",
         "field_type": "bool", "required": false, "default_value": false},
        {"type": "set_validator", "collection": "products", "validator": {...},
         "validation_level": "moderate", "validation_action": "warn"}
      ]
    }

Operation types and their keys (besides ``type`` and ``collection``):

===================  ==============================================================  ============
type                 keys                                                            destructive
===================  ==============================================================  ============
create_collection    ``fields`` ({name: type})                                       no
add_field            ``field``, ``field_type``, ``required``, ``default_value``?      no
remove_field         ``field``, ``field_type``?                                      yes
rename_field         ``renamed_from``, ``field``                                     no
change_type          ``field``, ``from_type``, ``field_type``, ``destructive``        unless it only widens
create_index         ``index``, ``keys`` ([[field, direction]]), ``unique``,          no
                     ``sparse``?, ``expire_after_seconds``?
drop_index           ``index``                                                       yes
set_validator        ``validator`` ($jsonSchema), ``validation_level``,               no
                     ``validation_action``
===================  ==============================================================  ============

Any operation may carry ``warning`` (text for the reviewer). Files are source: they are
committed and reviewed, may be written by hand, and are read strictly (an unknown key or type
is an error naming the file, the line and the operation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..errors import MigrationError


class OpType(str, Enum):
    CREATE_COLLECTION = "create_collection"
    ADD_FIELD = "add_field"
    REMOVE_FIELD = "remove_field"
    RENAME_FIELD = "rename_field"
    CHANGE_TYPE = "change_type"
    CREATE_INDEX = "create_index"
    DROP_INDEX = "drop_index"
    SET_VALIDATOR = "set_validator"

    def __str__(self) -> str:
        return self.value


VALIDATION_LEVEL = "moderate"
VALIDATION_ACTION = "warn"

_MISSING: Any = object()

# keys each type takes (after type/collection), and which are required
_KEYS: dict[OpType, tuple[tuple[str, ...], tuple[str, ...]]] = {
    OpType.CREATE_COLLECTION: (("fields",), ("fields",)),
    OpType.ADD_FIELD: (("field", "field_type", "required", "default_value"), ("field",)),
    OpType.REMOVE_FIELD: (("field", "field_type"), ("field",)),
    OpType.RENAME_FIELD: (("renamed_from", "field"), ("renamed_from", "field")),
    OpType.CHANGE_TYPE: (("field", "from_type", "field_type", "destructive"), ("field", "field_type")),
    OpType.CREATE_INDEX: (("index", "keys", "unique", "sparse", "expire_after_seconds"), ("index", "keys")),
    OpType.DROP_INDEX: (("index",), ("index",)),
    OpType.SET_VALIDATOR: (("validator", "validation_level", "validation_action"), ("validator",)),
}

_DIRECTIONS = (1, -1, "text", "2d", "2dsphere", "hashed", "geoHaystack")


@dataclass(frozen=True)
class IndexSpec:
    """An index as migrations know it. ``keys`` are ``(field, direction)`` pairs."""

    name: str
    keys: tuple[tuple[str, Any], ...]
    unique: bool = False
    sparse: bool | None = None
    expire_after_seconds: int | None = None

    def same_as(self, other: "IndexSpec") -> bool:
        return (self.keys, self.unique, bool(self.sparse), self.expire_after_seconds) == (
            other.keys, other.unique, bool(other.sparse), other.expire_after_seconds)


@dataclass(frozen=True)
class Operation:
    type: OpType
    collection: str
    field: str | None = None
    renamed_from: str | None = None
    field_type: str | None = None
    from_type: str | None = None
    required: bool | None = None
    default_value: Any = _MISSING
    fields: Mapping[str, str] | None = None
    index: IndexSpec | None = None
    validator: Mapping[str, Any] | None = None
    validation_level: str = VALIDATION_LEVEL
    validation_action: str = VALIDATION_ACTION
    destructive_change: bool | None = None  # change_type only: False when it only widens
    warning: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default_value is not _MISSING

    @property
    def destructive(self) -> bool:
        """Whether applying it can lose data or leave documents that no longer fit the model."""
        if self.type in (OpType.REMOVE_FIELD, OpType.DROP_INDEX):
            return True
        if self.type is OpType.CHANGE_TYPE:
            return True if self.destructive_change is None else self.destructive_change
        return False

    def describe(self) -> str:
        """One line for humans, e.g. ``add field 'organic' (bool, default false)``."""
        t = self.type
        if t is OpType.CREATE_COLLECTION:
            n = len(self.fields or {})
            return f"create collection '{self.collection}' ({n} field{'s' if n != 1 else ''})"
        if t is OpType.ADD_FIELD:
            extra = [self.field_type] if self.field_type else []
            if self.has_default:
                extra.append(f"default {json.dumps(self.default_value, ensure_ascii=False)}")
            elif self.required:
                extra.append("required, no default")
            return f"add field '{self.field}'" + (f" ({', '.join(extra)})" if extra else "")
        if t is OpType.REMOVE_FIELD:
            return f"remove field '{self.field}'"
        if t is OpType.RENAME_FIELD:
            return f"rename field '{self.renamed_from}' to '{self.field}'"
        if t is OpType.CHANGE_TYPE:
            return f"change type of '{self.field}' from {self.from_type or '?'} to {self.field_type}"
        if t is OpType.CREATE_INDEX:
            assert self.index is not None
            keys = ", ".join(f"{k} {d}" for k, d in self.index.keys)
            return f"create {'unique ' if self.index.unique else ''}index '{self.index.name}' ({keys})"
        if t is OpType.DROP_INDEX:
            assert self.index is not None
            return f"drop index '{self.index.name}'"
        return "set the collection's validator"

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.type.value, "collection": self.collection}
        t = self.type
        if t is OpType.CREATE_COLLECTION:
            d["fields"] = dict(self.fields or {})
        elif t is OpType.ADD_FIELD:
            d["field"] = self.field
            if self.field_type is not None:
                d["field_type"] = self.field_type
            if self.required is not None:
                d["required"] = self.required
            if self.has_default:
                d["default_value"] = self.default_value
        elif t is OpType.REMOVE_FIELD:
            d["field"] = self.field
            if self.field_type is not None:
                d["field_type"] = self.field_type
        elif t is OpType.RENAME_FIELD:
            d["renamed_from"] = self.renamed_from
            d["field"] = self.field
        elif t is OpType.CHANGE_TYPE:
            d["field"] = self.field
            if self.from_type is not None:
                d["from_type"] = self.from_type
            d["field_type"] = self.field_type
            d["destructive"] = self.destructive
        elif t in (OpType.CREATE_INDEX, OpType.DROP_INDEX):
            assert self.index is not None
            d["index"] = self.index.name
            if t is OpType.CREATE_INDEX:
                d["keys"] = [[k, v] for k, v in self.index.keys]
                d["unique"] = self.index.unique
                if self.index.sparse is not None:
                    d["sparse"] = self.index.sparse
                if self.index.expire_after_seconds is not None:
                    d["expire_after_seconds"] = self.index.expire_after_seconds
        elif t is OpType.SET_VALIDATOR:
            d["validator"] = self.validator
            d["validation_level"] = self.validation_level
            d["validation_action"] = self.validation_action
        if self.warning:
            d["warning"] = self.warning
        return d


@dataclass(frozen=True)
class Migration:
    id: str
    name: str
    description: str
    operations: tuple[Operation, ...]
    file: str | None = None  # project-relative path, for messages
    checksum: str | None = None  # md5 of the file's bytes
    number: int = 0

    @property
    def collections(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(op.collection for op in self.operations))

    @property
    def destructive(self) -> bool:
        return any(op.destructive for op in self.operations)

    @property
    def where(self) -> str:
        return self.file or self.id

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description,
                "operations": [op.to_json() for op in self.operations]}

    def render(self) -> str:
        """The file's text: deterministic (fixed key order, no timestamps), 2-space JSON with
        short arrays of scalars on one line (``"keys": [["email", 1]]``), for review."""
        return dump_json(self.to_json()) + "\n"


_INLINE_WIDTH = 100


def _scalar_list(value: Any) -> bool:
    return isinstance(value, list) and all(
        not isinstance(v, (dict, list)) or (isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v))
        for v in value)


def dump_json(value: Any, indent: int = 0) -> str:
    """``json.dumps(indent=2)`` with short lists of scalars (or of scalar pairs) kept on one line."""
    pad = "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {dump_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if _scalar_list(value):
            inline = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
            if len(inline) + len(pad) <= _INLINE_WIDTH:
                return inline
        items = [f"{pad}{dump_json(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(value, ensure_ascii=False)


_ID = re.compile(r"^(\d+)_[A-Za-z0-9_.\-]+$")


def migration_number(migration_id: str) -> int | None:
    m = _ID.match(migration_id)
    return int(m.group(1)) if m else None


def sort_key(m: Migration) -> tuple[int, str]:
    return (m.number, m.id)


# -- parsing -------------------------------------------------------------------------------

def _op_line(text: str, index: int) -> int | None:
    """Best-effort line of the ``index``-th operation (the n-th ``"type"`` key after "operations")."""
    start = text.find('"operations"')
    if start < 0:
        return None
    pos = start
    for _ in range(index + 1):
        pos = text.find('"type"', pos + 1)
        if pos < 0:
            return None
    return text.count("\n", 0, pos) + 1


def parse_migration(text: str, file: str, *, checksum: str | None = None) -> Migration:
    """Parse and validate one migration file. ``file`` is the project-relative path (for errors)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MigrationError(file, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise MigrationError(file, "expected a JSON object with id, name, description and operations")
    unknown = set(data) - {"id", "name", "description", "operations"}
    if unknown:
        raise MigrationError(file, f"unknown key(s) {sorted(unknown)}; a migration has id, name, description, operations")
    stem = file.rsplit("/", 1)[-1].removesuffix(".json")
    mid = data.get("id", stem)
    if mid != stem:
        raise MigrationError(file, f"id {mid!r} must equal the file name without .json ({stem!r})", line=2)
    number = migration_number(stem)
    if number is None:
        raise MigrationError(file, "a migration file's name starts with its number, e.g. 0003_products_backfill.json")
    name = data.get("name", "")
    description = data.get("description", "")
    if not isinstance(name, str) or not isinstance(description, str):
        raise MigrationError(file, "name and description must be strings")
    raw_ops = data.get("operations")
    if not isinstance(raw_ops, list) or not raw_ops:
        raise MigrationError(file, "operations must be a non-empty list")
    ops = []
    for i, raw in enumerate(raw_ops):
        try:
            ops.append(parse_operation(raw))
        except ValueError as exc:
            raise MigrationError(file, f"operations[{i}]: {exc}", line=_op_line(text, i)) from None
    return Migration(mid, name, description, tuple(ops), file=file, checksum=checksum, number=number)


def _str(raw: Mapping[str, Any], key: str) -> str:
    v = raw[key]
    if not isinstance(v, str) or not v:
        raise ValueError(f"{key} must be a non-empty string, got {v!r}")
    return v


def parse_operation(raw: Any) -> Operation:
    """One operation from its JSON form; ValueError says what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("an operation is an object with type and collection")
    try:
        t = OpType(raw.get("type"))
    except ValueError:
        raise ValueError(
            f"unknown type {raw.get('type')!r}; expected one of {', '.join(o.value for o in OpType)}"
        ) from None
    allowed, required = _KEYS[t]
    unknown = set(raw) - {"type", "collection", "warning", *allowed}
    if unknown:
        raise ValueError(f"{t.value}: unknown key(s) {sorted(unknown)}; it takes {', '.join(allowed)}")
    for key in ("collection", *required):
        if key not in raw:
            raise ValueError(f"{t.value}: missing {key!r}")
    collection = _str(raw, "collection")
    warning = raw.get("warning")
    if warning is not None and not isinstance(warning, str):
        raise ValueError("warning must be a string")
    kw: dict[str, Any] = {"type": t, "collection": collection, "warning": warning}
    if t is OpType.CREATE_COLLECTION:
        fields = raw["fields"]
        if not isinstance(fields, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
            raise ValueError("create_collection: fields must map field names to type names")
        kw["fields"] = dict(fields)
    elif t in (OpType.ADD_FIELD, OpType.REMOVE_FIELD, OpType.CHANGE_TYPE):
        kw["field"] = _str(raw, "field")
        for key in ("field_type", "from_type"):
            if key in raw:
                kw[key] = _str(raw, key)
        if "required" in raw:
            if not isinstance(raw["required"], bool):
                raise ValueError("required must be true or false")
            kw["required"] = raw["required"]
        if "default_value" in raw:
            kw["default_value"] = raw["default_value"]
        if "destructive" in raw:
            if not isinstance(raw["destructive"], bool):
                raise ValueError("destructive must be true or false")
            kw["destructive_change"] = raw["destructive"]
    elif t is OpType.RENAME_FIELD:
        kw["renamed_from"] = _str(raw, "renamed_from")
        kw["field"] = _str(raw, "field")
        if kw["renamed_from"] == kw["field"]:
            raise ValueError("rename_field: renamed_from and field are the same")
    elif t is OpType.CREATE_INDEX:
        kw["index"] = parse_index(raw)
    elif t is OpType.DROP_INDEX:
        kw["index"] = IndexSpec(_str(raw, "index"), ())
    elif t is OpType.SET_VALIDATOR:
        if not isinstance(raw["validator"], dict):
            raise ValueError("set_validator: validator must be a $jsonSchema object")
        kw["validator"] = raw["validator"]
        for key in ("validation_level", "validation_action"):
            if key in raw:
                kw[key] = _str(raw, key)
        if kw.get("validation_level", VALIDATION_LEVEL) not in ("off", "moderate", "strict"):
            raise ValueError("validation_level must be off, moderate or strict")
        if kw.get("validation_action", VALIDATION_ACTION) not in ("warn", "error", "errorAndLog"):
            raise ValueError("validation_action must be warn, error or errorAndLog")
    return Operation(**kw)


def parse_index(raw: Mapping[str, Any]) -> IndexSpec:
    name = _str(raw, "index")
    keys = raw["keys"]
    if not isinstance(keys, list) or not keys:
        raise ValueError("create_index: keys must be a non-empty list of [field, direction]")
    pairs = []
    for pair in keys:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and pair[1] in _DIRECTIONS
                and not isinstance(pair[1], bool)):
            raise ValueError(f"create_index: each key is [field, direction] with direction 1, -1 or an index type, got {pair!r}")
        pairs.append((pair[0], pair[1]))
    unique = raw.get("unique", False)
    if not isinstance(unique, bool):
        raise ValueError("create_index: unique must be true or false")
    sparse = raw.get("sparse")
    if sparse is not None and not isinstance(sparse, bool):
        raise ValueError("create_index: sparse must be true or false")
    ttl = raw.get("expire_after_seconds")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0):
        raise ValueError("create_index: expire_after_seconds must be a whole number >= 0")
    return IndexSpec(name, tuple(pairs), unique, sparse, ttl)


# -- naming ----------------------------------------------------------------------------------

MAX_SUMMARY = 48


def slug(text: str) -> str:
    """Lower-case ``[a-z0-9_]`` form of a name, for file names (never empty).

    >>> slug("Price.Amount-2fa")
    'price_amount_2fa'
    """
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s or "x"


def _fragment(op: Operation) -> str | None:
    t = op.type
    if t is OpType.CREATE_COLLECTION:
        return "initial"
    if t is OpType.ADD_FIELD:
        return f"add_{slug(op.field or '')}"
    if t is OpType.REMOVE_FIELD:
        return f"remove_{slug(op.field or '')}"
    if t is OpType.RENAME_FIELD:
        return f"rename_{slug(op.renamed_from or '')}_{slug(op.field or '')}"
    if t is OpType.CHANGE_TYPE:
        return f"alter_{slug(op.field or '')}"
    if t is OpType.CREATE_INDEX:
        return f"index_{slug(op.index.name if op.index else '')}"
    if t is OpType.DROP_INDEX:
        return f"drop_index_{slug(op.index.name if op.index else '')}"
    return None


def summary(operations: Iterable[Operation]) -> str:
    """The ``<summary>`` part of a file name, from what the operations do.

    Like Django's: the fragments joined by ``_``, cut with ``and_more`` when too long; a change
    of only the validator (a constraint, a nested model) is ``validator``.
    """
    ops = list(operations)
    if any(op.type is OpType.CREATE_COLLECTION for op in ops):
        return "initial"
    frags = list(dict.fromkeys(f for f in (_fragment(op) for op in ops) if f))
    if not frags:
        return "validator"
    out = frags[0][:MAX_SUMMARY]
    for i, frag in enumerate(frags[1:], 1):
        candidate = f"{out}_{frag}"
        if len(candidate) > MAX_SUMMARY:
            return f"{out}_and_more"
        out = candidate
    return out


def next_migration(collection: str, existing: Iterable[Migration], operations: Iterable[Operation]) -> Migration:
    """The migration that records ``operations``, numbered after ``collection``'s latest one.

    Numbers count per collection (``0001_products_initial``, ``0002_products_add_organic``,
    ``0001_orders_initial``...), so two collections changed in one build, or on two branches,
    never compete for a number, and the same change always gets the same name.
    """
    ops = tuple(operations)
    latest = max((m.number for m in existing if collection in m.collections), default=0)
    number = latest + 1
    name = summary(ops)
    mid = f"{number:04d}_{slug(collection)}_{name}"
    description = f"{collection}: " + "; ".join(op.describe() for op in ops)
    return Migration(mid, name, description, ops, number=number)


def filename(migration: Migration) -> str:
    return f"{migration.id}.json"


def order(migrations: Iterable[Migration]) -> list[Migration]:
    """Apply/replay order: by number, then id (``0002_orders_…`` before ``0002_products_…``)."""
    return sorted(migrations, key=sort_key)
