"""Class names for the Python client's models, from what each OpenAPI component *is*.

FastAPI's component names are made for uniqueness, not for reading: ``Money-Input``,
``Page_Product_``, ``src__models__common__Address``,
``Body_upload_product_image_api_catalog_products__product_id__images_post``. The sidecar of
the merged document says which Python class each one comes from, so the client's classes are
named like the server's:

* the Python class name (``Product``); a parametrized generic joins its parts (``PageProduct``);
* a model whose request and response schemas differ: ``Money`` (what the API returns) and
  ``MoneyInput`` (what it accepts) — the same convention as the TypeScript types;
* a form body FastAPI makes up: ``<Endpoint>Body`` (``UploadProductImageBody``);
* two classes with one name: both qualified by the part of their module paths that differs
  (``CommonAddress``, ``BillingInvoiceAddress``).
"""

from __future__ import annotations

import keyword
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from .pytypes import pascal

# names the generated models module imports, which a class must not shadow
RESERVED = frozenset({
    "Any", "AwareDatetime", "BaseModel", "ConfigDict", "Enum", "Field", "IntEnum", "Literal", "NaiveDatetime",
    "RootModel", "StrEnum", "UUID", "annotations", "date", "datetime", "time", "timedelta", "Decimal",
})


def _base_name(info: Mapping[str, Any], ops_by_id: Mapping[str, Mapping[str, Any]], component: str) -> str:
    module = str(info.get("module") or "")
    name = str(info.get("name") or component)
    if module.startswith("fastapi.") and name.startswith("Body_"):
        op = ops_by_id.get(name[len("Body_"):])
        return pascal(str(op["function"])) + "Body" if op else pascal(name)
    if info.get("generic_origin"):
        args = [pascal(a.rpartition(":")[2]) for a in info.get("generic_args", [])]
        return pascal(name) + "".join(args)
    return pascal(name.replace(".", "_"))


def _qualifier(module: str, others: list[str]) -> str:
    """The part of ``module`` that tells it apart from every one of ``others``
    (``src.models.common`` beside ``src.models.billing.invoice`` → ``Common``)."""
    parts = module.split(".")

    def shared(other: str) -> int:
        o = other.split(".")
        n = 0
        while n < min(len(parts), len(o)) and parts[n] == o[n]:
            n += 1
        return n

    common = max((shared(o) for o in others), default=0)
    rest = parts[common:] or parts[-1:]
    return "".join(pascal(p) for p in rest)


def class_names(components: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, str]:
    """Component name → class name, for every component of the document."""
    ops_by_id = dict(meta.get("operations", {}))
    schemas_meta = dict(meta.get("schemas", {}))
    # components of one Python type: several when request and response schemas differ
    by_type: dict[str, list[str]] = defaultdict(list)
    for comp in components:
        info = schemas_meta.get(comp)
        if info:
            by_type[str(info["type"])].append(comp)
    wanted: dict[str, str] = {}
    for comp in components:
        info = schemas_meta.get(comp)
        if not info:
            wanted[comp] = comp if comp.isidentifier() else pascal(comp)
            continue
        base = _base_name(info, ops_by_id, comp)
        siblings = by_type[str(info["type"])]
        if len(siblings) > 1 and info.get("modes") == ["validation"]:
            base += "Input"
        wanted[comp] = base
    # the same name for different types: qualify each with its module
    groups: dict[str, list[str]] = defaultdict(list)
    for comp, name in wanted.items():
        groups[name].append(comp)
    out: dict[str, str] = {}
    taken: set[str] = set(RESERVED)
    for name in sorted(groups):
        comps = sorted(groups[name])
        types = {str(schemas_meta.get(c, {}).get("type", c)) for c in comps}
        for comp in comps:
            final = name
            if len(types) > 1:
                module = str(schemas_meta.get(comp, {}).get("module") or "")
                others = [str(schemas_meta.get(c, {}).get("module") or "") for c in comps if c != comp]
                final = _qualifier(module, others) + name
            if keyword.iskeyword(final):
                final += "_"
            n = 2
            candidate = final
            while candidate in taken:
                candidate = f"{final}{n}"
                n += 1
            taken.add(candidate)
            out[comp] = candidate
    return out
