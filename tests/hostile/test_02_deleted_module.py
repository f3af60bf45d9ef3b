"""Item 2 — a deleted model module (or route module, or package) takes its outputs with it.

Property: when a module is deleted — one file, a whole package folder, a route module, a module
another one still imports — its TypeScript file, its index exports, its client and hooks, its
schema and OpenAPI fragments and its classes in the Python client disappear on the next
``farm build`` and the next ``farm watch`` cycle (the real watcher), empty folders go with
them, what remains still compiles with ``tsc --strict``, and nothing else is touched.
(tests/farmbuild/test_build.py checks the schema file of a deleted module; this module asserts
the property for every generated file.)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from farmbuild.build import Session, build
from farmbuild.watch.source import WatchfilesSource
from tests.codegen.typescript.helpers import TSC
from tests.conftest import EXAMPLE_WEB_MODULES
from tests.farmbuild.watch.conftest import LoopHarness

from .conftest import tree

MODELS = "apps/api/src/models"
ROUTES = "apps/api/src/routes"
WEB = "apps/web/src"


def model(name: str, extra: str = "") -> str:
    return f"from pydantic import BaseModel\n{extra}\n\nclass {name}(BaseModel):\n    x: int\n"


FILES = {
    f"{MODELS}/keep.py": model("Keep"),
    f"{MODELS}/gone.py": model("Gone"),
    f"{MODELS}/billing/__init__.py": "",
    f"{MODELS}/billing/invoice.py": model("Invoice"),
    f"{MODELS}/billing/tax.py": model("Tax"),
    f"{ROUTES}/keep.py": (
        "from fastapi import APIRouter\nfrom src.models.keep import Keep\nrouter = APIRouter(prefix='/keep')\n\n"
        "@router.get('/')\ndef get_keep() -> Keep:\n    return Keep(x=1)\n"),
    f"{ROUTES}/gone.py": (
        "from fastapi import APIRouter\nfrom src.models.gone import Gone\nfrom src.models.billing.tax import Tax\n"
        "router = APIRouter(prefix='/gone')\n\n@router.get('/')\ndef get_gone() -> Gone:\n    return Gone(x=1)\n\n"
        "@router.get('/tax')\ndef get_tax() -> Tax:\n    return Tax(x=1)\n"),
    "apps/api/src/main.py": (
        "from fastapi import FastAPI\nfrom src.routes import gone, keep\napp = FastAPI()\n"
        "app.include_router(keep.router)\napp.include_router(gone.router)\n"),
}
MAIN_WITHOUT_GONE = ("from fastapi import FastAPI\nfrom src.routes import keep\napp = FastAPI()\n"
                     "app.include_router(keep.router)\n")


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    root = make_project(FILES)
    assert build(root).ok
    return root


def delete_everything_of_gone(root: Path) -> None:
    (root / MODELS / "gone.py").unlink()
    shutil.rmtree(root / MODELS / "billing")
    (root / ROUTES / "gone.py").unlink()
    (root / "apps/api/src/main.py").write_text(MAIN_WITHOUT_GONE)


def assert_gone(root: Path, before: dict[str, bytes]) -> None:
    after = tree(root)
    removed = sorted(set(before) - set(after))
    expected_removed = {
        ".farm/schema/gone.json", ".farm/schema/billing/invoice.json", ".farm/schema/billing/tax.json",
        ".farm/openapi/gone.json",
        f"{WEB}/types/models/gone.ts", f"{WEB}/types/models/billing/invoice.ts", f"{WEB}/types/models/billing/tax.ts",
        f"{WEB}/services/api/gone.ts", f"{WEB}/hooks/api/gone.ts",
    }
    assert expected_removed <= set(removed), f"left behind: {sorted(expected_removed - set(removed))}"
    assert not (root / WEB / "types/models/billing").exists() and not (root / ".farm/schema/billing").exists()
    # every index and the Python client forget them; what is left never names them
    for rel, data in after.items():
        if rel.startswith((f"{WEB}/", "clients/", ".farm/openapi")):
            text = data.decode("utf-8", "replace")
            for name in ("Gone", "Invoice", "Tax", "./gone", "billing/", "get_gone", "getGone"):
                assert name not in text, f"{rel} still mentions {name!r}"
    # the rest is still there
    assert (root / WEB / "types/models/keep.ts").exists() and (root / WEB / "services/api/keep.ts").exists()
    assert "Keep" in (root / WEB / "types/models/index.ts").read_text()


def assert_compiles(root: Path) -> None:
    import json
    import subprocess

    web = root / "apps/web"
    (web / "node_modules").symlink_to(EXAMPLE_WEB_MODULES)
    (web / "tsconfig.json").write_text(json.dumps({"compilerOptions": {
        "target": "ES2022", "module": "ESNext", "moduleResolution": "bundler", "strict": True, "noEmit": True,
        "skipLibCheck": True, "types": [], "lib": ["ES2022", "DOM"], "jsx": "react-jsx"}, "include": ["src"]}))
    res = subprocess.run([str(TSC), "-p", str(web)], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr


def test_farm_build_removes_every_output_of_deleted_modules(project: Path) -> None:
    before = tree(project)
    delete_everything_of_gone(project)
    report = build(project)
    assert report.ok, report.errors
    assert_gone(project, before)
    assert f"{WEB}/types/models/gone.ts" in report.removed
    assert_compiles(project)


def test_a_module_still_imported_elsewhere_is_gone_and_its_importer_fails_clearly(project: Path) -> None:
    user = project / MODELS / "user.py"
    user.write_text("from pydantic import BaseModel\nfrom src.models.gone import Gone\n\n\n"
                    "class User(BaseModel):\n    g: Gone\n")
    assert build(project).ok
    before = tree(project)
    delete_everything_of_gone(project)
    report = build(project)
    failed = {r.id: r for r in report.results if r.status == "failed"}
    assert set(failed) == {"schema:user"}, failed
    assert (failed["schema:user"].file, failed["schema:user"].line) == (f"{MODELS}/user.py", 2)
    assert "src.models.gone" in (failed["schema:user"].error or "")
    assert not (project / WEB / "types/models/gone.ts").exists()
    # while user.py is broken its last good outputs stay (they name Gone, as its source does);
    # the fix converges to a tree without a trace of the deleted modules
    user.write_text("from pydantic import BaseModel\n\n\nclass User(BaseModel):\n    g: int\n")
    assert build(project).ok
    assert_gone(project, before)


@pytest.fixture
def watching(project: Path) -> Iterator[LoopHarness]:
    h = LoopHarness(Session(project, lock_what="farm watch"), source=WatchfilesSource(step_ms=50, cap_ms=500))
    h.start()
    try:
        yield h
    finally:
        h.stop()
        h.session.close()


def test_farm_watch_removes_them_too(project: Path, watching: LoopHarness) -> None:
    before = tree(project)
    mark = watching.mark()
    delete_everything_of_gone(project)  # rm, rm -r, and a save, as a developer (or git) does them
    watching.next_build(mark, lambda e: f"{WEB}/types/models/gone.ts" in e.report.removed)
    assert watching.loop.wait_settled(60)
    assert_gone(project, before)
    assert all(e.report.ok for e in watching.builds(mark))
