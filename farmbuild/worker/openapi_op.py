"""The ``openapi_fragment`` worker op: the OpenAPI of one route module, as the app mounts it.

A fragment is what FastAPI's own ``get_openapi`` produces for the subset of the app's routes
whose endpoint function is defined in one module (prefixes, tags, dependencies and responses
as the app gives them), with one difference: component names are left *unsimplified*.
pydantic names a definition ``Address`` only when no other definition in the same document
wants that name, and ``Money-Input``/``Money-Output`` only when the same model appears in
both directions with different schemas — decisions that depend on the whole app, not on one
router. So the fragment keys each definition by the type it is and its direction
(``src.models.common:Address|validation``, unique app-wide) and keeps pydantic's list of
preferred names for it (``Address``, ``Address-Input``, ``src__models__common__Address``, …);
:func:`codegen.openapi.merge.merge` makes the app-wide choice with pydantic's algorithm.

Output (``.farm/openapi/<key>.json``, format 1)::

    {
      "format": 1, "key": "catalog", "module": "src.routes.catalog", "source": "apps/api/src/routes/catalog.py",
      "paths": {...}, "webhooks": {...},               # $refs are "#/components/schemas/<raw key>"
      "components": {"schemas": {...}, "securitySchemes": {...}},
      "document": {...} | null,                        # only the app fragment: openapi, info, servers, tags, externalDocs
      "x-farm": {
        "schemas": {raw key: {"choices": [...], "mode": "validation"|"serialization", "type": "<module>:<qualname>",
                              "module", "name", "kind", "generic_origin"?, "generic_args"?}},
        "inputs": [type keys of the models/enums used directly as a parameter, body or response],
        "extras": [{"ref": raw key, "type": type key}],  # models FastAPI adds as extra inputs (see below)
        "operations": [{"path", "method", "operationId", "function", "module", "webhook",
                        "body"?: the endpoint's parameter name of a single, not embedded body}],
        "custom_openapi": bool
      }
    }

Schemas without an entry in ``x-farm.schemas`` (``HTTPValidationError``, ``ValidationError``)
are FastAPI's fixed definitions; their names never change.

"Extras": FastAPI also feeds every model reachable from the routes' fields to the schema
generator as an input of its own, except models that are some field's annotation anywhere in
the app. Which models that excludes is an app-wide fact, so the fragment lists its extras
and the models it uses directly, and the merge drops definitions reached only through extras
that another module uses directly (exactly what ``get_openapi`` does for the whole app).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

from pydantic import BaseModel

from . import jsonschema as js
from .schema_op import DefinitionError

class _RawNames:
    """Mixin for pydantic's GenerateJsonSchema: skip the name simplification, remember classes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self.farm_core_to_cls: dict[str, Any] = {}
        _GENERATORS.append(self)

    def generate_inner(self, schema: Any) -> Any:
        if isinstance(schema, dict):
            ref, cls = schema.get("ref"), schema.get("cls")
            if ref and cls is not None:
                self.farm_core_to_cls.setdefault(ref, cls)
        return super().generate_inner(schema)  # type: ignore[misc]

    def _build_definitions_remapping(self) -> Any:
        from pydantic.json_schema import _DefinitionsRemapping

        return _DefinitionsRemapping({}, {})


_GENERATORS: list[Any] = []


def _compat_module() -> Any:
    """The FastAPI module whose ``get_definitions`` instantiates pydantic's generator."""
    from fastapi import _compat

    mod = sys.modules.get(getattr(_compat.get_definitions, "__module__", ""), _compat)
    if not hasattr(mod, "GenerateJsonSchema"):
        raise RuntimeError(
            f"this FastAPI version ({_fastapi_version()}) builds OpenAPI schemas in an unexpected way;"
            " farmbuild cannot compute per-module fragments with it"
        )
    return mod


def _fastapi_version() -> str:
    import fastapi

    return str(getattr(fastapi, "__version__", "?"))


@contextmanager
def _raw_names() -> Iterator[list[Any]]:
    mod = _compat_module()
    original = mod.GenerateJsonSchema
    patched = type("FarmRawGenerateJsonSchema", (_RawNames, original), {})
    _GENERATORS.clear()
    mod.GenerateJsonSchema = patched
    try:
        yield _GENERATORS
    finally:
        mod.GenerateJsonSchema = original


def _app_error(message: str, module: Any, hint: str) -> DefinitionError:
    from pathlib import Path

    from .server import STATE

    file = getattr(module, "__file__", None)
    if file:
        try:
            file = Path(file).resolve().relative_to(STATE.project_root.resolve()).as_posix()
        except ValueError:
            pass
    err = DefinitionError(message, file, None)
    err.hint = hint  # type: ignore[attr-defined]
    return err


def load_app(app_ref: str) -> Any:
    """The FastAPI app named by ``backend.app`` (``module:attribute``; a factory is called)."""
    from fastapi import FastAPI

    module_name, _, attr = app_ref.partition(":")
    attr = attr or "app"
    module = importlib.import_module(module_name)
    try:
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise _app_error(
            f"{module_name} has no attribute {attr!r} (config key backend.app = {app_ref!r})", module,
            "set backend.app in farm.toml to '<module>:<attribute>' of your FastAPI instance or factory",
        ) from None
    if not isinstance(obj, FastAPI) and callable(obj):
        cached = getattr(module, "__farm_app_cache__", None)
        if cached is None or cached[0] is not obj:
            cached = (obj, obj())
            module.__farm_app_cache__ = cached  # type: ignore[attr-defined]
        obj = cached[1]
    if not isinstance(obj, FastAPI):
        raise _app_error(
            f"{app_ref} is a {type(obj).__name__}, not a FastAPI app (config key backend.app)", module,
            "point backend.app at a FastAPI instance, or at a function that returns one",
        )
    return obj


def _route_contexts(routes: list[Any]) -> list[Any]:
    from fastapi import routing

    iterate = getattr(routing, "iter_route_contexts", None)
    if iterate is None:  # FastAPI before lazily included routers: app.routes are already flat
        return list(routes)
    return list(iterate(routes))


def _endpoint(route: Any) -> Any:
    return getattr(route, "endpoint", None)


def endpoint_module(route: Any) -> str | None:
    fn = _endpoint(route)
    fn = inspect.unwrap(fn) if fn is not None else None
    return getattr(fn, "__module__", None)


def _is_api_route(route: Any) -> bool:
    from fastapi import routing

    original = getattr(route, "original_route", route)
    return isinstance(original, routing.APIRoute)


def _select(app: Any, module: str | None, route_modules: set[str]) -> tuple[list[Any], list[Any]]:
    """Routes and webhooks of ``module`` (``None``: those of no route module)."""

    def mine(route: Any) -> bool:
        if not _is_api_route(route):
            return False
        m = endpoint_module(route)
        return m == module if module is not None else m not in route_modules

    routes = [r for r in _route_contexts(_worth_expanding(app.routes, mine)) if mine(r)]
    webhooks = [r for r in _route_contexts(_worth_expanding(app.webhooks.routes, mine)) if mine(r)]
    return routes, webhooks


def _worth_expanding(routes: list[Any], mine: Any) -> list[Any]:
    """Top-level routes minus included routers with none of ``mine`` inside.

    FastAPI (0.16x) includes routers lazily and builds each route's effective context (its
    dependant, its handler) on first use; expanding only the routers that hold this module's
    routes is what keeps a fragment's cost proportional to its module, not to the app.
    """

    def has_mine(route: Any, depth: int = 0) -> bool:
        router = getattr(route, "original_router", None)
        if router is None:
            return not _is_api_route(route) or mine(route)  # keep plain routes: mine() filters later
        if depth > 50:
            return True
        children = [*getattr(router, "routes", ()), *getattr(router, "_low_priority_routes", ())]
        return any(has_mine(c, depth + 1) for c in children)

    return [r for r in routes if has_mine(r)]


def _extras(routes: list[Any]) -> tuple[set[str], list[tuple[str, str]]]:
    """FastAPI's view of the routes' fields: (type keys used directly as a field,
    [(type key, mode)] of the flat models it adds as inputs of their own)."""
    from fastapi.openapi.utils import get_fields_from_routes

    flat = _compat_module().get_flat_models_from_fields
    fields = get_fields_from_routes(routes)
    direct = {f.field_info.annotation for f in fields}
    inputs = {js.type_key(t) for t in direct if isinstance(t, type) and issubclass(t, (BaseModel, Enum))}
    out: set[tuple[str, str]] = set()
    for mode in ("validation", "serialization"):
        for m in flat([f for f in fields if f.mode == mode], known_models=set()):
            if m not in direct:
                out.add((js.type_key(m), mode))
    return inputs, sorted(out)


def _operations(routes: list[Any], webhook: bool) -> list[dict[str, Any]]:
    ops = []
    for route in routes:
        if not getattr(route, "include_in_schema", True):
            continue
        fn = inspect.unwrap(_endpoint(route))
        body_field = getattr(route, "body_field", None)
        embedded = bool(getattr(route, "_embed_body_fields", False))
        for method in sorted(route.methods or ()):
            op: dict[str, Any] = {
                "path": route.path_format,
                "method": method.lower(),
                "operationId": route.operation_id or route.unique_id,
                "function": getattr(fn, "__name__", route.name),
                "module": getattr(fn, "__module__", None),
                "webhook": webhook,
            }
            if body_field is not None and not embedded:
                op["body"] = body_field.name  # the endpoint's parameter name, e.g. billing_address
            ops.append(op)
    return ops


def _custom_openapi(app: Any) -> bool:
    from fastapi import FastAPI

    return "openapi" in vars(app) or type(app).openapi is not FastAPI.openapi


REF = "#/components/schemas/"


def _rename(node: Any, names: dict[str, str]) -> Any:
    """Rename references: every string that is one, as pydantic does (discriminator mappings too)."""
    if isinstance(node, str):
        return names.get(node, node)
    if isinstance(node, dict):
        return {k: _rename(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [_rename(v, names) for v in node]
    return node


def _keyed(gen: Any, schemas: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """pydantic's raw definition keys → stable, app-wide unique keys ``<type key>|<mode>``, and
    what each key is (its class, its mode, its preferred names)."""
    key_of: dict[str, str] = {}
    meta: dict[str, Any] = {}
    choices = gen._prioritized_defsref_choices
    for raw, (core_ref, mode) in gen.defs_to_core_refs.items():
        if raw not in schemas:
            continue
        cls = gen.farm_core_to_cls.get(core_ref)
        tkey = js.type_key(cls) if cls is not None else core_ref.rsplit(":", 1)[0]
        key = f"{tkey}|{mode}"
        n = 1
        while key in meta:  # two distinct classes with one module:qualname (made in a function)
            n += 1
            key = f"{tkey}#{n}|{mode}"
        entry: dict[str, Any] = {"choices": list(choices.get(raw, [raw]))[:4], "mode": mode, "type": tkey}
        entry.update(js.class_info(cls) if cls is not None else {"module": None, "name": tkey, "kind": "unknown"})
        meta[key] = entry
        key_of[raw] = key
        if cls is not None and entry.get("generic_origin"):
            entry["_args"] = list(cls.__pydantic_generic_metadata__["args"])
    for entry in meta.values():
        args = entry.pop("_args", None)
        if args is not None:
            entry["generic_arg_schemas"] = [_arg_schema(a, entry["mode"], meta) for a in args]
    return key_of, meta


def _arg_schema(tp: Any, mode: str, meta: dict[str, Any]) -> Any:
    """The schema of a generic argument (``Product`` in ``Page[Product]``) in fragment refs, so a
    client can write ``Page<Product>``; a definition the fragment lacks becomes ``{}``."""
    own = f"{js.type_key(tp)}|{mode}"
    if own in meta:
        return {"$ref": REF + own}
    try:
        schema, _refs = js.adapter_schema(tp, mode)
    except Exception:  # noqa: BLE001 - an argument pydantic cannot render: the client says unknown
        return {}
    defs = schema.pop("$defs", {})

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(js.REF_PREFIX):
                key = f"{ref[len(js.REF_PREFIX):]}|{mode}"
                return {"$ref": REF + key} if key in meta else {}
            return {k: fix(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    del defs  # every definition an argument needs is a component of its own in the fragment
    return fix(schema)


def _complete_models() -> None:
    """Finish every user model still waiting for a forward reference.

    pydantic completes a model whose annotations name a class defined further down its module
    (``owner: Customer`` above ``class Customer``) only when something first asks for its schema.
    FastAPI's route setup does not, and FastAPI's walk over the flat models reads the field
    annotations as they are, so whether a fragment saw ``Customer`` behind ``Order.owner``
    depended on whether an earlier job of this warm worker (the schema op) had touched ``Order``:
    job order leaked into the output (found by tests/hostile, incremental == clean). Completing
    them all first makes the answer depend on the code alone.
    """
    from .server import _is_local

    for name, mod in list(sys.modules.items()):
        if not _is_local(getattr(mod, "__file__", None)):
            continue
        for obj in list(vars(mod).values()):
            if (isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == name
                    and not getattr(obj, "__pydantic_complete__", True)):
                try:
                    obj.model_rebuild(raise_errors=False)
                except Exception:  # noqa: BLE001 - a model pydantic cannot finish fails where it is used
                    pass


def fragment(app: str, module: str | None, route_modules: list[str], key: str, source: str) -> dict[str, Any]:
    """The fragment of route module ``module`` (``None``: the app's other routes + document info)."""
    from fastapi.openapi.utils import get_openapi

    the_app = load_app(app)
    _complete_models()
    routes, webhooks = _select(the_app, module, set(route_modules))
    with _raw_names() as generators:
        doc = get_openapi(
            title=the_app.title,
            version=the_app.version,
            openapi_version=the_app.openapi_version,
            routes=routes,
            webhooks=webhooks,
            separate_input_output_schemas=the_app.separate_input_output_schemas,
        )
    schemas: dict[str, Any] = dict(doc.get("components", {}).get("schemas", {}))
    key_of: dict[str, str] = {}
    meta: dict[str, Any] = {}
    if generators:
        key_of, meta = _keyed(generators[-1], schemas)
    refs = {REF + raw: REF + key for raw, key in key_of.items()}
    new_schemas = {key_of.get(raw, raw): _rename(schema, refs) for raw, schema in schemas.items()}
    inputs, extras_types = _extras(routes + webhooks)
    by_type_mode = {(m["type"], m["mode"]): k for k, m in meta.items()}
    extras = [{"ref": by_type_mode[tm], "type": tm[0]} for tm in extras_types if tm in by_type_mode]
    components = {k: v for k, v in doc.get("components", {}).items() if k != "schemas"}
    components["schemas"] = {k: new_schemas[k] for k in sorted(new_schemas)}
    return {
        "format": 1,
        "key": key,
        "module": module,
        "source": source,
        "paths": _rename(doc.get("paths", {}), refs),
        "webhooks": _rename(doc.get("webhooks", {}), refs),
        "components": components,
        "document": _document(the_app) if module is None else None,
        "x-farm": {
            "schemas": {k: meta[k] for k in sorted(meta)},
            "inputs": sorted(inputs),
            "extras": sorted(extras, key=lambda e: e["ref"]),
            "operations": _operations(routes, False) + _operations(webhooks, True),
            "custom_openapi": _custom_openapi(the_app) if module is None else False,
        },
    }


def occurrences(app: str, names: list[str]) -> dict[str, int]:
    """pydantic's occurrence number of every type whose module-qualified name is in ``names``,
    over the whole app: ``{type key: n}``.

    Needed only when two different types share one (``Page[one.Item]`` and ``Page[two.Item]``
    are both ``src__models__one__Page_Item_``): pydantic numbers them in the order it meets
    them, an app-wide fact no fragment knows. This runs FastAPI over every route once.
    """
    from fastapi.openapi.utils import get_openapi

    the_app = load_app(app)
    _complete_models()
    with _raw_names() as generators:
        get_openapi(title=the_app.title, version=the_app.version, routes=the_app.routes,
                    webhooks=the_app.webhooks.routes,
                    separate_input_output_schemas=the_app.separate_input_output_schemas)
    out: dict[str, int] = {}
    wanted = set(names)
    for gen in generators[-1:]:
        index = getattr(gen, "_collision_index", {})
        for raw, (core_ref, _mode) in gen.defs_to_core_refs.items():
            choices = gen._prioritized_defsref_choices.get(raw, [])
            if len(choices) < 3 or choices[2] not in wanted:
                continue
            cls = gen.farm_core_to_cls.get(core_ref)
            tkey = js.type_key(cls) if cls is not None else core_ref.rsplit(":", 1)[0]
            n = index.get(gen.normalize_name(core_ref))
            if n is not None:
                out.setdefault(tkey, n)
    return out


def _document(app: Any) -> dict[str, Any]:
    """The document-level keys (openapi, info, servers, tags, externalDocs), encoded by FastAPI itself."""
    from fastapi.openapi.utils import get_openapi

    kwargs: dict[str, Any] = {
        "title": app.title, "version": app.version, "openapi_version": app.openapi_version,
        "summary": app.summary, "description": app.description, "terms_of_service": app.terms_of_service,
        "contact": app.contact, "license_info": app.license_info, "routes": [], "tags": app.openapi_tags,
        "servers": app.servers,
    }
    if "external_docs" in inspect.signature(get_openapi).parameters:
        kwargs["external_docs"] = getattr(app, "openapi_external_docs", None)
    doc = dict(get_openapi(**kwargs))
    doc.pop("paths", None)
    doc.pop("components", None)
    return doc
