"""``client:*``/``hooks:*``: the generated TypeScript client compiles under ``tsc --strict``, runs in
Node against the example app on real uvicorn, and only the edited router's tasks rerun."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from farmbuild.build import BuildOptions, Session
from tests.apiserver import uvicorn_server
from tests.conftest import EXAMPLE_WEB_MODULES, failed, ran
from tests.farmbuild.test_openapi import HARD

HERE = Path(__file__).resolve().parent
TSC = EXAMPLE_WEB_MODULES / ".bin" / "tsc"
needs_node = pytest.mark.skipif(not TSC.exists() or shutil.which("node") is None,
                                reason="the example web app's node_modules are not installed (npm ci)")

E2E_TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022", "module": "commonjs", "moduleResolution": "node10",
        "lib": ["ES2022", "DOM", "DOM.Iterable"], "strict": True, "noUnusedLocals": True,
        "noUnusedParameters": True, "skipLibCheck": True, "types": [], "rootDir": "..",
    },
    "files": ["roundtrip.ts"],
}


def build(root: Path, *tasks: str):
    session = Session(root, isolated=True)
    try:
        return session.build(BuildOptions(tasks=list(tasks)))
    finally:
        session.close()


def tsc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TSC), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@needs_node
@pytest.mark.e2e
def test_typescript_client_round_trip_in_node(example_app: Path, tmp_path: Path) -> None:
    report = build(example_app)
    assert not failed(report), [(r.id, r.error) for r in report.results if r.error]
    web = example_app / "apps" / "web"
    # the whole frontend, hooks included, with React and TanStack Query types, strict
    checked = tsc("--noEmit", "-p", ".", cwd=web)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    e2e = web / "e2e"
    e2e.mkdir()
    shutil.copy(HERE / "clients" / "ts_roundtrip.ts", e2e / "roundtrip.ts")
    out = tmp_path / "out"
    config = json.loads(json.dumps(E2E_TSCONFIG))
    config["compilerOptions"]["outDir"] = str(out)
    (e2e / "tsconfig.json").write_text(json.dumps(config))
    compiled = tsc("-p", "e2e/tsconfig.json", cwd=web)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (out / "package.json").write_text('{"type": "commonjs"}')

    with uvicorn_server(example_app) as base:
        run = subprocess.run(["node", str(out / "e2e" / "roundtrip.js"), base],
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["created"] == "ts-kale" and seen["price"] == "2.50 EUR" and seen["read_back"] is True
    assert seen["listed_both"] == ["ts-kale"] and seen["listed_wrong_tag"] == []  # tags=a&tags=b
    assert seen["image_alt"] == "A bunch of kale" and seen["image_bytes_equal"] is True  # FormData + Blob
    assert seen["updated_stock"] == 7 and seen["updated_name_kept"] == "TS Kale"
    assert seen["422"] == [422, [["query", "size"]]]  # err.is(422): body typed HTTPValidationError
    assert seen["404"] == [404, "Product 'no-such-product' not found"]  # err.is(404): ErrorDetail
    assert seen["idempotent"] is True and seen["order_total"] == "9.95 EUR"  # header parameter
    assert seen["403"] == 403 and seen["cancelled"] == 9  # cookie parameter; IntEnum on the wire
    assert seen["deleted"] == 404  # 204 resolves with undefined
    assert seen["categories"] == ["vegetables", "fruit", "dairy", "bakery", "eggs", "pantry"]
    assert seen["aborted"] is True


def test_editing_one_router_reruns_only_its_tasks(example_app: Path) -> None:
    first = build(example_app)
    assert not failed(first)
    catalog = example_app / "apps/api/src/routes/catalog.py"
    catalog.write_text(catalog.read_text().replace(
        "    size: int = Query(default=20, ge=1, le=100),\n) -> Page[Product]:",
        "    size: int = Query(default=20, ge=1, le=100),\n    organic_only: bool = False,\n) -> Page[Product]:"))
    report = build(example_app)
    assert not failed(report)
    assert ran(report) == {"openapi:catalog", "openapi-json", "client:catalog", "hooks:catalog", "pyclient"}
    # every other route module's tasks are up to date, and so are the indexes: no name changed
    others = {r.id for r in report.results if r.status == "up-to-date"}
    assert {"client-index", "hooks-index"} <= others
    for key in ("orders", "customers", "reviews", "assistant", "_app"):
        assert {f"openapi:{key}", f"client:{key}", f"hooks:{key}"} <= others
    client = (example_app / "apps/web/src/services/api/catalog.ts").read_text()
    assert "organic_only?: boolean;" in client and "organic_only: params.organic_only" in client


def test_body_edit_in_a_router_keeps_index_files(example_app: Path) -> None:
    """An edit that changes one module's client but no name leaves the index files' bytes alone."""
    build(example_app)
    index = example_app / "apps/web/src/services/api.ts"
    before = index.stat().st_mtime_ns
    catalog = example_app / "apps/api/src/routes/catalog.py"
    catalog.write_text(catalog.read_text().replace('max_length=100, description="Words', 'max_length=80, description="Words'))
    report = build(example_app)
    assert "client:catalog" in ran(report)
    assert index.stat().st_mtime_ns == before  # written only when changed


@needs_node
def test_hard_cases_compile(make_project, tmp_path: Path) -> None:  # noqa: ANN001
    files = dict(HARD)
    # a model defined in a route module (declared in the client, not imported), and a header with a dash
    files["apps/api/src/routes/local.py"] = """
        from fastapi import APIRouter, Header
        from pydantic import BaseModel

        router = APIRouter()

        class Note(BaseModel):
            text: str
            pinned: bool = False

        @router.post("/notes")
        def add_note(note: Note, x_request_id: str = Header()) -> Note:
            return note

        @router.api_route("/ping", methods=["GET", "POST"])
        def ping() -> str:
            return "pong"
    """
    files["apps/api/src/main.py"] = HARD["apps/api/src/main.py"].replace(
        "from src.routes import a, b, nested", "from src.routes import a, b, local, nested"
    ).replace('app.include_router(nested.router, prefix="/api/nest")',
              'app.include_router(nested.router, prefix="/api/nest")\n        app.include_router(local.router)')
    root = make_project(files)
    report = build(root)
    assert not failed(report), [(r.id, r.error) for r in report.results if r.error]
    web = root / "apps" / "web"
    (web / "node_modules").symlink_to(EXAMPLE_WEB_MODULES)
    shutil.copy(EXAMPLE_WEB_MODULES.parent / "tsconfig.json", web / "tsconfig.json")
    (web / "src" / "vite-env.d.ts").write_text("")
    config = json.loads((web / "tsconfig.json").read_text())
    config["compilerOptions"]["types"] = []
    (web / "tsconfig.json").write_text(json.dumps(config))
    checked = tsc("--noEmit", "-p", ".", cwd=web)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    local = (web / "src/services/api/local.ts").read_text()
    assert "export interface Note " in local  # declared here: no model module exports it
    assert "x_request_id: string;" in local and '"x-request-id": params.x_request_id' in local
    assert "export function pingGet(" in local and "export function pingPost(" in local
    a = (web / "src/services/api/a.ts").read_text()
    # two body parameters: FastAPI embeds them, the client takes both by name
    assert "body: ItemInput;" in a or "body: Item;" in a
    assert 'json: { body: params.body, price: params.price }' in a
    assert "file: Blob | File;" in a and "multipart: { file: params.file, caption: params.caption }" in a
    hooks = (web / "src/hooks/api/a.ts").read_text()
    assert 'listItems: (params: ListItemsParams = {}) => ["a", "listItems", params] as const' in hooks


def test_comment_in_a_router_stops_at_its_fragment(example_app: Path) -> None:
    """Early cutoff: the fragment's bytes do not change, so no client, hooks or index task runs."""
    build(example_app)
    orders = example_app / "apps/api/src/routes/orders.py"
    orders.write_text("# Orders, as the shop sees them.\n" + orders.read_text())
    report = build(example_app)
    assert not failed(report)
    assert ran(report) == {"openapi:orders", "openapi-json"}
    assert not any(r.written for r in report.results)


def test_a_new_endpoint_reaches_the_indexes(example_app: Path) -> None:
    """The indexes read per-module name summaries: a new name reruns them, equal to a clean build."""
    build(example_app)
    orders = example_app / "apps/api/src/routes/orders.py"
    orders.write_text(orders.read_text() + '\n\n@router.get("/orders-count")\ndef count_orders() -> int:\n    return 0\n')
    report = build(example_app)
    assert not failed(report)
    assert {"client:orders", "hooks:orders", "client-index", "hooks-index"} <= ran(report)
    web = example_app / "apps/web/src"
    client_index, hooks_index = (web / "services/api.ts").read_text(), (web / "hooks/api.ts").read_text()
    assert "countOrders" in client_index and "useCountOrders" in hooks_index
    shutil.rmtree(example_app / ".farm")
    for db in example_app.glob(".doit.db*"):
        db.unlink()
    assert not failed(build(example_app))
    assert (web / "services/api.ts").read_text() == client_index and (web / "hooks/api.ts").read_text() == hooks_index
