"""The ``schema`` worker op: every pydantic model and enum *defined* in one module.

Output (``.farm/schema/<key>.json``, format 1)::

    {
      "format": 1, "module": "src.models.catalog", "source": "apps/api/src/models/catalog.py",
      "order": ["Category", "Product", ...],            # Python source order
      "definitions": {
        "Product": {"kind": "model", "key": "src.models.catalog:Product", "line": 12, "doc": ...,
                    "generic_params": [], "validation": {...}, "serialization": {...},
                    "fields": [...], "computed_fields": [...], "document": {...} | null},
        "Category": {"kind": "enum", "key": ..., "base": "str", "members": [["fruit", "fruit"], ...], ...}
      },
      "defs": {"validation": {key: schema}, "serialization": {key: schema}},
      "refs": {key: {"module": ..., "name": ..., "kind": ..., "members"?: ..., "generic_origin"?: ...}}
    }

Every ``$ref`` is ``#/$defs/<module>:<qualname>`` (see :mod:`.jsonschema`); ``refs`` says where
each lives, so a generator can import it from the right module. Generic models are rendered
with their type parameters kept symbolic: ``{"x-farm-typevar": "T"}``. A parametrized generic's
``refs`` entry has its argument schemas and its symbolic template (see :mod:`.jsonschema`), and
every key in ``defs`` has a schema in both modes (a class reached in one mode only, through a
computed or an excluded field, gets the other too), so whether a model's input and output
shapes differ can be decided from one document.

A model decorated with ``@deprecated("message")`` has ``"deprecated": "message"``.
"""

from __future__ import annotations

import ast
import enum
import inspect

from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from . import jsonschema as js


class DefinitionError(Exception):
    """A model's definition is unusable (e.g. malformed Settings.indexes); carries its line."""

    def __init__(self, message: str, file: str | None, line: int | None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line


def _class_lines(path: str | None) -> dict[str, int]:
    if not path:
        return {}
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return {}
    return {n.name: n.lineno for n in tree.body if isinstance(n, ast.ClassDef)}


def defined_classes(module: Any) -> list[tuple[str, type]]:
    """Models and enums defined in ``module`` (not imported into it), in source order."""
    lines = _class_lines(getattr(module, "__file__", None))
    found: dict[int, tuple[str, type]] = {}
    for attr, value in vars(module).items():
        if not isinstance(value, type) or value.__module__ != module.__name__:
            continue
        if "." in value.__qualname__ or "<locals>" in value.__qualname__:
            continue  # nested helper classes belong to their outer class
        if issubclass(value, BaseModel):
            meta = getattr(value, "__pydantic_generic_metadata__", None) or {}
            if meta.get("origin") is not None or value is BaseModel:
                continue  # a parametrization such as Page[Product] assigned to a name
        elif not (issubclass(value, enum.Enum) and value is not enum.Enum):
            continue
        found.setdefault(id(value), (value.__name__, value))
    def order(item: tuple[str, type]) -> tuple[int, str]:
        return (lines.get(item[0], 10**9), item[0])
    return sorted(found.values(), key=order)


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return _json_default(value.value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_json_default(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        return {str(k): _json_default(v) for k, v in value.items()}
    try:
        from pydantic_core import to_jsonable_python

        return to_jsonable_python(value)
    except Exception:  # noqa: BLE001 - a default we cannot express is recorded as its repr
        return repr(value)


def _field_info(cls: type[BaseModel]) -> list[dict[str, Any]]:
    from pydantic_core import PydanticUndefined

    out = []
    for name, f in cls.model_fields.items():
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        validation_alias = f.validation_alias if isinstance(f.validation_alias, str) else None
        item: dict[str, Any] = {
            "name": name,
            "alias": f.alias or name,
            "serialization_alias": f.serialization_alias or f.alias or name,
            "validation_alias": validation_alias or f.alias or name,
            "required": f.is_required(),
            "annotation": js.type_key(f.annotation),
            "has_default": not f.is_required(),
        }
        if f.default is not PydanticUndefined:
            item["default"] = _json_default(f.default)
        elif f.default_factory is not None:
            item["default_factory"] = getattr(f.default_factory, "__qualname__", "factory")
            # only empty containers are known without running user code: a factory such as
            # uuid4 or datetime.now gives a different value each time (output must be deterministic)
            if f.default_factory in (list, dict, set, tuple, frozenset):
                item["default"] = _json_default(f.default_factory())  # type: ignore[call-arg]
        if extra.get("renamed_from"):
            item["renamed_from"] = str(extra["renamed_from"])
        if f.deprecated:
            item["deprecated"] = f.deprecated if isinstance(f.deprecated, str) else True
        if f.description:
            item["description"] = f.description
        out.append(item)
    return out


_DIRECTIONS = {1, -1, "text", "2d", "2dsphere", "hashed", "geoHaystack"}


def _index_name(keys: list[list[Any]]) -> str:
    # pymongo's default index name: field_direction joined by '_'
    return "_".join(f"{k}_{d}" for k, d in keys)


def normalize_indexes(raw: Any, where: tuple[str | None, int | None]) -> list[dict[str, Any]]:
    """Beanie-style ``Settings.indexes`` into ``[{"keys": [[f, dir]], "unique": bool, "name": str}]``.

    Accepts a field name, a list of ``(field, direction)`` pairs, a dict with ``keys``
    (plus ``unique``/``name``), or a pymongo ``IndexModel``.
    """
    file, line = where
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        raise DefinitionError("Settings.indexes must be a list", file, line)
    out = []
    for i, idx in enumerate(raw):
        unique = False
        name = None
        doc = getattr(idx, "document", None)
        if isinstance(doc, dict) and "key" in doc:  # pymongo IndexModel
            keys = [[k, v] for k, v in dict(doc["key"]).items()]
            unique = bool(doc.get("unique", False))
            name = doc.get("name")
        elif isinstance(idx, str):
            keys = [[idx, 1]]
        elif isinstance(idx, (list, tuple)):
            keys = []
            for pair in idx:
                if isinstance(pair, str):
                    keys.append([pair, 1])
                elif isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str):
                    keys.append([pair[0], pair[1]])
                else:
                    raise DefinitionError(
                        f"Settings.indexes[{i}]: expected (field, direction) pairs, got {pair!r}", file, line
                    )
        elif isinstance(idx, dict):
            rawkeys = idx.get("keys")
            if isinstance(rawkeys, str):
                rawkeys = [(rawkeys, 1)]
            if not isinstance(rawkeys, (list, tuple)) or not rawkeys:
                raise DefinitionError(f"Settings.indexes[{i}]: a dict index needs 'keys': [(field, direction), ...]", file, line)
            keys = []
            for pair in rawkeys:
                if isinstance(pair, str):
                    keys.append([pair, 1])
                elif isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str):
                    keys.append([pair[0], pair[1]])
                else:
                    raise DefinitionError(f"Settings.indexes[{i}].keys: expected (field, direction) pairs, got {pair!r}", file, line)
            unknown = set(idx) - {"keys", "unique", "name", "sparse", "expireAfterSeconds"}
            if unknown:
                raise DefinitionError(f"Settings.indexes[{i}]: unknown option(s) {sorted(unknown)}", file, line)
            unique = bool(idx.get("unique", False))
            name = idx.get("name")
        else:
            raise DefinitionError(f"Settings.indexes[{i}]: unsupported index {idx!r}", file, line)
        for k in keys:
            if k[1] not in _DIRECTIONS:
                raise DefinitionError(
                    f"Settings.indexes[{i}]: direction of {k[0]!r} must be 1, -1 or an index type such as 'text', got {k[1]!r}",
                    file, line,
                )
        if name is not None and not isinstance(name, str):
            raise DefinitionError(f"Settings.indexes[{i}]: name must be a string", file, line)
        out.append({"keys": keys, "unique": unique, "name": name or _index_name(keys)})
    return out


def document_settings(cls: type, file: str | None, line: int | None) -> dict[str, Any] | None:
    """The Beanie convention, duck-typed: an inner ``class Settings`` with ``name``."""
    settings = cls.__dict__.get("Settings")
    if settings is None or not isinstance(settings, type):
        return None
    name = getattr(settings, "name", None)
    if name is None:
        return None
    if not isinstance(name, str) or not name or "$" in name or "\x00" in name or name.startswith("system."):
        raise DefinitionError(f"{cls.__name__}.Settings.name must be a valid MongoDB collection name, got {name!r}", file, line)
    return {"collection": name, "indexes": normalize_indexes(getattr(settings, "indexes", None), (file, line))}


def extract(module_name: str, source_rel: str) -> dict[str, Any]:
    import importlib

    module = importlib.import_module(module_name)
    with js.resolving_in(vars(module)):
        return _extract(module, module_name, source_rel)


def _complete_defs(defs: dict[str, dict[str, Any]], refs: dict[str, Any], classes: dict[str, Any]) -> None:
    """Give every definition a schema in both modes (see the module docstring)."""
    modes = ("validation", "serialization")
    while True:
        missing = [(key, mode) for mode in modes for key in defs[modes[0] if mode == modes[1] else modes[1]]
                   if key not in defs[mode] and key in classes]
        if not missing:
            return
        for key, mode in missing:
            cls = classes[key]
            core = getattr(cls, "__pydantic_core_schema__", None)
            schema, r = (js.generate(core, mode, classes=classes) if core is not None
                         else js.adapter_schema(cls, mode, classes=classes))
            for k, v in schema.pop("$defs", {}).items():
                defs[mode].setdefault(k, v)
            defs[mode][key] = schema
            js.merge_refs(refs, r)


def _extract(module: Any, module_name: str, source_rel: str) -> dict[str, Any]:
    file = getattr(module, "__file__", None)
    lines = _class_lines(file)
    definitions: dict[str, Any] = {}
    defs: dict[str, dict[str, Any]] = {"validation": {}, "serialization": {}}
    refs: dict[str, Any] = {}
    classes: dict[str, Any] = {}
    order: list[str] = []
    batch: list[tuple[str, Any]] = []
    for name, cls in defined_classes(module):
        line = lines.get(name)
        order.append(name)
        doc = inspect.cleandoc(cls.__doc__) if cls.__dict__.get("__doc__") else None
        if issubclass(cls, enum.Enum):
            base = "str" if issubclass(cls, str) else "int" if issubclass(cls, int) else "mixed"
            if base == "mixed":
                values = [m.value for m in cls]
                if all(isinstance(v, str) for v in values):
                    base = "str"
                elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                    base = "int"
            definitions[name] = {
                "kind": "enum", "key": js.type_key(cls), "line": line, "doc": doc, "base": base,
                "members": js.enum_members(cls),
            }
            batch.append((name, TypeAdapter(cls).core_schema))
            continue
        entry: dict[str, Any] = {"kind": "model", "key": js.type_key(cls), "line": line, "doc": doc}
        message = cls.__dict__.get("__deprecated__")  # typing_extensions.deprecated("...") on the class
        if isinstance(message, str):
            entry["deprecated"] = message
        params = list((getattr(cls, "__pydantic_generic_metadata__", None) or {}).get("parameters") or ())
        entry["generic_params"] = [p.__name__ for p in params]
        target: Any = cls
        if params:
            try:
                target = cls[tuple(js.typevar_marker(p) for p in params) if len(params) > 1 else js.typevar_marker(params[0])]
            except Exception:  # noqa: BLE001 - a bound/constraint that rejects the marker: T stays Any
                target = cls
        batch.append((name, target.__pydantic_core_schema__))
        entry["fields"] = _field_info(cls)
        entry["computed_fields"] = list(cls.model_computed_fields)
        entry["document"] = document_settings(cls, source_rel, line)
        definitions[name] = entry
    for mode in ("validation", "serialization"):
        schemas, mode_defs, r = js.generate_many(batch, mode, classes=classes)
        defs[mode] = mode_defs
        js.merge_refs(refs, r)
        for name, schema in schemas.items():
            entry = definitions[name]
            if entry["kind"] == "enum":
                if mode == "validation":
                    entry["schema"] = schema
                continue
            if entry["generic_params"]:
                schema["title"] = name
            entry[mode] = schema
    _complete_defs(defs, refs, classes)
    # describe only what is referenced (a generic's own marker parametrization is not)
    both = {k: [defs["validation"].get(k), defs["serialization"].get(k)] for k in {*defs["validation"], *defs["serialization"]}}
    used = js.reachable(definitions, both, refs)
    refs = {k: v for k, v in refs.items() if k in used}
    return {
        "format": 1,
        "module": module_name,
        "source": source_rel,
        "order": order,
        "definitions": definitions,
        "defs": {mode: {k: d[k] for k in sorted(d)} for mode, d in defs.items()},
        "refs": {k: refs[k] for k in sorted(refs)},
    }


