"""The operations of an OpenAPI document, shaped for the client template.

One :class:`Operation` per path + method: its Python method name (the endpoint function's
name), typed parameters by location, the request body and how it is sent, and how each
response status is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .pytypes import Annotation, annotation, py_identifier

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# names a generated method must not take: the client's own attributes
CLIENT_ATTRIBUTES = frozenset({"close", "aclose", "http_client", "base_url"})


@dataclass
class Param:
    py: str  # the Python argument name
    wire: str  # the name on the wire
    annotation: Annotation
    required: bool
    doc: str = ""
    kind: str = "value"  # value | file (multipart)


@dataclass
class Response:
    status: str
    read: str  # "json" | "bytes" | "text" | "none"
    annotation: Annotation | None = None  # for json
    model: bool = False  # the annotation is one generated class (so Class.model_validate_json)


@dataclass
class Operation:
    name: str
    method: str
    path: str
    path_expr: str  # a Python f-string body building the path
    summary: str
    description: str
    deprecated: bool
    group: str
    function: str
    path_params: list[Param] = field(default_factory=list)
    query: list[Param] = field(default_factory=list)
    headers: list[Param] = field(default_factory=list)
    cookies: list[Param] = field(default_factory=list)
    body: Param | None = None  # a JSON body
    json_fields: list[Param] = field(default_factory=list)  # an embedded JSON body: one argument per key
    body_required: bool = False
    form: list[Param] = field(default_factory=list)  # multipart / urlencoded fields
    form_kind: str = ""  # "multipart" | "urlencoded"
    ok: list[Response] = field(default_factory=list)
    errors: list[Response] = field(default_factory=list)
    doc: str = ""  # the method's docstring, escaped

    @property
    def returns(self) -> Annotation:
        parts = []
        for r in self.ok:
            if r.read == "none":
                parts.append("None")
            elif r.read == "bytes":
                parts.append("bytes")
            elif r.read == "text":
                parts.append("str")
            elif r.annotation is not None:
                parts.append(r.annotation.text)
        uniq = list(dict.fromkeys(parts)) or ["None"]
        needs = frozenset().union(*(r.annotation.needs for r in self.ok if r.annotation is not None))
        return Annotation(" | ".join(uniq), needs)

    @property
    def primary(self) -> Response:
        return self.ok[0] if self.ok else Response("204", "none")

    @property
    def single_reader(self) -> bool:
        """Every success status is read the same way (so no per-status branches)."""
        return len({(r.read, r.annotation.text if r.annotation else None) for r in self.ok}) <= 1

    @property
    def all_params(self) -> list[Param]:
        body = [self.body] if self.body else []
        return [*self.path_params, *body, *self.json_fields, *self.form, *self.query, *self.headers, *self.cookies]

    @property
    def needs(self) -> frozenset[str]:
        out: set[str] = set(self.returns.needs)
        for p in self.all_params:
            out |= p.annotation.needs
        for r in self.errors:
            if r.annotation is not None:
                out |= r.annotation.needs
        return frozenset(out)


def _resolve(doc: Mapping[str, Any], schema: Any) -> Any:
    """Follow a top-level ``$ref`` into components (for request bodies FastAPI makes up)."""
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return doc.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return schema


def _made_up_body(schema: Any, meta: Mapping[str, Any]) -> bool:
    """A ``Body_<operation>`` schema FastAPI made from several body parameters."""
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if not isinstance(ref, str):
        return False
    info = meta.get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return str(info.get("module") or "").startswith("fastapi.") and str(info.get("name", "")).startswith("Body_")


def _is_file(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "string" and (
        schema.get("format") == "binary" or schema.get("contentMediaType") == "application/octet-stream"
    ):
        return True
    if schema.get("type") == "array":
        return _is_file(schema.get("items"))
    return any(_is_file(x) for x in schema.get("anyOf", []) if x.get("type") != "null")


def _file_annotation(schema: Any) -> Annotation:
    many = isinstance(schema, dict) and schema.get("type") == "array"
    optional = isinstance(schema, dict) and any(x.get("type") == "null" for x in schema.get("anyOf", []))
    text = "list[FileInput]" if many else "FileInput"
    return Annotation(text + (" | None" if optional else ""))


def _doc(schema: Any, fallback: str = "") -> str:
    if isinstance(schema, dict):
        return str(schema.get("description") or fallback)
    return fallback


def _responses(doc: Mapping[str, Any], op: Mapping[str, Any], class_of: Mapping[str, str]) -> tuple[list[Response], list[Response]]:
    ok: list[Response] = []
    errors: list[Response] = []
    for status, resp in sorted(op.get("responses", {}).items()):
        content = resp.get("content") or {}
        if not content:
            r = Response(status, "none")
        elif "application/json" in content:
            schema = content["application/json"].get("schema", {})
            ann = annotation(schema, class_of)
            is_model = isinstance(schema, dict) and set(schema) == {"$ref"}
            r = Response(status, "json", ann, is_model)
        elif any(ct.startswith("text/") for ct in content):
            r = Response(status, "text")
        else:
            r = Response(status, "bytes")
        (ok if status.startswith("2") or status == "2XX" else errors).append(r)
    return ok, errors


def operations(doc: Mapping[str, Any], meta: Mapping[str, Any], class_of: Mapping[str, str]) -> list[Operation]:
    """Every operation of ``doc`` (not webhooks: the API calls those, not the client)."""
    op_meta = dict(meta.get("operations", {}))
    found: list[Operation] = []
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            info = op_meta.get(op.get("operationId", ""), {})
            function = str(info.get("function") or op.get("operationId") or f"{method}_{path}")
            taken: set[str] = {"self"}
            o = Operation(
                name=function, method=method.upper(), path=path, path_expr="",
                summary=str(op.get("summary") or ""), description=str(op.get("description") or ""),
                deprecated=bool(op.get("deprecated")), group=str(info.get("group") or ""), function=function,
            )
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            wire_to_py: dict[str, str] = {}
            for p in params:
                loc = p.get("in")
                target = {"path": o.path_params, "query": o.query, "header": o.headers, "cookie": o.cookies}.get(loc)
                if target is None:
                    continue
                param = Param(py_identifier(p["name"], taken), p["name"], annotation(p.get("schema", {}), class_of),
                              bool(p.get("required")) or loc == "path", _doc(p, _doc(p.get("schema"))))
                target.append(param)
                if loc == "path":
                    wire_to_py[p["name"]] = param.py
            o.path_expr = _path_expr(path, wire_to_py)
            body = op.get("requestBody")
            if body:
                content = body.get("content", {})
                o.body_required = bool(body.get("required"))
                if "multipart/form-data" in content or "application/x-www-form-urlencoded" in content:
                    o.form_kind = "multipart" if "multipart/form-data" in content else "urlencoded"
                    schema = _resolve(doc, content.get("multipart/form-data", content.get("application/x-www-form-urlencoded", {})).get("schema", {}))
                    required = set(schema.get("required", []))
                    for name, prop in schema.get("properties", {}).items():
                        is_file = _is_file(prop)
                        ann = _file_annotation(prop) if is_file else annotation(prop, class_of)
                        o.form.append(Param(py_identifier(name, taken), name, ann, name in required, _doc(prop),
                                            "file" if is_file else "value"))
                        if is_file:
                            o.form_kind = "multipart"
                else:
                    media = "application/json" if "application/json" in content else next(iter(content), "")
                    schema = content.get(media, {}).get("schema", {})
                    if _made_up_body(schema, meta):
                        # several body parameters: FastAPI embeds each under its name
                        resolved = _resolve(doc, schema)
                        required = set(resolved.get("required", []))
                        for name, prop in resolved.get("properties", {}).items():
                            o.json_fields.append(Param(py_identifier(name, taken), name, annotation(prop, class_of),
                                                       name in required, _doc(prop)))
                    else:
                        body_name = str(info.get("body") or "body")
                        o.body = Param(py_identifier(body_name, taken), body_name,
                                       annotation(schema, class_of), o.body_required, _doc(schema))
            o.ok, o.errors = _responses(doc, op, class_of)
            found.append(o)
    _name(found)
    return found


def _path_expr(path: str, wire_to_py: Mapping[str, str]) -> str:
    """``/products/{product_id}`` → ``/products/{_path(product_id)}`` (literal braces escaped)."""
    out = []
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("}") and part[1:-1] in wire_to_py:
            out.append("{_path(" + wire_to_py[part[1:-1]] + ")}")
        else:
            out.append(part.replace("{", "{{").replace("}", "}}").replace("\\", "\\\\").replace('"', '\\"'))
    return "".join(out)


def _name(ops: list[Operation]) -> None:
    """Method names: the endpoint function, qualified only where two would clash."""
    count: dict[str, int] = {}
    for o in ops:
        count[o.function] = count.get(o.function, 0) + 1
    taken: set[str] = set(CLIENT_ATTRIBUTES)
    for o in ops:
        base = py_identifier(o.function)
        if count[o.function] > 1:
            groups = {x.group for x in ops if x.function == o.function}
            if len(groups) > 1 and o.group:
                base = py_identifier(f"{o.group}_{o.function}")
            same_group = [x for x in ops if x.function == o.function and x.group == o.group]
            if len(same_group) > 1:
                base = py_identifier(f"{base}_{o.method.lower()}")
        o.name = py_identifier(base, taken)
