"""codegen.openapi.merge: the naming rule is pydantic's, and merging is plain data."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic.json_schema import JsonRef, _DefinitionsRemapping

from codegen.openapi import FragmentError, merge
from codegen.openapi.merge import REF, choose_names

NAMES = ["Item", "Money", "Page_Item_"]
MODULES = ["src__one", "src__two"]
MODES = ["Input", "Output"]


@st.composite
def definitions(draw: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Definitions shaped like pydantic's: each a (module, name, mode, occurrence) with its six
    candidate names, and a schema that may point at other definitions."""
    specs = draw(st.lists(st.tuples(st.sampled_from(MODULES), st.sampled_from(NAMES), st.sampled_from(MODES),
                                    st.integers(1, 2)), min_size=1, max_size=7, unique=True))
    keys = [f"{m}__{n}-{mode}__{occ}" for m, n, mode, occ in specs]
    choices = {
        k: [n, f"{n}-{mode}", f"{m}__{n}", f"{m}__{n}-{mode}", f"{m}__{n}__{occ}", k]
        for k, (m, n, mode, occ) in zip(keys, specs)
    }
    defs = {}
    for k in keys:
        props: dict[str, Any] = {"v": {"const": draw(st.integers(0, 1))}}
        if draw(st.booleans()):
            props["ref"] = {"$ref": REF + draw(st.sampled_from(keys))}
        defs[k] = {"type": "object", "properties": props}
    return defs, choices


@settings(max_examples=300, deadline=None)
@given(definitions())
def test_choose_names_is_pydantics_rule(case: tuple[dict[str, Any], dict[str, list[str]]]) -> None:
    defs, choices = case
    defs_to_json = {alt: JsonRef(REF + alt) for alts in choices.values() for alt in alts}
    try:
        expected = _DefinitionsRemapping.from_prioritized_choices(choices, defs_to_json, defs).defs_remapping  # type: ignore[arg-type]
    except Exception as exc:  # pydantic gives up on some inputs: so must we
        with pytest.raises(Exception):
            choose_names(defs, choices)
        assert exc
        return
    assert choose_names(defs, choices) == expected


def _frag(key: str, *, document: dict[str, Any] | None = None, paths: dict[str, Any] | None = None,
          schemas: dict[str, Any] | None = None, meta: dict[str, Any] | None = None,
          security: dict[str, Any] | None = None) -> dict[str, Any]:
    components: dict[str, Any] = {"schemas": schemas or {}}
    if security:
        components["securitySchemes"] = security
    return {"format": 1, "key": key, "module": None if document else f"src.routes.{key}", "paths": paths or {},
            "webhooks": {}, "components": components, "document": document,
            "x-farm": {"schemas": meta or {}, "inputs": [], "extras": [], "operations": []}}


def _meta(t: str, mode: str) -> dict[str, Any]:
    module, _, name = t.partition(":")
    mq = module.replace(".", "__") + "__" + name
    m = "Input" if mode == "validation" else "Output"
    return {"choices": [name, f"{name}-{m}", mq, f"{mq}-{m}"], "mode": mode, "type": t, "module": module,
            "name": name, "kind": "model"}


def test_merge_names_across_fragments_and_keeps_fixed_definitions() -> None:
    # two classes named Item in one direction: only the module-qualified names are unambiguous
    # (in different directions pydantic would settle for Item-Input / Item-Output)
    a_key, b_key = "src.one:Item|serialization", "src.two:Item|serialization"
    app = _frag("_app", document={"openapi": "3.1.0", "info": {"title": "T", "version": "1"}})
    a = _frag("a", paths={"/a": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": REF + a_key}}}}}}}},
              schemas={a_key: {"type": "object", "title": "Item"}, "HTTPValidationError": {"type": "object"}},
              meta={a_key: _meta("src.one:Item", "serialization")}, security={"Bearer": {"type": "http"}})
    b = _frag("b", paths={"/b": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": REF + b_key}}}}}}}},
              schemas={b_key: {"type": "object", "title": "Item", "required": ["x"]}},
              meta={b_key: _meta("src.two:Item", "serialization")})
    doc, meta = merge([app, a, b])
    assert list(doc) == ["openapi", "info", "paths", "components"]
    assert set(doc["components"]["schemas"]) == {"src__one__Item", "src__two__Item", "HTTPValidationError"}
    assert doc["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": REF + "src__one__Item"}
    assert doc["components"]["securitySchemes"] == {"Bearer": {"type": "http"}}
    assert meta["schemas"]["src__two__Item"]["type"] == "src.two:Item"
    # alone, each would have been "Item"
    doc_a, _ = merge([app, a])
    assert "Item" in doc_a["components"]["schemas"]


def test_merge_requires_one_app_fragment() -> None:
    with pytest.raises(FragmentError, match="app fragment"):
        merge([_frag("a")])
