"""One route module's operations, with every type rendered, ready for the client and hooks templates.

Types come from :mod:`codegen.typescript` (the renderer the model types use), so a field looks
the same in ``types/models`` and here. A ``$ref`` of the fragment names a Python class
(``x-farm.schemas``); it becomes:

* an import from the model module's file when a model module exports it
  (``import type { Product } from "../../types/models/catalog"``), ``XInput`` in a request
  when the types generator emits one (same decision: :func:`codegen.typescript.input_variants`),
  and ``Page<Product>`` for a parametrized generic;
* ``HTTPValidationError``/``ValidationError`` from ``types/api.ts``;
* otherwise a declaration in the client file itself (a model defined in the route module, a
  nested class, a plugin's model), rendered from its OpenAPI schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ..typescript import (
    INPUT_SUFFIX,
    API_FILE,
    ImportScope,
    RefTarget,
    TypeRenderer,
    describe,
    export_name,
    input_variants,
    model_table,
    specifier,
    ts_identifier,
)
from ..typescript.text import doc_comment

REF = "#/components/schemas/"
FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
QUERY_METHODS = ("get", "head")


def camel(name: str) -> str:
    """``list_products`` → ``listProducts`` (a valid, deterministic TS identifier)."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    if not parts:
        return "operation"
    out = parts[0][:1].lower() + parts[0][1:] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    return ts_identifier(out if not out[0].isdigit() else "op" + out)


def pascal(name: str) -> str:
    c = camel(name)
    return c[:1].upper() + c[1:]


def client_file(key: str) -> PurePosixPath:
    return PurePosixPath("services/api").joinpath(*key.split("/")).with_suffix(".ts")


def hooks_file(key: str) -> PurePosixPath:
    return PurePosixPath("hooks/api").joinpath(*key.split("/")).with_suffix(".ts")


RUNTIME_FILE = PurePosixPath("services/api/_runtime.ts")
CLIENT_INDEX = PurePosixPath("services/api.ts")
HOOKS_INDEX = PurePosixPath("hooks/api.ts")


@dataclass
class Field_:
    key: str  # the property of the params object
    wire: str  # the name on the wire
    type: str
    required: bool
    doc: str = ""  # JSDoc, rendered


@dataclass
class Operation:
    function: str  # the Python endpoint function
    name: str  # camelCase
    type_prefix: str  # PascalCase, for the exported types
    method: str  # GET, POST...
    path: str
    summary: str
    description: str
    deprecated: bool
    path_params: list[Field_] = field(default_factory=list)
    query: list[Field_] = field(default_factory=list)
    headers: list[Field_] = field(default_factory=list)
    cookies: list[Field_] = field(default_factory=list)
    body: Field_ | None = None  # one JSON body, under params.<key>
    json_fields: list[Field_] = field(default_factory=list)  # an embedded JSON body
    form: list[Field_] = field(default_factory=list)
    form_kind: str = ""  # "multipart" | "urlencoded"
    ok_status: list[str] = field(default_factory=list)
    response_type: str = "void"
    read: str = "none"  # json | blob | text | none
    errors: list[tuple[str, str]] = field(default_factory=list)  # (status, body type)

    @property
    def fields(self) -> list[Field_]:
        body = [self.body] if self.body else []
        return [*self.path_params, *body, *self.json_fields, *self.form, *self.query, *self.headers, *self.cookies]

    @property
    def params_required(self) -> bool:
        return any(f.required for f in self.fields)

    @property
    def is_query(self) -> bool:
        return self.method.lower() in QUERY_METHODS

    @property
    def jsdoc(self) -> str:
        text = self.summary
        if self.description:
            text += "\n\n" + self.description.strip()
        text += f"\n\n`{self.method} {self.path}`"
        tags = [("deprecated", "")] if self.deprecated else []
        return doc_comment(text, tags)


@dataclass
class ModulePlan:
    key: str  # route module key, e.g. "catalog"
    module: str | None
    source: str
    operations: list[Operation]
    declarations: list[str]  # local interfaces (classes no model module exports)
    imports: str  # rendered `import type` lines for model types
    path: PurePosixPath


class _Resolver:
    """``$ref`` of a fragment → what it is called in one client file."""

    def __init__(self, fragment: Mapping[str, Any], docs: Mapping[str, Mapping[str, Any]],
                 module_files: Mapping[str, PurePosixPath], from_file: PurePosixPath) -> None:
        self.meta: Mapping[str, Any] = fragment.get("x-farm", {}).get("schemas", {})
        self.schemas: Mapping[str, Any] = fragment.get("components", {}).get("schemas", {})
        self.docs = docs
        self.module_files = module_files
        self.from_file = from_file
        self._inputs: dict[str, frozenset[str]] = {}
        self._definitions: dict[str, Mapping[str, Any]] = {}
        self.local: dict[str, str] = {}  # fragment key -> local declaration name
        for doc in docs.values():
            for name in doc.get("order") or []:
                d = doc["definitions"][name]
                self._definitions[str(d["key"])] = d

    def inputs(self, module: str) -> frozenset[str]:
        if module not in self._inputs:
            doc = self.docs.get(module)
            self._inputs[module] = input_variants(model_table(doc)) if doc else frozenset()
        return self._inputs[module]

    def exported(self, type_key: str, module: str | None) -> bool:
        """A model module's file exports this class (top-level model or enum of a known module)."""
        if not module or module not in self.module_files or module not in self.docs:
            return False
        return type_key in self._definitions

    def name_in_module(self, type_key: str, module: str, mode: str) -> str:
        d = self._definitions[type_key]
        name = export_name(str(type_key.rsplit(":", 1)[1]))
        key = type_key
        if d.get("generic_params"):
            key = f"{type_key}[{','.join('~' + p for p in d['generic_params'])}]"
        if mode == "validation" and key in self.inputs(module):
            name += INPUT_SUFFIX
        return name

    def __call__(self, ref: str, mode: Any) -> RefTarget:
        key = ref[len(REF):] if ref.startswith(REF) else ref
        if key in FASTAPI_SCHEMAS:
            return RefTarget(name=key, module=specifier(self.from_file, API_FILE))
        info = self.meta.get(key)
        if info is None or key in self.local:
            return RefTarget(name=self.local.get(key, "unknown"), schema=self.schemas.get(key))
        own_mode = str(info.get("mode", mode))
        module = info.get("module")
        schema = self.schemas.get(key)
        origin = info.get("generic_origin")
        if origin and self.exported(str(origin), module):
            name = self.name_in_module(str(origin), str(module), own_mode)
            return RefTarget(name=name, module=specifier(self.from_file, self.module_files[str(module)]),
                             args=tuple(info.get("generic_arg_schemas") or ()), schema=schema)
        if not origin and self.exported(str(info["type"]), module):
            name = self.name_in_module(str(info["type"]), str(module), own_mode)
            return RefTarget(name=name, module=specifier(self.from_file, self.module_files[str(module)]), schema=schema)
        return RefTarget(name=self.local.get(key, "unknown"), schema=schema)


def _local_declarations(resolver: _Resolver, fragment: Mapping[str, Any], reserved: set[str]) -> list[str]:
    """Name every class the file must declare itself (not FastAPI's form bodies: those become
    parameters), then render them (after naming, so they can refer to each other)."""
    meta = resolver.meta
    needed = []
    for key in sorted(meta):
        info = meta[key]
        if str(info.get("module") or "").startswith("fastapi.") and str(info.get("name", "")).startswith("Body_"):
            continue
        origin = info.get("generic_origin")
        if origin and resolver.exported(str(origin), info.get("module")):
            continue
        if not origin and resolver.exported(str(info["type"]), info.get("module")):
            continue
        needed.append(key)
    by_type: dict[str, list[str]] = {}
    for key in needed:
        by_type.setdefault(str(meta[key]["type"]), []).append(key)
    taken = set(reserved)
    for key in needed:
        info = meta[key]
        base = export_name(str(info.get("name", key)).replace(".", "_"))
        if info.get("generic_origin"):
            base += "".join(export_name(a.rsplit(":", 1)[-1]) for a in info.get("generic_args") or [])
        if info.get("mode") == "validation" and len(by_type[str(info["type"])]) > 1:
            base += INPUT_SUFFIX
        name, n = ts_identifier(base), 2
        while name in taken:
            name, n = f"{ts_identifier(base)}{n}", n + 1
        taken.add(name)
        resolver.local[key] = name
    return needed


def _field_doc(schema: Any, description: str | None = None) -> str:
    s = dict(schema) if isinstance(schema, Mapping) else {}
    if description and not s.get("description"):
        s["description"] = description
    return describe(s)


def _is_file(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    if schema.get("type") == "string" and (
        schema.get("format") == "binary" or schema.get("contentMediaType") == "application/octet-stream"
    ):
        return True
    if schema.get("type") == "array":
        return _is_file(schema.get("items"))
    return any(_is_file(x) for x in schema.get("anyOf", []) if isinstance(x, Mapping) and x.get("type") != "null")


def _file_type(schema: Mapping[str, Any]) -> str:
    many = schema.get("type") == "array" or any(
        isinstance(x, Mapping) and x.get("type") == "array" for x in schema.get("anyOf", []))
    nullable = any(isinstance(x, Mapping) and x.get("type") == "null" for x in schema.get("anyOf", []))
    t = "(Blob | File)[]" if many else "Blob | File"
    return t + (" | null" if nullable else "")


def _made_up_body(info: Mapping[str, Any] | None) -> bool:
    return bool(info) and str(info.get("module") or "").startswith("fastapi.") and str(info.get("name", "")).startswith("Body_")  # type: ignore[union-attr]


class _Keys:
    """Property names of one params object: the wire name when it is an identifier, else a
    snake_case form of it (``Idempotency-Key`` → ``idempotency_key``); never two alike."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def __call__(self, wire: str) -> str:
        key = wire if re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", wire) else re.sub(r"\W+", "_", wire).strip("_").lower()
        key = key or "value"
        if key[0].isdigit():
            key = "_" + key
        base, n = key, 2
        while key in self.taken:
            key, n = f"{base}_{n}", n + 1
        self.taken.add(key)
        return key


def operation_names(fragment: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any], Mapping[str, Any], str]]:
    """``(path, method, operation, x-farm info, TS name)`` of every operation, in document order.

    The name is the endpoint function in camelCase; a function serving several methods gets
    the method appended (``getItemPost``); then a number if still taken.
    """
    op_meta = {o["operationId"]: o for o in fragment.get("x-farm", {}).get("operations", [])}
    raw: list[tuple[str, str, Mapping[str, Any], Mapping[str, Any]]] = []
    for p, item in fragment.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, Mapping):
                raw.append((p, method, op, op_meta.get(op.get("operationId", ""), {})))
    count: dict[str, int] = {}
    for _p, _m, op, info in raw:
        fn = str(info.get("function") or op.get("operationId") or "operation")
        count[fn] = count.get(fn, 0) + 1
    out = []
    taken: set[str] = set()
    for p, method, op, info in raw:
        fn = str(info.get("function") or op.get("operationId") or "operation")
        name = camel(fn if count[fn] == 1 else f"{fn}_{method}")
        base, n = name, 2
        while name in taken:
            name, n = f"{base}{n}", n + 1
        taken.add(name)
        out.append((p, method, op, info, name))
    return out


def plan(fragment: Mapping[str, Any], docs: Mapping[str, Mapping[str, Any]],
         module_files: Mapping[str, PurePosixPath]) -> ModulePlan:
    """Everything the client and hooks of one route module need (see the module docstring).

    ``docs`` are the schema documents of the model modules (by Python module name) and
    ``module_files`` every model module's ``types/models/<key>.ts`` (paths relative to ``src/``).
    """
    key = str(fragment.get("key"))
    path = client_file(key)
    resolver = _Resolver(fragment, docs, module_files, path)

    named = operation_names(fragment)
    raw_ops = [(p, m, op, info) for p, m, op, info, _ in named]
    names = [n for *_, n in named]
    declared_types = set(names)
    for name in names:
        prefix = name[:1].upper() + name[1:]
        declared_types |= {prefix + s for s in ("Params", "Response", "Errors", "Error")}
    declared_types |= {"ApiError", "ApiClient", "RequestOptions", "request", "queryKeys"}
    local_keys = _local_declarations(resolver, fragment, declared_types)
    scope = ImportScope(declared_types | set(resolver.local.values()))
    renderer = TypeRenderer(resolver, scope, defaults_sent=True)

    ops: list[Operation] = []
    for (p, method, op, info), name in zip(raw_ops, names):
        o = Operation(function=str(info.get("function") or name), name=name, type_prefix=name[:1].upper() + name[1:],
                      method=method.upper(), path=p, summary=str(op.get("summary") or name),
                      description=str(op.get("description") or ""), deprecated=bool(op.get("deprecated")))
        keys = _Keys()
        for param in [*item_params(fragment, p), *op.get("parameters", [])]:
            target = {"path": o.path_params, "query": o.query, "header": o.headers, "cookie": o.cookies}.get(param.get("in"))
            if target is None:
                continue
            schema = param.get("schema", {})
            target.append(Field_(keys(param["name"]), param["name"], renderer.expr(schema, "validation"),
                                 bool(param.get("required")) or param.get("in") == "path",
                                 _field_doc(schema, param.get("description"))))
        body = op.get("requestBody")
        if isinstance(body, Mapping):
            content = body.get("content", {})
            required = bool(body.get("required"))
            if "multipart/form-data" in content or "application/x-www-form-urlencoded" in content:
                media = "multipart/form-data" if "multipart/form-data" in content else "application/x-www-form-urlencoded"
                o.form_kind = "multipart" if media == "multipart/form-data" else "urlencoded"
                schema = _deref(fragment, content[media].get("schema", {}))
                req = set(schema.get("required", []))
                for prop, sub in (schema.get("properties") or {}).items():
                    t = _file_type(sub) if _is_file(sub) else renderer.expr(sub, "validation")
                    if _is_file(sub):
                        o.form_kind = "multipart"
                    o.form.append(Field_(keys(prop), prop, t, prop in req, _field_doc(sub)))
            else:
                media = "application/json" if "application/json" in content else next(iter(content), "")
                schema = content.get(media, {}).get("schema", {})
                ref = schema.get("$ref") if isinstance(schema, Mapping) else None
                if isinstance(ref, str) and _made_up_body(resolver.meta.get(ref[len(REF):])):
                    resolved = _deref(fragment, schema)
                    req = set(resolved.get("required", []))
                    for prop, sub in (resolved.get("properties") or {}).items():
                        o.json_fields.append(Field_(keys(prop), prop, renderer.expr(sub, "validation"), prop in req,
                                                    _field_doc(sub)))
                else:
                    body_name = str(info.get("body") or "body")
                    o.body = Field_(keys(body_name), body_name, renderer.expr(schema, "validation"), required,
                                    _field_doc(schema))
        _responses(o, op, renderer)
        ops.append(o)
    declarations = []
    for k in local_keys:
        info = resolver.meta[k]
        schema = resolver.schemas.get(k, {})
        mode = str(info.get("mode", "serialization"))
        where = f"{info.get('module')}.{info.get('name')}" if info.get("module") else str(info.get("type"))
        note = f"Declared here because {where} is not in a model module."
        desc = schema.get("description") if isinstance(schema, Mapping) else None
        text = f"{desc}\n\n{note}" if isinstance(desc, str) and desc else note
        name = resolver.local[k]
        if info.get("kind") == "enum" or "enum" in schema:
            declarations.append(doc_comment(text) + f"\nexport type {name} = {renderer.expr({'enum': schema.get('enum', [])}, mode)};")  # type: ignore[arg-type]
        elif schema.get("type") == "object" or "properties" in schema:
            declarations.append(renderer.interface(name, schema, mode, doc=text))  # type: ignore[arg-type]
        else:
            declarations.append(doc_comment(text) + f"\nexport type {name} = {renderer.expr(schema, mode)};")  # type: ignore[arg-type]
    return ModulePlan(key=key, module=fragment.get("module"), source=str(fragment.get("source") or ""),
                      operations=ops, declarations=declarations, imports=scope.render(), path=path)


def item_params(fragment: Mapping[str, Any], path: str) -> list[Mapping[str, Any]]:
    return list(fragment.get("paths", {}).get(path, {}).get("parameters", []))


def _deref(fragment: Mapping[str, Any], schema: Any) -> Mapping[str, Any]:
    ref = schema.get("$ref") if isinstance(schema, Mapping) else None
    if isinstance(ref, str) and ref.startswith(REF):
        out = fragment.get("components", {}).get("schemas", {}).get(ref[len(REF):], {})
        return out if isinstance(out, Mapping) else {}
    return schema if isinstance(schema, Mapping) else {}


def _responses(o: Operation, op: Mapping[str, Any], renderer: TypeRenderer) -> None:
    ok_types: list[str] = []
    reads: list[str] = []
    for status, resp in sorted((op.get("responses") or {}).items()):
        content = (resp or {}).get("content") or {}
        if "application/json" in content:
            read, t = "json", renderer.expr(content["application/json"].get("schema", {}), "serialization")
        elif not content:
            read, t = "none", "void"
        elif any(ct.startswith("text/") for ct in content):
            read, t = "text", "string"
        else:
            read, t = "blob", "Blob"
        if status.startswith("2"):
            o.ok_status.append(status)
            ok_types.append(t)
            reads.append(read)
        elif read == "json" and status.isdigit():
            o.errors.append((status, t))
        elif status.isdigit():
            o.errors.append((status, "string" if read == "text" else "unknown"))
    uniq = list(dict.fromkeys(ok_types)) or ["void"]
    o.response_type = " | ".join(uniq)
    o.read = reads[0] if reads else "none"
    if len(set(reads)) > 1:
        o.read = "auto"  # several success shapes: decide by the response's content type
