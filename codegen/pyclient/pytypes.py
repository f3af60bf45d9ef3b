"""JSON Schema of an operation's parameters and responses → Python annotations.

Only the schemas that appear *in operations* are rendered here (a parameter's
``{"type": "array", "items": {"type": "string"}}``, a response's ``list[ModelInfo]``); the
component schemas themselves become classes through datamodel-code-generator, and a ``$ref``
becomes the class name chosen for that component.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from typing import Any

REF = "#/components/schemas/"


class Annotation:
    """A Python type expression plus what it needs imported (``datetime``, ``UUID``, ``Literal``)."""

    def __init__(self, text: str, needs: frozenset[str] = frozenset()) -> None:
        self.text = text
        self.needs = needs

    def __repr__(self) -> str:
        return f"Annotation({self.text!r})"


_FORMATS = {
    ("string", "date-time"): ("datetime.datetime", "datetime"),
    ("string", "date"): ("datetime.date", "datetime"),
    ("string", "time"): ("datetime.time", "datetime"),
    ("string", "uuid"): ("UUID", "UUID"),
    ("string", "binary"): ("bytes", None),
}
_SIMPLE = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None"}


def _union(parts: list[Annotation]) -> Annotation:
    texts: list[str] = []
    needs: set[str] = set()
    for p in parts:
        for t in _split_union(p.text):
            if t not in texts:
                texts.append(t)
        needs |= p.needs
    if "Any" in texts:
        return Annotation("Any", frozenset({"Any"}))
    if "None" in texts:  # None last, as people write it
        texts = [t for t in texts if t != "None"] + ["None"]
    return Annotation(" | ".join(texts) if texts else "Any", frozenset(needs))


def _split_union(text: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "|" and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return out


def annotation(schema: Any, class_of: Mapping[str, str], *, models: str = "models") -> Annotation:
    """The annotation of ``schema``; ``class_of`` maps component names to class names,
    which are written ``<models>.<Class>`` (the client imports the models module by name)."""

    def go(s: Any) -> Annotation:
        if s is True or s == {} or not isinstance(s, dict):
            return Annotation("Any", frozenset({"Any"}))
        ref = s.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            name = ref[len(REF):]
            return Annotation(f"{models}.{class_of.get(name, name)}")
        if "const" in s:
            return Annotation(f"Literal[{s['const']!r}]", frozenset({"Literal"}))
        if "enum" in s and isinstance(s["enum"], list) and s["enum"]:
            vals = ", ".join(repr(v) for v in s["enum"])
            return Annotation(f"Literal[{vals}]", frozenset({"Literal"}))
        for key in ("anyOf", "oneOf"):
            if isinstance(s.get(key), list):
                return _union([go(x) for x in s[key]])
        if isinstance(s.get("allOf"), list) and len(s["allOf"]) == 1:
            return go(s["allOf"][0])
        t = s.get("type")
        if isinstance(t, list):
            return _union([go({**s, "type": x}) for x in t])
        if (t, s.get("format")) in _FORMATS:
            text, need = _FORMATS[(t, s.get("format"))]
            return Annotation(text, frozenset({need}) if need else frozenset())
        if t == "string" and s.get("contentMediaType") == "application/octet-stream":
            return Annotation("bytes")
        if t in _SIMPLE:
            return Annotation(_SIMPLE[t])
        if t == "array":
            prefix = s.get("prefixItems")
            if isinstance(prefix, list) and prefix:
                parts = [go(x) for x in prefix]
                needs = frozenset().union(*(p.needs for p in parts))
                return Annotation(f"tuple[{', '.join(p.text for p in parts)}]", needs)
            item = go(s.get("items", {}))
            return Annotation(f"list[{item.text}]", item.needs)
        if t == "object" or "properties" in s or "additionalProperties" in s:
            extra = s.get("additionalProperties")
            value = go(extra) if isinstance(extra, dict) else Annotation("Any", frozenset({"Any"}))
            return Annotation(f"dict[str, {value.text}]", value.needs | {"Any"} if value.text == "Any" else value.needs)
        return Annotation("Any", frozenset({"Any"}))

    return go(schema)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def py_identifier(name: str, taken: set[str] | None = None) -> str:
    """A usable, deterministic Python name for a wire name: ``Idempotency-Key`` → ``idempotency_key``,
    ``2fa`` → ``_2fa``, ``class`` → ``class_``."""
    out = re.sub(r"\W+", "_", name).strip("_") or "value"
    out = out.lower() if not out.islower() and "-" in name else out
    if out[0].isdigit():
        out = "_" + out
    if keyword.iskeyword(out) or keyword.issoftkeyword(out):
        out += "_"
    if taken is not None:
        base, n = out, 2
        while out in taken:
            out = f"{base}_{n}"
            n += 1
        taken.add(out)
    return out


def pascal(name: str) -> str:
    """``upload_product_image`` → ``UploadProductImage``; ``Page_Product_`` → ``PageProduct``."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    out = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    return "_" + out if out[0].isdigit() else out
