"""Reading farmbuild's schema documents (``.farm/schema/<key>.json``) for TypeScript output.

Three things every generator that emits or imports the model types must agree on live here:

- :func:`model_table`: every definition a document reaches, with its schema in both modes;
- :func:`input_variants`: which models get a separate ``XInput`` interface — those whose
  accepted shape (validation schema) renders differently from their returned shape
  (serialization schema), *including* through the models they reach (an ``Order`` holding a
  ``Money`` whose input differs has an ``OrderInput`` holding a ``MoneyInput``). Decided from
  one document alone (its ``defs`` are transitively closed), so every file agrees;
- :class:`SchemaResolver`: what a ``$ref`` of the document is called in a given output file
  (imported from the module that exports it, or declared in the file itself).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .render import MODES, REF_PREFIX, ImportScope, Mode, RefTarget, Schema, TypeRenderer, module_prefix
from .text import ts_identifier

INPUT_SUFFIX = "Input"
_OBJECT_KINDS = ("model", "class", "unknown")


class NameCollision(ValueError):
    """Two declarations of one generated file would get the same TypeScript name.

    ``line`` is the Python source line of the definition that loses (when known).
    """

    def __init__(self, message: str, *, name: str, line: int | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.line = line


def ref_key(ref: str) -> str:
    return ref[len(REF_PREFIX):] if ref.startswith(REF_PREFIX) else ref


def template_key(definition: Mapping[str, Any]) -> str | None:
    """``src.models.common:Page[~T]`` for a generic definition (what refs call its template)."""
    params = definition.get("generic_params") or []
    if not params:
        return None
    return f"{definition['key']}[{','.join('~' + p for p in params)}]"


def _own_schema(definition: Mapping[str, Any], mode: Mode, defs: Mapping[str, Any]) -> Schema:
    schema = definition.get(mode) if definition.get("kind") == "model" else definition.get("schema")
    schema = schema or {}
    # a recursive model's top-level schema is only a $ref to itself, the body is in defs
    ref = schema.get("$ref") if isinstance(schema, Mapping) else None
    if isinstance(ref, str) and set(schema) <= {"$ref", "title", "description"}:
        body = defs.get(mode, {}).get(ref_key(ref))
        if body is not None:
            return body
    return schema


@dataclass
class ModelTable:
    """Every definition a schema document reaches: ``schemas[key][mode]``, ``kinds[key]``."""

    schemas: dict[str, dict[str, Schema]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    refs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def generic_base(self, key: str, mode: Mode) -> tuple[str, tuple[Schema, ...]] | None:
        """For a parametrized generic key: ``(template key, argument schemas)``; else None."""
        info = self.refs.get(key) or {}
        template = info.get("generic_template")
        args = (info.get("generic_arg_schemas") or {}).get(mode)
        if not info.get("generic_origin") or not template or args is None:
            return None
        return template, tuple(args)

    def is_parametrized(self, key: str) -> bool:
        info = self.refs.get(key) or {}
        return bool(info.get("generic_origin")) and info.get("generic_template") not in (None, key)


def model_table(doc: Mapping[str, Any]) -> ModelTable:
    defs = doc.get("defs") or {}
    table = ModelTable(refs={k: dict(v) for k, v in (doc.get("refs") or {}).items()})
    for mode in MODES:
        for key, schema in (defs.get(mode) or {}).items():
            table.schemas.setdefault(key, {})[mode] = schema
    for key, info in table.refs.items():
        table.kinds[key] = str(info.get("kind", "unknown"))
    for name in doc.get("order") or []:
        d = doc["definitions"][name]
        per_mode: dict[str, Schema] = {mode: _own_schema(d, mode, defs) for mode in MODES}
        table.schemas[d["key"]] = per_mode
        table.kinds[d["key"]] = d["kind"]
        tkey = template_key(d)
        if tkey:
            table.schemas[tkey] = per_mode
            table.kinds[tkey] = d["kind"]
            table.refs.setdefault(tkey, {"module": doc.get("module"), "name": name, "kind": "model",
                                         "generic_origin": d["key"], "generic_template": tkey,
                                         "generic_params": list(d["generic_params"])})
    return table


def _signature(renderer: TypeRenderer, schema: Schema, mode: Mode) -> tuple[Any, ...]:
    if not isinstance(schema, Mapping):
        return ("?",)
    if "properties" in schema or schema.get("type") == "object":
        props = tuple((p.name, p.type, p.optional, p.readonly) for p in renderer.properties(schema, mode, docs=False))
        return ("object", props, renderer.index_signature(schema, mode))
    return ("expr", renderer.expr(schema, mode))


def input_variants(table: ModelTable) -> frozenset[str]:
    """Keys of the models whose input interface differs from their output interface.

    A least fixpoint: a model differs if its two schemas render differently when every model
    it reaches is named ``X`` (output) or ``XInput`` (input, for the ones found to differ).
    """
    keys = sorted(table.schemas)
    ids = {k: f"R{i}" for i, k in enumerate(keys)}
    inputs: set[str] = set()

    def resolve(ref: str, mode: Mode) -> RefTarget:
        key = ref_key(ref)
        base = table.generic_base(key, mode)
        args: tuple[Schema, ...] = ()
        if base is not None:
            key, args = base
        name = ids.get(key, "R?" + key.replace("|", "/"))
        if mode == "validation" and key in inputs:
            name += "_in"
        return RefTarget(name=name, args=args, schema=table.schemas.get(ref_key(ref), {}).get(mode))

    renderer = TypeRenderer(resolve, ImportScope())
    candidates = [k for k in keys if table.kinds.get(k) in _OBJECT_KINDS and not table.is_parametrized(k)]
    changed = True
    while changed:
        changed = False
        for key in candidates:
            if key in inputs:
                continue
            schemas = table.schemas[key]
            if "validation" not in schemas or "serialization" not in schemas:
                continue
            if _signature(renderer, schemas["validation"], "validation") != _signature(
                renderer, schemas["serialization"], "serialization"
            ):
                inputs.add(key)
                changed = True
    return frozenset(inputs)


def specifier(from_file: PurePosixPath, to_file: PurePosixPath) -> str:
    """The relative import specifier from one generated file to another (no extension).

    >>> specifier(PurePosixPath("types/models/billing/invoice.ts"), PurePosixPath("types/models/common.ts"))
    '../common'
    """
    rel = posixpath.relpath(str(to_file.with_suffix("")), str(from_file.parent))
    return rel if rel.startswith("../") else "./" + rel


def export_name(name: str) -> str:
    """The TypeScript name a model module exports for a Python class name (qualname)."""
    return ts_identifier(name.replace(".", "_"))


class SchemaResolver:
    """Resolves ``$ref`` s of a schema document for one output file.

    - ``module_files``: Python module → the ``.ts`` file exporting its models (same coordinate
      system as ``from_file``, e.g. ``types/models/catalog.ts``);
    - ``local``: keys declared in this file → their local names;
    - ``inputs``: :func:`input_variants` of the document's table.

    A key not local and not exported by a model module raises ``KeyError`` (the caller declares
    such "foreign" classes in its own file and passes them in ``local``).
    """

    def __init__(
        self,
        table: ModelTable,
        *,
        module_files: Mapping[str, PurePosixPath],
        from_file: PurePosixPath,
        local: Mapping[str, str],
        inputs: frozenset[str],
    ) -> None:
        self.table = table
        self.module_files = module_files
        self.from_file = from_file
        self.local = local
        self.inputs = inputs

    def exported_by(self, key: str) -> PurePosixPath | None:
        """The model module file that exports ``key``, or None."""
        info = self.table.refs.get(key) or {}
        if info.get("kind") not in ("model", "enum"):
            return None
        name = str(info.get("name", ""))
        if "." in name or "<" in name:
            return None
        path = self.module_files.get(str(info.get("module")))
        if path is None or self.table.is_parametrized(key):
            return None
        return path

    def name_of(self, key: str, mode: Mode) -> tuple[str, str | None]:
        """``(exported name, import specifier or None when declared here)``."""
        suffix = INPUT_SUFFIX if mode == "validation" and key in self.inputs else ""
        if key in self.local:
            return self.local[key] + suffix, None
        path = self.exported_by(key)
        if path is None:
            raise KeyError(key)
        info = self.table.refs[key]
        return export_name(str(info["name"])) + suffix, (None if path == self.from_file else specifier(self.from_file, path))

    def __call__(self, ref: str, mode: Mode) -> RefTarget:
        key = ref_key(ref)
        schema = self.table.schemas.get(key, {}).get(mode)
        base = self.table.generic_base(key, mode)
        if base is not None and key not in self.local:
            template, args = base
            name, module = self.name_of(template, mode)
            return RefTarget(name=name, module=module, args=args, schema=schema)
        name, module = self.name_of(key, mode)
        return RefTarget(name=name, module=module, schema=schema)


def import_aliases(
    candidates: Iterable[tuple[str, str]], declared: Iterable[str], reserved_globals: Iterable[str] = ()
) -> dict[tuple[str, str], str]:
    """Order-independent local names for every import a file *might* need.

    A name imported from one module and not declared in the file keeps its name; otherwise
    every import of it gets ``<ModulePrefix><Name>`` (then a number if still taken).
    """
    cands = sorted(set(candidates))
    taken = set(declared) | set(reserved_globals)
    by_name: dict[str, set[str]] = {}
    for module, name in cands:
        by_name.setdefault(name, set()).add(module)
    out: dict[tuple[str, str], str] = {}
    for module, name in cands:
        if len(by_name[name]) == 1 and name not in taken:
            out[(module, name)] = name
    used = taken | set(out.values())
    for module, name in cands:
        if (module, name) in out:
            continue
        base = ts_identifier(module_prefix(module) + name)
        local, n = base, 2
        while local in used:
            local, n = f"{base}{n}", n + 1
        used.add(local)
        out[(module, name)] = local
    return out
