"""JSON Schema node → TypeScript type expression (the shared renderer; see the package docstring)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .text import doc_comment, property_key, ts_identifier, ts_string

Mode = Literal["serialization", "validation"]
MODES: tuple[Mode, Mode] = ("serialization", "validation")
REF_PREFIX = "#/$defs/"

Schema = Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Import:
    """``import type { name as local } from "module"``."""

    module: str
    name: str
    local: str


@dataclass(frozen=True)
class TsType:
    """A rendered type expression and the imports it needs (with their local names)."""

    text: str
    imports: frozenset[Import] = frozenset()


@dataclass(frozen=True)
class RefTarget:
    """What a ``$ref`` stands for, as a resolver tells the renderer.

    - ``name``: the exported TypeScript name (``"Product"``, ``"ProductInput"``, ``"Page"``);
    - ``module``: the import specifier it comes from (``"../../types/models/catalog"``), or
      ``None`` when it is declared in the file being rendered;
    - ``args``: generic arguments as schema nodes, rendered in the same mode
      (``Page<Product>``: ``name="Page", args=({"$ref": "...Product"},)``);
    - ``schema``: the target's own schema in the mode asked for, when known (lets the renderer
      see whether a discriminated-union member requires its tag);
    - ``inline``: render this schema in place instead of naming anything.
    """

    name: str
    module: str | None = None
    args: tuple[Schema, ...] = ()
    schema: Schema | None = None
    inline: Schema | None = None


Resolver = Callable[[str, Mode], RefTarget]


class ImportScope:
    """The names a file declares and imports; hands out collision-free local names.

    ``declared`` are the file's own top-level names. ``aliases`` may pre-assign the local name
    of an import (``{(module, name): local}``) so naming does not depend on rendering order.
    An import whose name is taken gets ``<Prefix><Name>`` (``prefix(module)``), then a number.
    """

    def __init__(
        self,
        declared: Iterable[str] = (),
        *,
        aliases: Mapping[tuple[str, str], str] | None = None,
        prefix: Callable[[str], str] | None = None,
    ) -> None:
        self.declared = set(declared)
        self._aliases: dict[tuple[str, str], str] = dict(aliases or {})
        self._prefix = prefix or module_prefix
        self._used: dict[tuple[str, str], str] = {}
        self._taken = set(self.declared) | set(self._aliases.values())
        self._globals: set[str] = set()

    def bind(self, module: str, name: str) -> str:
        """The local name for ``name`` imported from ``module`` (recording the import)."""
        key = (module, name)
        if key in self._used:
            return self._used[key]
        local = self._aliases.get(key)
        if local is None:
            local = name
            if local in self._taken or local in self._globals:
                local = ts_identifier(self._prefix(module) + name)
                n = 2
                base = local
                while local in self._taken or local in self._globals:
                    local, n = f"{base}{n}", n + 1
            self._aliases[key] = local
        self._taken.add(local)
        self._used[key] = local
        return local

    def global_name(self, name: str) -> bool:
        """Whether the global type ``name`` (``Record``, ``Partial``) can be used unshadowed here."""
        if name in self._taken:
            return False
        self._globals.add(name)
        return True

    def imports(self) -> list[Import]:
        return sorted(Import(m, n, local) for (m, n), local in self._used.items())

    def render(self) -> str:
        """``import type`` statements, one per module, sorted; empty string if none."""
        by_module: dict[str, list[Import]] = {}
        for imp in self.imports():
            by_module.setdefault(imp.module, []).append(imp)
        lines = []
        for module in sorted(by_module):
            names = ", ".join(
                i.name if i.name == i.local else f"{i.name} as {i.local}"
                for i in sorted(by_module[module], key=lambda i: i.name)
            )
            lines.append(f"import type {{ {names} }} from {ts_string(module)};")
        return "\n".join(lines)


def module_prefix(module: str) -> str:
    """``"../billing/invoice"`` → ``"BillingInvoice"`` (used to alias colliding imports)."""
    parts = [p for p in re.split(r"[/.\\:]+", module) if p and p not in ("..",)]
    return "".join(p[:1].upper() + p[1:] for p in (re.sub(r"[^0-9A-Za-z]+", "_", x) for x in parts) if p) or "Module"


@dataclass(frozen=True)
class Property:
    """One member of an interface / object type."""

    name: str  # the wire name
    type: str
    optional: bool
    readonly: bool = False
    doc: str = ""  # rendered JSDoc (without indentation), or ""

    def render(self, indent: str = "  ") -> str:
        head = f"{indent}{'readonly ' if self.readonly else ''}{property_key(self.name)}{'?' if self.optional else ''}: {self.type};"
        if self.doc:
            doc = "\n".join(indent + line if line else line for line in self.doc.split("\n"))
            return f"{doc}\n{head}"
        return head


# precedence of a rendered expression: where it needs parentheses
_UNION, _INTERSECTION, _ATOM = 1, 2, 3

_CONSTRAINT_TAGS = (
    "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
)


def literal(value: Any) -> str:
    """A JSON value as a TypeScript literal type (``"a"``, ``1``, ``true``, ``null``, ``readonly [1, 2]``)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return ts_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "number"
        return repr(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, (list, tuple)):
        return "readonly [" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + " ".join(f"readonly {property_key(str(k))}: {literal(v)};" for k, v in value.items()) + " }"
    return "unknown"


def literal_value(value: Any) -> str:
    """A JSON value as a TypeScript *expression* (for ``as const`` objects)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{property_key(str(k))}: {literal_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return literal(value)


def _json_text(value: Any) -> str:
    """JSON for a JSDoc tag value: one line, every line terminator escaped."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)  # pydantic writes ge=0 on a Decimal/float as 0.0
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "".join(f"\\u{ord(c):04x}" if c in "\u2028\u2029\x85" or 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def jsdoc_tags(schema: Schema, *, deprecated: str | bool | None = None) -> list[tuple[str, str]]:
    """JSDoc tags for a property/parameter schema: ``@deprecated``, ``@format``, ``@default``,
    constraints (``@minLength`` …), ``@example``.

    Constraints and formats are read through ``T | null`` and ``anyOf`` branches (a Decimal's
    ``number | string``), so the tags describe the value whatever its wire form.
    """
    tags: list[tuple[str, str]] = []
    dep = deprecated if deprecated is not None else schema.get("deprecated")
    if dep:
        tags.append(("deprecated", dep if isinstance(dep, str) else ""))
    nodes = _constraint_nodes(schema)
    formats = []
    for n in nodes:
        f = n.get("format")
        if isinstance(f, str) and f not in formats:
            formats.append(f)
    for f in formats:
        tags.append(("format", f))
    if "default" in schema:
        tags.append(("default", _json_text(schema["default"])))
    seen: set[tuple[str, str]] = set()
    for name in _CONSTRAINT_TAGS:
        for n in nodes:
            if name in ("minItems", "maxItems") and ("prefixItems" in n or n.get("maxItems") == 0):
                continue  # a tuple's length is in its type already
            if name in n and not isinstance(n[name], (dict, list)):
                value = n[name] if isinstance(n[name], str) else _json_text(n[name])
                if (name, value) not in seen:
                    seen.add((name, value))
                    tags.append((name, value))
    for ex in schema.get("examples", []) if isinstance(schema.get("examples"), list) else []:
        tags.append(("example", _json_text(ex)))
    return tags


def _constraint_nodes(schema: Schema) -> list[Schema]:
    out = [schema]
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key, ()) if isinstance(schema.get(key), list) else ():
            if isinstance(branch, Mapping) and branch.get("type") != "null" and "$ref" not in branch:
                out.extend(_constraint_nodes(branch))
    return out


def describe(schema: Schema, *, deprecated: str | bool | None = None, indent: str = "") -> str:
    """The JSDoc block for a property/parameter: its description and :func:`jsdoc_tags`."""
    text = schema.get("description")
    return doc_comment(text if isinstance(text, str) else None, jsdoc_tags(schema, deprecated=deprecated), indent)


@dataclass
class TypeRenderer:
    """Renders JSON Schema nodes (pydantic/OpenAPI flavour) as TypeScript type expressions.

    ``resolve(ref, mode)`` says what each ``$ref`` names; ``scope`` collects the imports and
    keeps local names unique; ``typevars`` maps ``x-farm-typevar`` names to the type parameter
    names in scope. With ``defaults_sent=True`` a serialization-mode property carrying a
    ``default`` counts as always present (pydantic emits defaulted fields), for schemas that
    lack ``x-farm-always-sent`` (FastAPI's OpenAPI output schemas). That is a heuristic: a
    ``default_factory`` leaves no ``default`` in the schema, so such a field stays optional;
    farmbuild's own schema documents mark every always-sent field.
    """

    resolve: Resolver
    scope: ImportScope = field(default_factory=ImportScope)
    typevars: Mapping[str, str] = field(default_factory=dict)
    defaults_sent: bool = False
    _collect: set[Import] | None = field(default=None, init=False, repr=False)

    # -- public API -------------------------------------------------------------------------

    def render(self, schema: Schema | bool, mode: Mode) -> TsType:
        """The TypeScript type of ``schema`` in ``mode`` plus the imports it needs.

        The imports are also recorded in :attr:`scope` (``scope.render()`` writes them all).
        """
        outer = self._collect
        self._collect = set()
        try:
            text = self.expr(schema, mode)
            return TsType(text, frozenset(self._collect))
        finally:
            if outer is not None:
                outer |= self._collect
            self._collect = outer

    def expr(self, schema: Schema | bool, mode: Mode) -> str:
        """Just the type text (imports go to :attr:`scope`)."""
        return self._render(schema, mode)[0]

    def properties(self, schema: Schema, mode: Mode, *, deprecated: Mapping[str, str | bool] | None = None,
                   docs: bool = True) -> list[Property]:
        """The members of an object schema, in schema order.

        A property is optional unless it is in ``required`` — or, in serialization mode, in
        ``x-farm-always-sent`` (a default is always sent). ``readOnly`` properties (computed
        fields) are ``readonly``.
        """
        props = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        if mode == "serialization":
            required |= set(schema.get("x-farm-always-sent") or ())
            if self.defaults_sent:
                required |= {k for k, v in props.items() if isinstance(v, Mapping) and "default" in v}
        out = []
        for name, sub in props.items():
            sub = sub if isinstance(sub, Mapping) else {}
            dep = (deprecated or {}).get(name)
            out.append(
                Property(
                    name=name,
                    type=self.expr(sub, mode),
                    optional=name not in required,
                    readonly=bool(sub.get("readOnly")) and mode == "serialization",
                    doc=describe(sub, deprecated=dep) if docs else "",
                )
            )
        return out

    def index_signature(self, schema: Schema, mode: Mode) -> str | None:
        """``[key: string]: T`` for an object that allows extra keys (``extra="allow"``), else None."""
        extra = schema.get("additionalProperties")
        if extra is None or extra is False:
            if not schema.get("patternProperties"):
                return None
            extra = {"anyOf": list(schema["patternProperties"].values())}
        value = "unknown" if extra is True else self.expr(extra, mode)
        if schema.get("properties") and value != "unknown":
            # every declared property must fit the index signature: widen it
            members = [value] + [self.expr(v, mode) for v in schema["properties"].values()]
            if "undefined" not in members:
                members.append("undefined")
            value = " | ".join(dict.fromkeys(members))
        return f"[key: string]: {value};"

    def type_alias(self, name: str, schema: Schema, mode: Mode, *, params: Sequence[str] = (),
                   doc: str | None = None, export: bool = True) -> str:
        """``export type Name = <expr>;`` for a schema that is not an object (a ``RootModel``)."""
        comment = doc_comment(doc if doc is not None else schema.get("description"), jsdoc_tags(schema))
        head = f"{'export ' if export else ''}type {name}{'<' + ', '.join(params) + '>' if params else ''}"
        return (comment + "\n" if comment else "") + f"{head} = {self.expr(schema, mode)};"

    def interface(
        self,
        name: str,
        schema: Schema,
        mode: Mode,
        *,
        params: Sequence[str] = (),
        doc: str | None = None,
        deprecated: Mapping[str, str | bool] | None = None,
        export: bool = True,
        deprecated_model: str | bool | None = None,
    ) -> str:
        """``export interface Name<T> { ... }`` for an object schema (with its JSDoc).

        ``deprecated`` maps property names to their deprecation (message or True);
        ``deprecated_model`` marks the whole interface (default: the schema's ``deprecated``).
        """
        members = [p.render() for p in self.properties(schema, mode, deprecated=deprecated)]
        index = self.index_signature(schema, mode)
        if index:
            members.append("  " + index)
        head = f"{'export ' if export else ''}interface {name}{'<' + ', '.join(params) + '>' if params else ''}"
        body = " {\n" + "\n".join(members) + "\n}" if members else " {}"
        dep = deprecated_model if deprecated_model is not None else schema.get("deprecated")
        tags = [("deprecated", dep if isinstance(dep, str) else "")] if dep else []
        comment = doc_comment(doc if doc is not None else schema.get("description"), tags)
        return (comment + "\n" if comment else "") + head + body

    # -- the recursion ---------------------------------------------------------------------------

    def _render(self, node: Schema | bool, mode: Mode) -> tuple[str, int]:
        if node is True or node is None:
            return "unknown", _ATOM
        if node is False:
            return "never", _ATOM
        if not isinstance(node, Mapping):
            return "unknown", _ATOM
        if "$ref" in node and isinstance(node["$ref"], str):
            return self._ref(node["$ref"], mode)
        if "x-farm-typevar" in node:
            tv = str(node["x-farm-typevar"])
            return self.typevars.get(tv, ts_identifier(tv)), _ATOM
        if "const" in node:
            return literal(node["const"]), _ATOM
        if isinstance(node.get("enum"), list):
            return self._union([(literal(v), _ATOM) for v in node["enum"]])
        for key in ("oneOf", "anyOf"):
            if isinstance(node.get(key), list):
                return self._union_node(node, key, mode)
        if isinstance(node.get("allOf"), list):
            parts = [self._render(s, mode) for s in node["allOf"]]
            if len(parts) == 1:
                return parts[0]
            return self._intersection(parts)
        t = node.get("type")
        if isinstance(t, list):
            return self._union([self._render({**node, "type": one}, mode) for one in t])
        if t == "string":
            return "string", _ATOM
        if t in ("integer", "number"):
            return "number", _ATOM
        if t == "boolean":
            return "boolean", _ATOM
        if t == "null":
            return "null", _ATOM
        if t == "array" or (t is None and ("items" in node or "prefixItems" in node)):
            return self._array(node, mode), _ATOM
        if t == "object" or (t is None and ("properties" in node or "additionalProperties" in node)):
            return self._object(node, mode), _ATOM
        return "unknown", _ATOM

    def _ref(self, ref: str, mode: Mode) -> tuple[str, int]:
        target = self.resolve(ref, mode)
        if target.inline is not None:
            return self._render(target.inline, mode)
        if target.module is None:
            name = target.name
        else:
            name = self.scope.bind(target.module, target.name)
            if self._collect is not None:
                self._collect.add(Import(target.module, target.name, name))
        if target.args:
            name += "<" + ", ".join(self.expr(a, mode) for a in target.args) + ">"
        return name, _ATOM

    def _union_node(self, node: Schema, key: str, mode: Mode) -> tuple[str, int]:
        branches = node[key]
        disc = node.get("discriminator")
        prop = disc.get("propertyName") if isinstance(disc, Mapping) else None
        mapping: Mapping[str, Any] = {}
        if isinstance(disc, Mapping) and isinstance(disc.get("mapping"), Mapping):
            mapping = disc["mapping"]
        tags_by_ref: dict[str, list[str]] = {}
        for tag, target in mapping.items():
            tags_by_ref.setdefault(str(target), []).append(str(tag))
        parts = []
        for b in branches:
            part = self._render(b, mode)
            ref = b.get("$ref") if isinstance(b, Mapping) else None
            if prop and mode == "validation" and isinstance(ref, str) and ref in tags_by_ref:
                # pydantic needs the tag in the input even when the member gives it a default:
                # keep it required here so the union narrows on it.
                target = self.resolve(ref, mode)
                if target.schema is not None and prop not in set(target.schema.get("required") or ()):
                    tag_type = " | ".join(ts_string(t) for t in tags_by_ref[ref])
                    part = (f"{_paren(part, _INTERSECTION)} & {{ {property_key(prop)}: {tag_type} }}", _INTERSECTION)
            parts.append(part)
        return self._union(parts)

    def _union(self, parts: list[tuple[str, int]]) -> tuple[str, int]:
        pieces: dict[str, int] = {}
        for text, prec in parts:
            if text == "never":
                continue
            # flatten nested unions and drop duplicates
            if prec == _UNION:
                for piece in _split_union(text):
                    pieces.setdefault(piece, _INTERSECTION)
            else:
                pieces.setdefault(text, prec)
        if not pieces:
            return "never", _ATOM
        if "unknown" in pieces:
            return "unknown", _ATOM
        if len(pieces) == 1:
            return next(iter(pieces.items()))
        # `A | (B & { tag: "b" })`: correct without parentheses, but easier to read with them
        return " | ".join(f"({t})" if p == _INTERSECTION and " & " in t else t for t, p in pieces.items()), _UNION

    def _intersection(self, parts: list[tuple[str, int]]) -> tuple[str, int]:
        texts = [_paren(p, _INTERSECTION) for p in parts if p[0] != "unknown"]
        texts = list(dict.fromkeys(texts))
        if not texts:
            return "unknown", _ATOM
        if len(texts) == 1:
            return texts[0], _INTERSECTION
        return " & ".join(texts), _INTERSECTION

    def _array(self, node: Schema, mode: Mode) -> str:
        prefix = node.get("prefixItems")
        items = node.get("items")
        if isinstance(prefix, list):
            elems = [self.expr(s, mode) for s in prefix]
            min_items = node.get("minItems", 0)
            out = [e if i < min_items else f"{e}?" for i, e in enumerate(elems)]
            max_items = node.get("maxItems")
            if items is False or (items is None and max_items is not None and max_items <= len(prefix)):
                pass
            else:
                rest = "unknown" if items is None or items is True else self.expr(items, mode)
                rest_p = self._render(items, mode) if isinstance(items, Mapping) else (rest, _ATOM)
                out.append(f"...{_paren(rest_p, _ATOM)}[]")
            return "[" + ", ".join(out) + "]"
        if node.get("maxItems") == 0:
            return "[]"
        if items is None or items is True:
            return "unknown[]"
        return _paren(self._render(items, mode), _ATOM) + "[]"

    def _object(self, node: Schema, mode: Mode) -> str:
        props = node.get("properties")
        extra = node.get("additionalProperties")
        names = node.get("propertyNames")
        if not props:
            if extra is False:
                return "Record<string, never>" if self.scope.global_name("Record") else "{ [key: string]: never }"
            value = "unknown" if extra is None or extra is True else self.expr(extra, mode)
            if node.get("patternProperties") and (extra is None or extra is True):
                value = self.expr({"anyOf": list(node["patternProperties"].values())}, mode)
            if isinstance(names, Mapping) and ("$ref" in names or "enum" in names or "const" in names):
                key = self.expr(names, mode)
                if self.scope.global_name("Partial") and self.scope.global_name("Record"):
                    return f"Partial<Record<{key}, {value}>>"
                return f"{{ [K in {key}]?: {value} }}"
            if self.scope.global_name("Record"):
                return f"Record<string, {value}>"
            return f"{{ [key: string]: {value} }}"
        members = [p.render(indent="") for p in self.properties(node, mode)]
        members = [m.replace("\n", " ") for m in members]
        index = self.index_signature(node, mode)
        if index:
            members.append(index)
        return "{ " + " ".join(members) + " }"


def _paren(part: tuple[str, int], need: int) -> str:
    text, prec = part
    return text if prec >= need else f"({text})"


def _split_union(text: str) -> list[str]:
    """Split a top-level ``A | B`` (not inside brackets, braces, parentheses or strings)."""
    out, depth, cur, i, quote = [], 0, [], 0, None
    while i < len(text):
        ch = text[i]
        if quote:
            cur.append(ch)
            if ch == "\\" and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch == '"':
            quote = ch
            cur.append(ch)
        elif ch in "([{<":
            depth += 1
            cur.append(ch)
        elif ch in ")]}>":
            depth -= 1
            cur.append(ch)
        elif depth == 0 and text.startswith(" | ", i):
            out.append("".join(cur))
            cur = []
            i += 3
            continue
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out
