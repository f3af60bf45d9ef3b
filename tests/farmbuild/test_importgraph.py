"""The local import graph from the AST: what a module's tasks depend on."""

from __future__ import annotations

from pathlib import Path

import pytest

from farmbuild import importgraph
from farmbuild.importgraph import ImportGraph, parse_imports
from tests.conftest import write_tree


@pytest.mark.parametrize(
    ("source", "module", "is_pkg", "expected"),
    [
        (b"from .common import Money", "src.models.catalog", False, ["src.models.common"]),
        (b"from . import common", "src.models.catalog", False, ["src.models"]),
        (b"from .. import store", "src.models.catalog", False, ["src"]),
        (b"from ..routes.x import y", "src.models.catalog", False, ["src.routes.x"]),
        (b"from .sub import a", "src.models", True, ["src.models.sub"]),
        (b"import src.models.common as c", "src.main", False, ["src.models.common"]),
        (b"from src.models.common import Money", "src.main", False, ["src.models.common"]),
        (b"def f():\n    import src.lazy\n", "src.main", False, ["src.lazy"]),
        (b"from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .x import Y\n", "a.b", False, ["typing", "a.x"]),
        (b"from .... import too_far", "a.b", False, []),
    ],
)
def test_parse_imports(source: bytes, module: str, is_pkg: bool, expected: list[str]) -> None:
    assert [r.module for r in parse_imports(source, module, is_pkg)] == expected


def _project(tmp_path: Path) -> Path:
    write_tree(tmp_path, {
        "api/src/__init__.py": "",
        "api/src/models/__init__.py": "",
        "api/src/models/common.py": "from pydantic import BaseModel\n",
        "api/src/models/catalog.py": "from .common import BaseModel\nfrom src.models import reviews\n",
        "api/src/models/reviews.py": "from src.models.common import BaseModel\n",
        "api/src/models/orders.py": "import src.models.catalog\n",
        "api/src/models/a.py": "from . import b\n",
        "api/src/models/b.py": "from . import a\n",
        "api/src/models/broken.py": "def f(:\n",
        "api/src/main.py": "from fastapi import FastAPI\nfrom src.models import orders\n",
    })
    return tmp_path / "api"


def test_closure_includes_packages_and_transitive_imports(tmp_path: Path) -> None:
    root = _project(tmp_path)
    g = ImportGraph([root], [root])
    assert g.closure("src.models.orders") == {
        "src.models.orders", "src.models.catalog", "src.models.common", "src.models.reviews", "src.models", "src",
    }
    files = {p.relative_to(root).as_posix() for p in g.files(g.closure("src.models.common"))}
    assert files == {"src/models/common.py", "src/models/__init__.py", "src/__init__.py"}


def test_dependents_and_cycles(tmp_path: Path) -> None:
    root = _project(tmp_path)
    g = ImportGraph([root], [root])
    assert {"src.models.catalog", "src.models.orders", "src.main", "src.models.reviews"} <= g.dependents(["src.models.common"])
    assert g.find_cycle("src.models.a") == ["src.models.a", "src.models.b", "src.models.a"]
    assert g.find_cycle("src.models.common") is None


def test_a_syntax_error_is_recorded_not_raised(tmp_path: Path) -> None:
    root = _project(tmp_path)
    g = ImportGraph([root], [root])
    assert g.parse_error("src.models.broken")
    assert g.closure("src.models.broken") >= {"src.models.broken"}


def test_cache_avoids_reparsing_unchanged_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path)
    cache = tmp_path / ".farm" / "imports.json"
    ImportGraph([root], [root], cache_file=cache)
    assert cache.is_file()
    calls: list[str] = []
    real = importgraph.parse_imports

    def counting(source: bytes, module: str, is_pkg: bool):  # noqa: ANN202
        calls.append(module)
        return real(source, module, is_pkg)

    monkeypatch.setattr(importgraph, "parse_imports", counting)
    g = ImportGraph([root], [root], cache_file=cache)
    assert calls == []
    (root / "src/models/reviews.py").write_text("from src.models.catalog import x\n")
    assert g.refresh() is True
    assert calls == ["src.models.reviews"]
    assert "src.models.catalog" in g.imports("src.models.reviews")
    calls.clear()
    assert g.refresh() is False
    assert calls == []


def test_added_and_removed_modules_are_noticed(tmp_path: Path) -> None:
    root = _project(tmp_path)
    g = ImportGraph([root], [root])
    (root / "src/models/new.py").write_text("from .common import BaseModel\n")
    (root / "src/models/orders.py").unlink()
    assert g.refresh() is True
    assert "src.models.new" in g.nodes and "src.models.orders" not in g.nodes


def test_skips_virtualenvs_and_caches(tmp_path: Path) -> None:
    root = _project(tmp_path)
    write_tree(root, {".venv/lib/x.py": "", "node_modules/y.py": "", "src/__pycache__/z.py": ""})
    g = ImportGraph([root], [root])
    assert not any("venv" in n or "node_modules" in n or "pycache" in n for n in g.nodes)
