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
definition, ``$ref`` and ``discriminator.mapping`` target once generation is done.

Additions to plain pydantic output (all of them annotations a JSON Schema validator ignores):

- ``"x-farm-always-sent": [names]`` on an object in *serialization* mode: the properties that
  have a default (so pydantic leaves them out of ``required``) but that serialization always
  emits (no ``exclude_if``, not a ``NotRequired`` TypedDict key). What the API returns has
  them; what it accepts may omit them.
- ``"format": "decimal"`` on the string form of a ``Decimal`` (OpenAPI's format registry name),
  so a generator can tell a Decimal from a plain string in either mode.
- For a parametrized generic (``Page[Product]``) the ``refs`` entry also has
  ``generic_params`` (the origin's type parameter names), ``generic_template`` (the key of the
  origin rendered with symbolic parameters, ``src.models.common:Page[~T]``, whose schema is in
  ``$defs`` too) and ``generic_arg_schemas`` (``{mode: [schema of each argument]}``), so a
  generator can write ``Page<Product>`` instead of a ``Page_Product_`` copy. String arguments
  (``Page["Product"]``) are resolved in the namespace given by :func:`resolving_in`.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import types
import typing
import weakref
from collections.abc import Iterator
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

    def decimal_schema(self, schema: Any) -> Any:  # type: ignore[override]
        out = super().decimal_schema(schema)
        if out.get("type") == "string":
            out["format"] = "decimal"
        for branch in out.get("anyOf", ()):
            if branch.get("type") == "string":
                branch["format"] = "decimal"
        return out

    def _named_required_fields_schema(self, named_required_fields: Any) -> Any:
        out = super()._named_required_fields_schema(named_required_fields)
        if self.mode != "serialization":
            return out
        required = set(out.get("required", ()))
        props = out.get("properties", {})
        always = []
        for name, _required, field in named_required_fields:
            if field["type"] in ("computed-field", "typed-dict-field"):
                continue  # computed fields are already required; a NotRequired key may be absent
            if field.get("serialization_exclude") or field.get("serialization_exclude_if") is not None:
                continue
            if self.by_alias:
                name = self._get_alias_name(field, name)
            if name in props and name not in required:
                always.append(name)
        if always:
            out["x-farm-always-sent"] = always
        return out

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
    if isinstance(tp, (str, typing.ForwardRef)):
        try:
            return type_key(_resolve_forward(tp, None))
        except Exception:  # noqa: BLE001 - an unresolvable forward reference keeps its text
            return repr(tp.__forward_arg__ if isinstance(tp, typing.ForwardRef) else tp)
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


def _finish(gen: _Generator, schemas: dict[str, Any], defs: dict[str, Any], mode: str,
            classes: dict[str, Any] | None = None) -> tuple[
        dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """Rename placeholders to stable keys in schemas and defs; describe every key.

    Parametrized generics get their argument schemas and symbolic template (their defs are
    merged into the returned defs); ``classes``, when given, is filled with the class behind
    each key.
    """
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
        disc = d.get("discriminator")
        if isinstance(disc, dict) and isinstance(disc.get("mapping"), dict):
            mapping = {}
            for tag, target in disc["mapping"].items():
                if isinstance(target, str) and target.startswith(REF_PREFIX) and target[len(REF_PREFIX):] in rename:
                    target = REF_PREFIX + rename[target[len(REF_PREFIX):]]
                mapping[tag] = target
            d = {**d, "discriminator": {**disc, "mapping": mapping}}
        return d

    schemas = {k: _walk(v, fix) for k, v in schemas.items()}
    new_defs = {rename.get(n, n): _walk(v, fix) for n, v in defs.items() if n not in typevars}
    by_key: dict[str, Any] = {}
    for placeholder, key in rename.items():
        cls = gen.core_to_cls.get(gen.placeholder_to_core[placeholder])
        if cls is not None:
            by_key.setdefault(key, cls)
    if classes is not None:
        for key, cls in by_key.items():
            classes.setdefault(key, cls)
    for key in sorted(k for k, info in refs.items() if info.get("generic_origin") and k in by_key):
        _describe_generic(key, by_key[key], refs, new_defs, mode, classes)
    return schemas, {k: new_defs[k] for k in sorted(new_defs)}, {k: refs[k] for k in sorted(refs)}


def reachable(roots: Any, defs: dict[str, Any], refs: dict[str, dict[str, Any]]) -> set[str]:
    """Every key ``roots`` (any JSON) reaches through ``$ref`` s, following a parametrized
    generic's template and argument schemas too (they are in ``refs``, not behind a ``$ref``)."""
    used: set[str] = set()
    _refs_in(roots, used)
    frontier = list(used)
    while frontier:
        key = frontier.pop()
        found: set[str] = set()
        _refs_in(defs.get(key), found)
        info = refs.get(key) or {}
        template = info.get("generic_template")
        if isinstance(template, str):
            found.add(template)
        _refs_in(info.get("generic_arg_schemas"), found)
        for k in found - used:
            used.add(k)
            frontier.append(k)
    return used


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


def generate(
    core_schema: Any, mode: str, *, classes: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """JSON schema of a core schema in ``mode`` ('validation' or 'serialization').

    Returns ``(schema, refs)`` where ``refs`` describes each ``$defs`` key. ``classes``, when
    given, is filled with the class behind each key (to generate the other mode of a def).
    """
    gen = _Generator(by_alias=True, ref_template=REF_PREFIX + "{model}")
    schema = gen.generate(core_schema, mode=mode)  # type: ignore[arg-type]
    defs = schema.pop("$defs", None) or {}
    schemas, new_defs, refs = _finish(gen, {"_": schema}, defs, mode, classes)
    out = schemas["_"]
    if new_defs:
        out["$defs"] = new_defs
    return out, refs


def generate_many(items: list[tuple[str, Any]], mode: str, *, classes: dict[str, Any] | None = None) -> tuple[
        dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """Schemas of several core schemas in one generator pass (one per module, not per model).

    Returns ``(schemas_by_name, defs, refs)``. A schema that is a bare ``$ref`` to its own
    definition (every model, in pydantic's batch mode) is inlined; ``defs`` keeps only what
    is still referenced.
    """
    gen = _Generator(by_alias=True, ref_template=REF_PREFIX + "{model}")
    json_map, defs = gen.generate_definitions([(name, mode, cs) for name, cs in items])  # type: ignore[misc]
    schemas, new_defs, refs = _finish(gen, {k[0]: v for k, v in json_map.items()}, dict(defs), mode, classes)
    for name, schema in list(schemas.items()):
        if set(schema) == {"$ref"}:
            own = schema["$ref"][len(REF_PREFIX):]
            if own in new_defs:
                schemas[name] = dict(new_defs[own])
    used = reachable(schemas, new_defs, refs)
    return schemas, {k: v for k, v in new_defs.items() if k in used}, refs


def _describe_generic(
    key: str, cls: Any, refs: dict[str, dict[str, Any]], defs: dict[str, Any], mode: str,
    classes: dict[str, Any] | None,
) -> None:
    """Fill in ``generic_params``/``generic_template``/``generic_arg_schemas`` for ``key``.

    The argument schemas and the symbolic template are generated by the same machinery, and
    their definitions merged into ``defs`` (keys are global, so merging cannot clash).
    """
    busy = _DESCRIBING.get()
    if (key, mode) in busy:
        return  # a generic whose argument reaches it again (Page["Product"] inside Product)
    token = _DESCRIBING.set(busy | {(key, mode)})
    try:
        _describe_generic_inner(key, cls, refs, defs, mode, classes)
    finally:
        _DESCRIBING.reset(token)


_DESCRIBING: contextvars.ContextVar[frozenset[tuple[str, str]]] = contextvars.ContextVar(
    "farm_describing", default=frozenset()
)


def _describe_generic_inner(
    key: str, cls: Any, refs: dict[str, dict[str, Any]], defs: dict[str, Any], mode: str,
    classes: dict[str, Any] | None,
) -> None:
    meta = cls.__pydantic_generic_metadata__
    origin = meta["origin"]
    params = list((getattr(origin, "__pydantic_generic_metadata__", None) or {}).get("parameters") or ())
    refs[key]["generic_params"] = [p.__name__ for p in params]
    try:
        args = tuple(_resolve_forward(a, classes) for a in meta["args"])
        args_schema, args_refs = adapter_schema(tuple[args] if args else tuple[()], mode, classes=classes)  # type: ignore[valid-type]
    except Exception:  # noqa: BLE001 - an argument we cannot resolve: the generator falls back to the def
        return
    for k, v in args_schema.pop("$defs", {}).items():
        defs.setdefault(k, v)
    merge_refs(refs, args_refs)
    info = refs[key]
    per_mode = {**info.get("generic_arg_schemas", {}), mode: list(args_schema.get("prefixItems", []))}
    info["generic_arg_schemas"] = {m: per_mode[m] for m in sorted(per_mode)}
    if not params:
        return
    template = generic_template(origin)
    if template is None:
        info["generic_template"] = None
        return
    template_key = type_key(template)
    info["generic_template"] = template_key
    if template_key == key or template_key in defs:
        return
    t_schema, t_refs = generate(template.__pydantic_core_schema__, mode, classes=classes)
    for k, v in t_schema.pop("$defs", {}).items():
        defs.setdefault(k, v)
    if t_schema.get("$ref") != REF_PREFIX + template_key:  # a recursive template is already in defs
        t_schema["title"] = origin.__name__
        defs[template_key] = t_schema
    merge_refs(refs, t_refs)
    refs.setdefault(template_key, _class_info(template))
    if classes is not None:
        classes.setdefault(template_key, template)


_NAMESPACE: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("farm_namespace", default=None)


@contextlib.contextmanager
def resolving_in(namespace: dict[str, Any]) -> Iterator[None]:
    """Resolve string generic arguments (``Page["Product"]``) in ``namespace`` (a module's vars)."""
    token = _NAMESPACE.set(namespace)
    try:
        yield
    finally:
        _NAMESPACE.reset(token)


def _resolve_forward(arg: Any, classes: dict[str, Any] | None) -> Any:
    if isinstance(arg, typing.ForwardRef):
        arg = arg.__forward_arg__
    if not isinstance(arg, str):
        return arg
    ns = _NAMESPACE.get()
    if ns is not None:
        try:
            return eval(arg, dict(ns))  # noqa: S307 - a type expression from the user's own annotation
        except Exception:  # noqa: BLE001
            pass
    found = {id(c): c for c in (classes or {}).values() if getattr(c, "__qualname__", None) == arg}
    if len(found) == 1:
        return next(iter(found.values()))
    raise LookupError(arg)


def merge_refs(into: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Merge a ``refs`` table into another, keeping the per-mode ``generic_arg_schemas`` of both."""
    for key, info in new.items():
        old = into.get(key)
        if old is None:
            into[key] = info
            continue
        per_mode = {**old.get("generic_arg_schemas", {}), **info.get("generic_arg_schemas", {})}
        into[key] = {**old, **info}
        if per_mode:
            into[key]["generic_arg_schemas"] = {m: per_mode[m] for m in sorted(per_mode)}
    return into


def generic_template(origin: Any) -> Any:
    """``Page[T]`` with each type parameter replaced by a marker (rendered ``{"x-farm-typevar": "T"}``)."""
    params = list((getattr(origin, "__pydantic_generic_metadata__", None) or {}).get("parameters") or ())
    if not params:
        return None
    markers = tuple(typevar_marker(p) for p in params)
    try:
        return origin[markers if len(markers) > 1 else markers[0]]
    except Exception:  # noqa: BLE001 - a bound/constraint that rejects the marker
        return None


_MARKERS: "weakref.WeakKeyDictionary[Any, type[BaseModel]]" = weakref.WeakKeyDictionary()


def typevar_marker(tv: Any) -> type[BaseModel]:
    """A stand-in model for a TypeVar, so ``Page[T]`` can be rendered with T kept symbolic.

    One marker per TypeVar (weakly cached), so ``Page[marker]`` is parametrized once, not per call.
    """
    try:
        return _MARKERS[tv]
    except (KeyError, TypeError):
        pass
    marker = types.new_class(tv.__name__, (BaseModel,), {})
    marker.__module__ = TYPEVAR_MODULE
    marker.__qualname__ = tv.__name__
    try:
        _MARKERS[tv] = marker
    except TypeError:
        pass
    return marker


def adapter_schema(
    tp: Any, mode: str, *, classes: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Like :func:`generate` for any type (generic arguments, route parameters)."""
    ta = TypeAdapter(tp)
    return generate(ta.core_schema, mode, classes=classes)
