"""JSON Schema of user models with stable, module-qualified definition names.

Runs inside the worker process. pydantic names ``$defs`` after the class name only
(``Address``), disambiguating collisions with opaque suffixes, and names parametrized
generics ``Page_Product_``. Generators need to know *which* class a definition is: here
every definition is keyed ``<module>:<qualname>`` (``src.models.common:Address``), a
parametrized generic ``src.models.common:Page[src.models.catalog:Product]``, and a table
says for each key which module and class it is, its generic origin and arguments, and, for
enums, the member names (JSON Schema keeps only the values).

How: a :class:`GenerateJsonSchema` subclass hands out placeholder names, records which
class each core reference belongs to while it walks the core schema, and renames every
definition and ``$ref`` once generation is done.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import DefsRef, GenerateJsonSchema

REF_PREFIX = "#/$defs/"
TYPEVAR_MODULE = "__farm_typevar__"


class _Generator(GenerateJsonSchema):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.placeholder_to_core: dict[str, str] = {}
        self.core_to_cls: dict[str, Any] = {}

    def generate_inner(self, schema: Any) -> Any:  # type: ignore[override]
        ref = schema.get("ref") if isinstance(schema, dict) else None
        cls = schema.get("cls") if isinstance(schema, dict) else None
        if ref and cls is not None and ref not in self.core_to_cls:
            self.core_to_cls[ref] = cls
        return super().generate_inner(schema)

    def get_defs_ref(self, core_mode_ref: Any) -> DefsRef:  # type: ignore[override]
        core_ref, mode = core_mode_ref
        name = DefsRef(f"__farmref{len(self.placeholder_to_core)}__{mode}")
        self.placeholder_to_core[name] = core_ref
        # pydantic simplifies names at the end by picking the first non-colliding choice
        self._prioritized_defsref_choices[name] = [name]
        return name


def type_key(tp: Any) -> str:
    """A stable, readable key for a type: ``src.models.common:Page[src.models.catalog:Product]``."""
    origin = typing.get_origin(tp)
    meta = getattr(tp, "__pydantic_generic_metadata__", None)
    if isinstance(tp, type) and meta and meta.get("origin") is not None:
        o = meta["origin"]
        return f"{o.__module__}:{o.__qualname__}[{','.join(type_key(a) for a in meta['args'])}]"
    if isinstance(tp, typing.TypeVar):
        return f"~{tp.__name__}"
    if origin is typing.Annotated:
        return type_key(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_key(a) for a in typing.get_args(tp))
    if origin is not None:
        args = typing.get_args(tp)
        oname = getattr(origin, "__qualname__", None) or repr(origin)
        if getattr(origin, "__module__", "builtins") not in ("builtins", "typing", "collections.abc"):
            oname = f"{origin.__module__}:{oname}"
        return f"{oname}[{','.join(type_key(a) for a in args)}]"
    if tp is type(None) or tp is None:
        return "None"
    if isinstance(tp, type):
        if tp.__module__ == "builtins":
            return tp.__qualname__
        if tp.__module__ == TYPEVAR_MODULE:
            return f"~{tp.__qualname__}"
        return f"{tp.__module__}:{tp.__qualname__}"
    return repr(tp)


def _walk(node: Any, fn: Any) -> Any:
    """Rebuild a JSON value, passing every dict through ``fn`` (bottom-up)."""
    if isinstance(node, dict):
        return fn({k: _walk(v, fn) for k, v in node.items()})
    if isinstance(node, list):
        return [_walk(v, fn) for v in node]
    return node


def _class_info(cls: Any) -> dict[str, Any]:
    info: dict[str, Any] = {"module": cls.__module__, "name": cls.__qualname__}
    meta = getattr(cls, "__pydantic_generic_metadata__", None)
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        info["kind"] = "enum"
        info["members"] = enum_members(cls)
    elif isinstance(cls, type) and issubclass(cls, BaseModel):
        info["kind"] = "model"
        if meta and meta.get("origin") is not None:
            origin = meta["origin"]
            info["name"] = origin.__qualname__
            info["module"] = origin.__module__
            info["generic_origin"] = type_key(origin)
            info["generic_args"] = [type_key(a) for a in meta["args"]]
    else:
        info["kind"] = "class"
    return info


def enum_members(cls: type[enum.Enum]) -> list[list[Any]]:
    """``[[name, value], ...]`` in definition order (aliases included once, by their canonical name)."""
    out = []
    for name, member in cls.__members__.items():
        if member.name != name:
            continue  # an alias
        value = member.value
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            value = str(value)
        out.append([name, value])
    return out


def _finish(gen: _Generator, schemas: dict[str, Any], defs: dict[str, Any]) -> tuple[
        dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """Rename placeholders to stable keys in schemas and defs; describe every key."""
    rename: dict[str, str] = {}
    refs: dict[str, dict[str, Any]] = {}
    typevars: dict[str, str] = {}
    for placeholder, core_ref in gen.placeholder_to_core.items():
        cls = gen.core_to_cls.get(core_ref)
        if cls is None:
            key = core_ref.rsplit(":", 1)[0]
            refs.setdefault(key, {"module": None, "name": key, "kind": "unknown"})
        elif getattr(cls, "__module__", None) == TYPEVAR_MODULE:
            typevars[placeholder] = cls.__qualname__
            continue
        else:
            key = type_key(cls)
            refs[key] = _class_info(cls)
        rename[placeholder] = key

    def fix(d: dict[str, Any]) -> dict[str, Any]:
        ref = d.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            name = ref[len(REF_PREFIX):]
            if name in typevars:
                out = {k: v for k, v in d.items() if k != "$ref"}
                out["x-farm-typevar"] = typevars[name]
                return out
            if name in rename:
                d = dict(d)
                d["$ref"] = REF_PREFIX + rename[name]
        return d

    schemas = {k: _walk(v, fix) for k, v in schemas.items()}
    new_defs = {rename.get(n, n): _walk(v, fix) for n, v in defs.items() if n not in typevars}
    return schemas, {k: new_defs[k] for k in sorted(new_defs)}, {k: refs[k] for k in sorted(refs)}


def _refs_in(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            out.add(ref[len(REF_PREFIX):])
        for v in node.values():
            _refs_in(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs_in(v, out)


def generate(core_schema: Any, mode: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """JSON schema of a core schema in ``mode`` ('validation' or 'serialization').

    Returns ``(schema, refs)`` where ``refs`` describes each ``$defs`` key.
    """
    gen = _Generator(by_alias=True, ref_template=REF_PREFIX + "{model}")
    schema = gen.generate(core_schema, mode=mode)  # type: ignore[arg-type]
    defs = schema.pop("$defs", None) or {}
    schemas, new_defs, refs = _finish(gen, {"_": schema}, defs)
    out = schemas["_"]
    if new_defs:
        out["$defs"] = new_defs
    return out, refs


def generate_many(items: list[tuple[str, Any]], mode: str) -> tuple[
        dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """Schemas of several core schemas in one generator pass (one per module, not per model).

    Returns ``(schemas_by_name, defs, refs)``. A schema that is a bare ``$ref`` to its own
    definition (every model, in pydantic's batch mode) is inlined; ``defs`` keeps only what
    is still referenced.
    """
    gen = _Generator(by_alias=True, ref_template=REF_PREFIX + "{model}")
    json_map, defs = gen.generate_definitions([(name, mode, cs) for name, cs in items])  # type: ignore[misc]
    schemas, new_defs, refs = _finish(gen, {k[0]: v for k, v in json_map.items()}, dict(defs))
    for name, schema in list(schemas.items()):
        if set(schema) == {"$ref"}:
            own = schema["$ref"][len(REF_PREFIX):]
            if own in new_defs:
                schemas[name] = dict(new_defs[own])
    used: set[str] = set()
    _refs_in(schemas, used)
    frontier = list(used)
    while frontier:
        found: set[str] = set()
        _refs_in(new_defs.get(frontier.pop()), found)
        for k in found - used:
            used.add(k)
            frontier.append(k)
    return schemas, {k: v for k, v in new_defs.items() if k in used}, refs


def typevar_marker(tv: Any) -> type[BaseModel]:
    """A stand-in model for a TypeVar, so ``Page[T]`` can be rendered with T kept symbolic."""
    marker = types.new_class(tv.__name__, (BaseModel,), {})
    marker.__module__ = TYPEVAR_MODULE
    marker.__qualname__ = tv.__name__
    return marker


def adapter_schema(tp: Any, mode: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Like :func:`generate` for any type (generic arguments, route parameters)."""
    ta = TypeAdapter(tp)
    return generate(ta.core_schema, mode)
