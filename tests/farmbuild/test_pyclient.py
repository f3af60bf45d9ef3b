"""``pyclient``: the generated Python client imports, type-checks with mypy --strict, and does a
typed round trip against the example app on real uvicorn."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from farmbuild.build import BuildOptions, Session
from tests.apiserver import uvicorn_server
from tests.conftest import failed, ran

HERE = Path(__file__).resolve().parent
PACKAGE = "harvest_market_client"


def build(root: Path, *tasks: str):
    session = Session(root, isolated=True)
    try:
        return session.build(BuildOptions(tasks=list(tasks)))
    finally:
        session.close()


def mypy(paths: list[str], cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), *paths],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


@pytest.mark.e2e
def test_python_client_round_trip_against_uvicorn(example_app: Path, tmp_path: Path) -> None:
    report = build(example_app, "pyclient")
    assert not failed(report), [(r.id, r.error) for r in report.results if r.error]
    client_dir = example_app / "clients" / "python"
    assert sorted(p.name for p in (client_dir / PACKAGE).iterdir()) == [
        "__init__.py", "client.py", "models.py", "py.typed"]
    shutil.copy(HERE / "clients" / "py_roundtrip.py", client_dir / "py_roundtrip.py")

    checked = mypy([PACKAGE, "py_roundtrip.py"], client_dir, tmp_path / "mypy")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    with uvicorn_server(example_app) as base:
        run = subprocess.run([sys.executable, "py_roundtrip.py", base], cwd=client_dir,
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    sync = seen["sync"]
    assert sync["created"] == "roundtrip-kale" and sync["price"] == "2.50 EUR"
    assert sync["read_back"] is True
    assert sync["listed_both"] == ["roundtrip-kale"] and sync["listed_wrong_tag"] == []  # tags=a&tags=b
    assert sync["image_alt"] == "A bunch of kale" and sync["image_bytes_equal"] is True  # multipart + form
    assert sync["updated_stock"] == 7 and sync["updated_name_kept"] == "Roundtrip Kale"  # PATCH stays partial
    assert sync["422"] == [422, [["query", "size"]]]  # typed: ApiValidationError.body is HTTPValidationError
    assert sync["404"] == [404, "Product 'no-such-product' not found"]  # the documented ErrorDetail
    assert sync["idempotent"] is True and sync["order_total"] == "9.95 EUR"  # header parameter
    assert sync["403"] == 403 and sync["cancelled"] == "cancelled"  # cookie parameter
    assert sync["deleted"] == 404  # 204 → None, then gone
    assert seen["async"] == {"categories": ["vegetables", "fruit", "dairy", "bakery", "eggs", "pantry"],
                             "models": ["llama3.2"], "422": 422}  # farm.toml's model (not running: listed, unavailable)


def test_python_client_is_rebuilt_from_the_document_only(example_app: Path) -> None:
    first = build(example_app, "pyclient")
    assert "pyclient" in ran(first)
    assert "pyclient" not in ran(build(example_app, "pyclient"))
    # a comment in a router changes no fragment content that matters: the client stays
    catalog = example_app / "apps/api/src/routes/catalog.py"
    catalog.write_text(catalog.read_text() + "\n# a comment\n")
    assert "pyclient" not in ran(build(example_app, "pyclient"))
    # a new query parameter changes the document: the client follows
    catalog.write_text(catalog.read_text().replace(
        "    size: int = Query(default=20, ge=1, le=100),\n) -> Page[Product]:",
        "    size: int = Query(default=20, ge=1, le=100),\n    organic_only: bool = False,\n) -> Page[Product]:"))
    report = build(example_app, "pyclient")
    assert "pyclient" in ran(report)
    client = (example_app / "clients/python" / PACKAGE / "client.py").read_text()
    assert "organic_only: bool | None = None" in client


def test_disabled_python_client_has_no_task(make_project) -> None:  # noqa: ANN001
    root = make_project(farm_toml="[python_client]\nenabled = false\n")
    session = Session(root, isolated=True)
    try:
        assert "pyclient" not in session.graph.specs
    finally:
        session.close()


def test_python_client_package_name_from_config(make_project) -> None:  # noqa: ANN001
    root = make_project({
        "apps/api/src/routes/things.py": """
            from fastapi import APIRouter
            router = APIRouter()

            @router.get("/things/{thing_id}")
            def get_thing(thing_id: int) -> dict[str, int]:
                return {"id": thing_id}
        """,
        "apps/api/src/main.py": """
            from fastapi import FastAPI
            from src.routes import things
            app = FastAPI(title="Things")
            app.include_router(things.router)
        """,
    }, farm_toml='[python_client]\noutput = "sdk"\npackage = "things_sdk"\n')
    report = build(root, "pyclient")
    assert not failed(report), [(r.id, r.error) for r in report.results if r.error]
    client = (root / "sdk/things_sdk/client.py").read_text()
    assert "def get_thing(\n        self,\n        thing_id: int,\n    ) -> dict[str, int]:" in client
    assert 'name = "things-sdk"' in (root / "sdk/pyproject.toml").read_text()


def test_app_without_schemas_still_gets_a_client(make_project) -> None:  # noqa: ANN001
    root = make_project()  # no routes at all: datamodel-code-generator would refuse the document
    report = build(root, "pyclient")
    assert not failed(report), [(r.id, r.error) for r in report.results if r.error]
    client = root / "clients/python" / "proj0_client"
    assert "class Client(" in (client / "client.py").read_text()
