"""Merge per-route-module OpenAPI fragments into the document ``app.openapi()`` returns.

Pure: fragments in (the format is documented in ``farmbuild/worker/openapi_op.py``), document
out. The one app-wide decision is naming the component schemas, which is pydantic's
(``pydantic.json_schema._DefinitionsRemapping.from_prioritized_choices``), re-done here over
the definitions of every fragment together:

* each definition has a list of candidate names, most preferred first: ``Address``,
  ``Address-Input``, ``src__models__common__Address``, ``src__models__common__Address-Input``…;
* a definition takes the first candidate that no *different* schema also wants, so the two
  ``Address`` classes become ``src__models__common__Address`` and
  ``src__models__billing__invoice__Address``, and ``Money`` — whose validation and serialization
  schemas differ because of its computed field — becomes ``Money-Input`` and ``Money-Output``
  while a model with identical schemas in both directions stays one ``Product``;
* renaming inner definitions can make outer ones equal, so this repeats to a fixed point.

Before naming, definitions that FastAPI would not have generated for the whole app are
dropped: those reached only through "extra" inputs (flat models) that some module uses
directly as a field (see the fragment format).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

REF = "#/components/schemas/"

# Key order of FastAPI's OpenAPI model (fastapi.openapi.models.OpenAPI), for a familiar file.
_DOC_ORDER = ("openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks", "components",
              "security", "tags", "externalDocs")


class FragmentError(ValueError):
    """The fragments cannot be merged (no app fragment, unknown format)."""


def _refs(node: Any, out: set[str]) -> set[str]:
    """Every definition ``node`` points at: ``$ref``s and, as pydantic counts them, any string
    that is a reference (a discriminator's ``mapping`` values)."""
    if isinstance(node, str):
        if node.startswith(REF):
            out.add(node[len(REF):])
    elif isinstance(node, dict):
        for v in node.values():
            _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)
    return out


def _reach(roots: Iterable[str], graph: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(graph.get(n, ()))
    return seen


def _hashable(value: Any) -> Any:
    # the same canonical form pydantic uses to decide whether two schemas are "the same"
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _remap_refs(node: Any, json_map: Mapping[str, str]) -> Any:
    # like pydantic's remap_json_schema: every string that is a reference is renamed, not only
    # "$ref" values (discriminator mappings hold references too)
    if isinstance(node, str):
        return json_map.get(node, node)
    if isinstance(node, dict):
        return {k: _remap_refs(v, json_map) for k, v in node.items()}
    if isinstance(node, list):
        return [_remap_refs(v, json_map) for v in node]
    return node


def choose_names(definitions: Mapping[str, Any], choices: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Raw definition key → final component name, by pydantic's fixed-point rule.

    A port of ``_DefinitionsRemapping.from_prioritized_choices`` (pydantic 2.x), kept here so
    the merge runs without pydantic's private API (tests check it against the original).
    """
    defs = dict(definitions)  # never mutated: _remap_refs builds new values
    previous: dict[str, str] = {k: k for k in defs}
    for _ in range(100):
        wanted: dict[str, set[Any]] = defaultdict(set)
        for raw, schema in defs.items():
            h = _hashable(schema)  # once per definition: it is the same for every alternative
            for alt in choices[raw]:
                wanted[alt].add(h)
        names: dict[str, str] = {}
        json_map: dict[str, str] = {}
        for raw in defs:
            alts = list(choices[raw])
            chosen = next(a for a in alts if len(wanted[a]) == 1)
            names[raw] = chosen
            for alt in alts[alts.index(chosen):]:
                json_map[REF + alt] = REF + chosen
        defs = {k: _remap_refs(v, json_map) for k, v in defs.items()}
        # pydantic compares last round's renamed $defs with this round's; its values were
        # remapped in place, so both sides hold this round's values
        if {previous[k]: v for k, v in defs.items()} == {names[k]: v for k, v in defs.items()}:
            return names
        previous = names
    raise FragmentError("component names did not settle after 100 rounds (a bug: please report it)")


def _fragment_roots(frag: Mapping[str, Any]) -> tuple[set[str], list[dict[str, str]]]:
    """(definitions the fragment needs whatever other modules do, its extra inputs)."""
    schemas = frag.get("components", {}).get("schemas", {})
    meta = frag.get("x-farm", {})
    raw_meta = meta.get("schemas", {})
    graph = {k: _refs(v, set()) for k, v in schemas.items()}
    extras = list(meta.get("extras", []))
    from_extras = _reach((e["ref"] for e in extras), graph)
    roots = _refs(frag.get("paths", {}), set()) | _refs(frag.get("webhooks", {}), set())
    roots |= {k for k in schemas if k not in raw_meta}  # FastAPI's fixed definitions
    roots |= {k for k in schemas if k not in from_extras}  # defined, whether referenced or not
    return roots, extras


def _full_choices(kept: Mapping[str, Any], meta: Mapping[str, Any],
                  occurrences: Callable[[list[str]], Mapping[str, int]] | None) -> dict[str, list[str]]:
    """Each definition's candidate names, completed with pydantic's occurrence-numbered ones.

    pydantic numbers the distinct types that share a module-qualified name (``__1``, ``__2``)
    in the order it meets them in the whole app; ``occurrences`` supplies that order when such
    types exist (without it they are numbered by type key).
    """
    types_by_qualname: dict[str, set[str]] = defaultdict(set)
    for key in kept:
        c = meta[key]["choices"]
        types_by_qualname[c[2] if len(c) > 2 else key].add(meta[key]["type"])
    colliding = sorted(q for q, types in types_by_qualname.items() if len(types) > 1)
    number: dict[str, int] = {}
    if colliding:
        given = dict(occurrences(colliding)) if occurrences else {}
        for q in colliding:
            for i, t in enumerate(sorted(types_by_qualname[q]), 1):
                number[t] = given.get(t, i)
    out: dict[str, list[str]] = {}
    for key in kept:
        c = list(meta[key]["choices"])
        if len(c) >= 4:
            n = number.get(meta[key]["type"], 1)
            c = c[:4] + [f"{c[2]}__{n}", f"{c[3]}__{n}"]
        out[key] = c + [key]
    return out


def merge(fragments: Sequence[Mapping[str, Any]],
          occurrences: Callable[[list[str]], Mapping[str, int]] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The app's OpenAPI document from its fragments, plus a sidecar saying where things come from.

    ``occurrences(names)`` is asked only when distinct types share a module-qualified name
    (see :func:`_full_choices`). Returns ``(document, meta)``; ``meta`` maps each operation to its Python function and route
    module, and each component schema to the Python class behind it::

        {"operations": {operationId: {"path", "method", "function", "module", "group", "webhook"}},
         "schemas": {component name: {"type", "module", "name", "kind", "modes", ...}}}
    """
    app = [f for f in fragments if f.get("document") is not None]
    if len(app) != 1:
        raise FragmentError(f"expected exactly one app fragment (with 'document'), got {len(app)}")
    for f in fragments:
        if f.get("format") != 1:
            raise FragmentError(f"fragment {f.get('key')!r} has format {f.get('format')!r}; rebuild it")
    document = app[0]["document"]

    raw_schemas: dict[str, Any] = {}
    fixed: dict[str, Any] = {}
    raw_meta: dict[str, Any] = {}
    roots: set[str] = set()
    extras: list[dict[str, str]] = []
    inputs: set[str] = set()
    security: dict[str, Any] = {}
    for frag in fragments:
        meta = frag.get("x-farm", {})
        for k, v in frag.get("components", {}).get("schemas", {}).items():
            if k in meta.get("schemas", {}):
                raw_schemas.setdefault(k, v)
                raw_meta.setdefault(k, meta["schemas"][k])
            else:
                fixed[k] = v
        security.update(frag.get("components", {}).get("securitySchemes", {}))
        r, e = _fragment_roots(frag)
        roots |= r
        extras.extend(e)
        inputs.update(meta.get("inputs", []))

    # FastAPI adds a flat model as an input of its own only if no field anywhere is annotated with it
    roots |= {e["ref"] for e in extras if e["type"] not in inputs}
    graph = {k: _refs(v, set()) for k, v in raw_schemas.items()}
    keep = _reach(roots, graph)
    kept = {k: v for k, v in raw_schemas.items() if k in keep}
    names = choose_names(kept, _full_choices(kept, raw_meta, occurrences))
    json_map = {REF + raw: REF + name for raw, name in names.items()}

    paths: dict[str, dict[str, Any]] = {}
    webhooks: dict[str, dict[str, Any]] = {}
    for frag in fragments:
        for path, item in frag.get("paths", {}).items():
            paths.setdefault(path, {}).update(_remap_refs(item, json_map))
        for path, item in frag.get("webhooks", {}).items():
            webhooks.setdefault(path, {}).update(_remap_refs(item, json_map))

    schemas: dict[str, Any] = {}
    for raw, schema in kept.items():
        schemas[names[raw]] = _remap_refs(schema, json_map)
    schemas.update(fixed)  # get_openapi adds its fixed definitions after pydantic's
    components: dict[str, Any] = {}
    if security:
        components["securitySchemes"] = security
    if schemas:
        components["schemas"] = {k: schemas[k] for k in sorted(schemas)}

    out: dict[str, Any] = dict(document)
    out["paths"] = paths
    if webhooks:
        out["webhooks"] = webhooks
    if components:
        out["components"] = components
    ordered = {k: out[k] for k in _DOC_ORDER if k in out}
    ordered.update({k: v for k, v in out.items() if k not in ordered})

    sidecar_schemas: dict[str, Any] = {}
    for raw in sorted(kept):
        info = _remap_refs({k: v for k, v in raw_meta[raw].items() if k not in ("choices", "mode")}, json_map)
        entry = sidecar_schemas.setdefault(names[raw], {**info, "modes": []})
        if raw_meta[raw]["mode"] not in entry["modes"]:
            entry["modes"].append(raw_meta[raw]["mode"])
    operations: dict[str, Any] = {}
    for frag in fragments:
        for op in frag.get("x-farm", {}).get("operations", []):
            operations.setdefault(op["operationId"], {**op, "group": frag.get("key")})
    sidecar = {
        "operations": {k: operations[k] for k in sorted(operations)},
        "schemas": {k: sidecar_schemas[k] for k in sorted(sidecar_schemas)},
    }
    return ordered, sidecar
