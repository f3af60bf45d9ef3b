"""The ``types:<module>`` and ``types-index`` tasks on real projects (worker, doit, files on disk)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from farmbuild.build import BuildOptions, Session
from farmbuild.project import discover
from farmbuild.tasks.types import render_types, render_types_index
from tests.conftest import EXAMPLE, farm_cli, ran

from ...codegen.typescript.helpers import TSC, require_typescript

TYPES = Path("apps/web/src/types")


def _build(root: Path, *tasks: str):  # noqa: ANN202 - BuildReport
    session = Session(root)
    try:
        return session.build(BuildOptions(tasks=list(tasks)))
    finally:
        session.close()


def _snapshot(root: Path) -> dict[str, bytes]:
    base = root / TYPES
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*.ts"))}


def _ts_written(report) -> set[str]:  # noqa: ANN001
    return {w for w in report.written if w.endswith(".ts")}


def test_committed_example_types_are_what_a_build_produces(example_app: Path) -> None:
    report = _build(example_app)
    assert report.ok, [r.error for r in report.results if r.error]
    assert _snapshot(example_app) == _snapshot(EXAMPLE), "run `farm build -C examples/farm-app` and commit"
    assert set(_snapshot(example_app)) == {
        "api.ts", "models/index.ts", "models/assistant.ts", "models/billing/invoice.ts", "models/catalog.ts",
        "models/common.ts", "models/customers.ts", "models/orders.ts", "models/reviews.ts",
    }


def test_example_web_app_typechecks_strict_with_the_generated_types(example_app: Path) -> None:
    require_typescript()
    (example_app / TYPES).is_dir() and shutil.rmtree(example_app / TYPES)
    assert _build(example_app).ok
    web = example_app / "apps/web"
    proc = subprocess.run([str(TSC), "--strict", "--noEmit", "-p", str(web)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the pages really use them (no hand-written model types left), values included: the
    # category filter lists Object.values(Category), the product card labels units by Unit
    pages = "".join((web / "src/pages" / p).read_text("utf-8") for p in ("ProductsPage.tsx", "ChatPage.tsx"))
    assert 'from "../types/models"' in pages and "interface Product " not in pages
    vite = web / "node_modules" / ".bin" / "vite"
    proc = subprocess.run([str(vite), "build", "--outDir", str(example_app / "dist"), "--emptyOutDir", "--logLevel", "error"],
                          cwd=web, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bundle = "".join(p.read_text("utf-8") for p in (example_app / "dist" / "assets").glob("*.js"))
    assert "pantry" in bundle  # only the generated Category object has it: the const is bundled


def test_two_clean_builds_give_identical_bytes(example_app: Path) -> None:
    assert _build(example_app).ok
    first = _snapshot(example_app)
    shutil.rmtree(example_app / ".farm")
    for db in example_app.glob(".doit.db*"):
        db.unlink()
    shutil.rmtree(example_app / TYPES)
    assert _build(example_app).ok
    assert _snapshot(example_app) == first


def test_comment_only_edit_stops_at_the_schema(example_app: Path) -> None:
    assert _build(example_app).ok
    before = {p: p.stat().st_mtime_ns for p in (example_app / TYPES).rglob("*.ts")}
    catalog = example_app / "apps/api/src/models/catalog.py"
    catalog.write_text(catalog.read_text("utf-8").replace(
        "class Product(BaseModel):", "class Product(BaseModel):  # a comment that changes nothing"
    ), encoding="utf-8")
    report = _build(example_app)
    assert report.ok
    assert "schema:catalog" in ran(report)  # the model file changed…
    assert not {r for r in ran(report) if r.startswith("types")}  # …its schema did not: early cutoff
    assert report.written == []
    assert {p: p.stat().st_mtime_ns for p in (example_app / TYPES).rglob("*.ts")} == before


def test_comment_lines_that_shift_definitions_rewrite_no_ts_file(example_app: Path) -> None:
    """Line numbers are in the schema (for error messages), so the types tasks re-run — and write nothing."""
    assert _build(example_app).ok
    before = {p: p.stat().st_mtime_ns for p in (example_app / TYPES).rglob("*.ts")}
    catalog = example_app / "apps/api/src/models/catalog.py"
    catalog.write_text(catalog.read_text("utf-8").replace(
        "class Product(BaseModel):", "# a comment\n# on two lines\nclass Product(BaseModel):"
    ), encoding="utf-8")
    report = _build(example_app)
    assert report.ok
    assert _ts_written(report) == set()
    assert {p: p.stat().st_mtime_ns for p in (example_app / TYPES).rglob("*.ts")} == before


def test_a_model_edit_rewrites_only_its_module_file(example_app: Path) -> None:
    assert _build(example_app).ok
    catalog = example_app / "apps/api/src/models/catalog.py"
    catalog.write_text(catalog.read_text("utf-8").replace(
        "    content_type: str\n", "    content_type: str\n    credit: str | None\n"
    ), encoding="utf-8")
    report = _build(example_app)
    assert report.ok
    # reviews embeds Product (so its schema changed and its task ran) but its text is the same
    assert "types:reviews" in ran(report)
    assert _ts_written(report) == {"apps/web/src/types/models/catalog.ts"}
    text = (example_app / TYPES / "models/catalog.ts").read_text("utf-8")
    assert "  content_type: string;\n  credit: string | null;\n}" in text
    assert "ProductImageInput" not in text  # a required field: still no input variant
    # no module's names changed: the index is up to date without being rendered
    assert "types-index" not in ran(report)


def test_the_index_follows_the_names_a_module_exports(make_project) -> None:  # noqa: ANN001
    shop = "apps/api/src/models/shop.py"
    base = "from pydantic import BaseModel\n\n\nclass Cart(BaseModel):\n    n: int\n"
    root = make_project({shop: base, "apps/api/src/models/user.py": base.replace("Cart", "User")})
    assert _build(root).ok
    index = root / TYPES / "models/index.ts"
    (root / shop).write_text(base + "\n\nclass Coupon(BaseModel):\n    code: str\n", encoding="utf-8")
    report = _build(root)
    assert "types-index" in ran(report)
    assert "type Coupon" in index.read_text("utf-8")
    (root / shop).write_text(base.replace("n: int", "n: int = 1"), encoding="utf-8")  # Coupon gone, CartInput new
    report = _build(root)
    text = index.read_text("utf-8")
    assert "types-index" in ran(report) and "Coupon" not in text and "type CartInput" in text
    # what the incremental build wrote is what a clean build writes
    shutil.rmtree(root / ".farm")
    for db in root.glob(".doit.db*"):
        db.unlink()
    index.unlink()
    assert _build(root).ok
    assert index.read_text("utf-8") == text


def test_an_input_name_clash_fails_the_task_with_file_and_line(make_project) -> None:  # noqa: ANN001
    root = make_project({
        "apps/api/src/models/shop.py": """\
            from pydantic import BaseModel


            class Thing(BaseModel):
                size: int = 1


            class ThingInput(BaseModel):
                size: int
            """,
    })
    proc = farm_cli("build", cwd=root)
    assert proc.returncode == 1
    assert "apps/api/src/models/shop.py:8:" in proc.stdout + proc.stderr
    assert "ThingInput" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_barrel_collision_is_reported_by_the_cli(example_app: Path) -> None:
    proc = farm_cli("build", cwd=example_app)
    assert proc.returncode == 0, proc.stderr
    assert "Address is defined in 2 model modules (billing/invoice, common)" in proc.stdout + proc.stderr


def test_a_class_outside_the_model_modules_is_declared_then_imported_once_it_is_one(make_project) -> None:  # noqa: ANN001
    files = {
        "apps/api/src/shared/__init__.py": "",
        "apps/api/src/shared/thing.py": """\
            from pydantic import BaseModel


            class Thing(BaseModel):
                name: str
            """,
        "apps/api/src/models/box.py": """\
            from pydantic import BaseModel

            from src.shared.thing import Thing


            class Box(BaseModel):
                thing: Thing
            """,
    }
    root = make_project(files)
    assert _build(root).ok
    box = (root / TYPES / "models/box.ts").read_text("utf-8")
    assert "export interface Thing {" in box and "import type" not in box
    index = (root / TYPES / "models/index.ts").read_text("utf-8")
    assert "Thing" not in index  # declared locally, not part of the barrel
    (root / "farm.toml").write_text('[backend]\nmodels = ["src/models", "src/shared"]\n', encoding="utf-8")
    report = _build(root)
    assert report.ok
    assert "types:box" in ran(report)
    box = (root / TYPES / "models/box.ts").read_text("utf-8")
    assert 'import type { Thing } from "./thing";' in box and "interface Thing" not in box


def test_generators_can_be_driven_by_plain_calls(example_app: Path) -> None:
    """What a benchmark harness calls: no doit, no CLI."""
    assert _build(example_app, "schema").ok
    project = discover(example_app)
    catalog = next(m for m in project.models if m.key == "catalog")
    assert render_types(project, catalog) == (EXAMPLE / TYPES / "models/catalog.ts").read_text("utf-8")
    outputs, warnings = render_types_index(project)
    assert outputs[project.frontend_src / "types/models/index.ts"] == (EXAMPLE / TYPES / "models/index.ts").read_text("utf-8")
    assert len(warnings) == 1


def test_a_deleted_model_module_takes_its_types_with_it(make_project) -> None:  # noqa: ANN001
    root = make_project({
        "apps/api/src/models/keep.py": "from pydantic import BaseModel\n\n\nclass Keep(BaseModel):\n    x: int\n",
        "apps/api/src/models/gone.py": "from pydantic import BaseModel\n\n\nclass Gone(BaseModel):\n    y: int\n",
    })
    assert _build(root).ok
    assert (root / TYPES / "models/gone.ts").is_file()
    (root / "apps/api/src/models/gone.py").unlink()
    report = _build(root)
    assert report.ok
    assert not (root / TYPES / "models/gone.ts").exists()
    index = (root / TYPES / "models/index.ts").read_text("utf-8")
    assert "Gone" not in index and "type Keep" in index
