"""Project discovery on the example app and on broken layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from farmbuild.errors import ProjectError
from farmbuild.project import discover, find_root
from tests.conftest import EXAMPLE


def test_discovers_the_example_app() -> None:
    p = discover(EXAMPLE)
    keys = [m.key for m in p.models]
    assert "billing/invoice" in keys and "common" in keys and "catalog" in keys
    inv = next(m for m in p.models if m.key == "billing/invoice")
    assert inv.name == "src.models.billing.invoice"
    assert inv.rel == "apps/api/src/models/billing/invoice.py"
    assert {m.key for m in p.routes} >= {"catalog", "orders", "customers"}
    assert p.ai_dir is not None and p.ai_dir.name == "ai"
    assert [m.parent.name for m in p.plugin_manifests] == ["wishlist"]
    assert p.frontend_src == (EXAMPLE / "apps/web/src").resolve()
    # a model's file_dep: itself, what it imports, and the packages on the way
    rels = {p.rel(f) for f in p.module_files(next(m for m in p.models if m.key == "catalog"))}
    assert {"apps/api/src/models/catalog.py", "apps/api/src/models/common.py",
            "apps/api/src/models/__init__.py", "apps/api/src/__init__.py"} <= rels


def test_missing_backend_root_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ProjectError) as info:
        discover(tmp_path)
    assert "backend.root" in str(info.value) and "apps/api" in str(info.value)
    assert info.value.exit_code == 2


def test_missing_models_dir_names_the_key(make_project) -> None:  # noqa: ANN001
    root = make_project(farm_toml="[backend]\nmodels = ['src/schemas']\n")
    with pytest.raises(ProjectError) as info:
        discover(root)
    assert "backend.models" in str(info.value) and "apps/api/src/schemas" in str(info.value)


def test_missing_app_module(make_project) -> None:  # noqa: ANN001
    root = make_project(farm_toml="[backend]\napp = 'src.server:app'\n")
    with pytest.raises(ProjectError) as info:
        discover(root)
    assert "backend.app" in str(info.value) and "src.server" in str(info.value)


def test_missing_frontend_root(make_project) -> None:  # noqa: ANN001
    root = make_project(farm_toml="[frontend]\nroot = 'web'\n")
    with pytest.raises(ProjectError, match="frontend.root"):
        discover(root)


def test_two_model_dirs_cannot_generate_the_same_output(make_project) -> None:  # noqa: ANN001
    root = make_project({
        "apps/api/src/models/shop.py": "",
        "apps/api/src/more/__init__.py": "",
        "apps/api/src/more/shop.py": "",
    }, farm_toml="[backend]\nmodels = ['src/models', 'src/more']\n")
    with pytest.raises(ProjectError, match="same output 'shop'"):
        discover(root)


def test_non_identifier_files_are_skipped(make_project) -> None:  # noqa: ANN001
    root = make_project({"apps/api/src/models/my-models.py": "", "apps/api/src/models/good.py": ""})
    assert [m.key for m in discover(root).models] == ["good"]


def test_find_root_walks_up_to_farm_toml(make_project) -> None:  # noqa: ANN001
    root = make_project(farm_toml="")
    assert find_root(root / "apps" / "api" / "src") == root.resolve()
