"""codegen.pyclient and codegen.tsclient on small documents: names, escaping, determinism."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from codegen.pyclient import class_names
from codegen.pyclient import generate as generate_py
from codegen.pyclient.pytypes import py_identifier
from codegen.tsclient import generate as generate_ts
from codegen.tsclient.plan import camel
from tests.conftest import EXAMPLE_WEB_MODULES

REF = "#/components/schemas/"
HOSTILE = 'Ends */ a comment, `${backtick}`, "quotes" and """triple""" \\ and \u2028 a separator'


def info(t: str, mode: str, **extra: Any) -> dict[str, Any]:
    module, _, name = t.partition(":")
    return {"type": t, "module": module, "name": name, "kind": "model", "modes": [mode], **extra}


def test_python_class_names_follow_the_python_classes() -> None:
    components = {k: {} for k in (
        "Money-Input", "Money-Output", "src__models__common__Address", "src__models__billing__invoice__Address",
        "Page_Product_", "Body_upload_image_api_x_post", "HTTPValidationError", "ValidationError", "Weird-Name")}
    meta = {
        "operations": {"upload_image_api_x_post": {"function": "upload_image"}},
        "schemas": {
            "Money-Input": info("src.models.common:Money", "validation"),
            "Money-Output": info("src.models.common:Money", "serialization"),
            "src__models__common__Address": info("src.models.common:Address", "serialization"),
            "src__models__billing__invoice__Address": info("src.models.billing.invoice:Address", "serialization"),
            "Page_Product_": info("src.models.common:Page[src.models.catalog:Product]", "serialization",
                                  name="Page", generic_origin="src.models.common:Page",
                                  generic_args=["src.models.catalog:Product"]),
            "Body_upload_image_api_x_post": info("fastapi._compat.v2:Body_upload_image_api_x_post", "validation"),
        },
    }
    assert class_names(components, meta) == {
        "Money-Input": "MoneyInput",
        "Money-Output": "Money",
        "src__models__common__Address": "CommonAddress",
        "src__models__billing__invoice__Address": "BillingInvoiceAddress",
        "Page_Product_": "PageProduct",
        "Body_upload_image_api_x_post": "UploadImageBody",
        "HTTPValidationError": "HTTPValidationError",
        "ValidationError": "ValidationError",
        "Weird-Name": "WeirdName",
    }


@pytest.mark.parametrize(("wire", "py"), [
    ("product_id", "product_id"), ("Idempotency-Key", "idempotency_key"), ("2fa", "_2fa"), ("class", "class_"),
    ("match", "match_"), ("a.b", "a_b"),
])
def test_python_identifiers(wire: str, py: str) -> None:
    assert py_identifier(wire) == py


@pytest.mark.parametrize(("fn", "ts"), [("list_products", "listProducts"), ("get_product_image", "getProductImage"),
                                        ("delete", "delete_"), ("_app", "app"), ("2go", "op2go")])
def test_ts_operation_names(fn: str, ts: str) -> None:
    assert camel(fn) == ts


def hostile_document() -> tuple[dict[str, Any], dict[str, Any]]:
    """A fragment and the merged document/sidecar it would give, with text that tries to escape."""
    item_key = "src.routes.things:Thing|serialization"
    op = {
        "summary": HOSTILE, "description": HOSTILE, "operationId": "get_thing_things__thing_id__get",
        "parameters": [
            {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "x-odd\"header", "in": "header", "required": False, "schema": {"type": "string", "description": HOSTILE}},
            {"name": "class", "in": "query", "required": False, "schema": {"type": "array", "items": {"type": "string"}}},
        ],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": REF + item_key}}}},
                      "404": {"description": "no", "content": {"application/json": {"schema": {"$ref": REF + "HTTPValidationError"}}}}},
    }
    fragment = {
        "format": 1, "key": "things", "module": "src.routes.things", "source": "apps/api/src/routes/things.py",
        "paths": {'/things/{thing_id}/"quoted"': {"get": op}},
        "webhooks": {},
        "components": {"schemas": {
            item_key: {"type": "object", "title": "Thing", "description": HOSTILE,
                       "properties": {"name": {"type": "string", "description": HOSTILE}}, "required": ["name"]},
            "HTTPValidationError": {"type": "object", "properties": {}},
        }},
        "document": None,
        "x-farm": {"schemas": {item_key: {**info("src.routes.things:Thing", "serialization"), "mode": "serialization",
                                          "choices": ["Thing", "Thing-Output", "x", "y"]}},
                   "inputs": [], "extras": [],
                   "operations": [{"path": '/things/{thing_id}/"quoted"', "method": "get",
                                   "operationId": "get_thing_things__thing_id__get", "function": "get_thing",
                                   "module": "src.routes.things", "webhook": False}]},
    }
    doc = {"openapi": "3.1.0", "info": {"title": HOSTILE, "version": '1"'},
           "paths": {'/things/{thing_id}/"quoted"': {"get": {**op, "responses": {
               "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": REF + "Thing"}}}}}}}},
           "components": {"schemas": {"Thing": fragment["components"]["schemas"][item_key]}}}
    meta = {"operations": {"get_thing_things__thing_id__get": {"function": "get_thing", "group": "things"}},
            "schemas": {"Thing": info("src.routes.things:Thing", "serialization")}}
    return fragment, {"doc": doc, "meta": meta}


def test_python_client_survives_hostile_text() -> None:
    _fragment, merged = hostile_document()
    files = generate_py(merged["doc"], merged["meta"], package="things_client")
    for path, text in files.items():
        if path.suffix == ".py":
            ast.parse(text, str(path))  # still Python
    client = files[PurePosixPath("things_client/client.py")]
    assert "def get_thing(" in client and "class_: list[str] | None = None" in client
    assert 'params=_params(("class", class_),)' in client
    assert generate_py(merged["doc"], merged["meta"], package="things_client") == files  # deterministic


@pytest.mark.skipif(not (EXAMPLE_WEB_MODULES / ".bin" / "tsc").exists(), reason="npm ci not run for the example web app")
def test_typescript_client_survives_hostile_text(tmp_path: Path) -> None:
    fragment, _ = hostile_document()
    files = generate_ts([fragment, {**fragment, "key": "_app", "module": None, "paths": {}, "x-farm": {
        "schemas": {}, "operations": []}}], {}, {})
    assert generate_ts([fragment], {}, {}).keys() <= files.keys()
    src = tmp_path / "src"
    for rel, text in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    (src / "types").mkdir()
    shutil.copy(EXAMPLE_WEB_MODULES.parent / "src" / "types" / "api.ts", src / "types" / "api.ts")
    client = files[PurePosixPath("services/api/things.ts")]
    assert "export interface Thing " in client  # not in a model module: declared here
    assert '"x-odd\\"header": params.x_odd_header' in client
    (tmp_path / "node_modules").symlink_to(EXAMPLE_WEB_MODULES)
    (tmp_path / "tsconfig.json").write_text(
        '{"compilerOptions": {"target": "ES2022", "module": "ESNext", "moduleResolution": "bundler", "strict": true,'
        ' "noEmit": true, "lib": ["ES2022", "DOM", "DOM.Iterable"], "verbatimModuleSyntax": true, "noUnusedLocals": true,'
        ' "noUnusedParameters": true, "skipLibCheck": true, "types": []}, "include": ["src"]}')
    run = subprocess.run([str(EXAMPLE_WEB_MODULES / ".bin" / "tsc"), "-p", "."], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    # every comment the text landed in is still one comment: `*/` never closes one early
    for line in client.splitlines():
        assert "*/" not in line or line.strip() in ("*/",) or line.rstrip().endswith("*/")
