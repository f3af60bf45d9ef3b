"""PluginHost in process: mount from the generated registry, reload a changed plugin, survive a broken one."""

from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from types import ModuleType

import httpx
import pytest
from fastapi import FastAPI

from codegen.plugins import PluginInfo, render_plugins
from farmbuild.runtime.plugins import PluginHost

ROUTER = """\
from fastapi import APIRouter

router = APIRouter(tags=["{name}"])
LOADS = 1

@router.get("/items")
def items() -> list[str]:
    return ["{name}-v1"]
"""


class Project:
    def __init__(self, root: Path, registry_name: str) -> None:
        self.root = root
        self.registry_name = registry_name
        self.registry_file = root / "apps" / "api" / f"{registry_name}.py"

    def write_plugin(self, name: str, source: str) -> None:
        d = self.root / "plugins" / name
        (d / "backend").mkdir(parents=True, exist_ok=True)
        (d / "__init__.py").write_text("")
        (d / "backend" / "__init__.py").write_text("")
        (d / "backend" / "router.py").write_text(textwrap.dedent(source))

    def write_registry(self, names: list[str]) -> None:
        infos = [PluginInfo(n, "0.1.0", f"plugins.{n}", PurePosixPath(f"plugins/{n}/plugin.json"),
                            router=f"plugins.{n}.backend.router:router", prefix=f"/api/plugins/{n}") for n in names]
        out = render_plugins(infos, components_index=PurePosixPath("apps/web/src/plugins/components/index.ts"),
                             registry=PurePosixPath(f"apps/api/{self.registry_name}.py"))
        self.registry_file.write_text(out[PurePosixPath(f"apps/api/{self.registry_name}.py")])

    def registry(self) -> ModuleType:
        return importlib.import_module(self.registry_name)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    """A project whose plugins import as ``plugins.<name>``; sys.path and sys.modules restored after."""
    root = tmp_path / "shop"
    (root / "apps" / "api").mkdir(parents=True)
    (root / "plugins").mkdir()
    (root / "plugins" / "__init__.py").write_text("")
    name = f"farm_plugins_{abs(hash(str(tmp_path))) % 10**8}"
    saved_path = list(sys.path)
    drop = [m for m in sys.modules if m == "plugins" or m.startswith("plugins.")]
    saved_mods = {m: sys.modules.pop(m) for m in drop}
    sys.path.insert(0, str(root / "apps" / "api"))
    try:
        yield Project(root, name)
    finally:
        sys.path[:] = saved_path
        for m in [m for m in sys.modules if m in (name, "plugins") or m.startswith("plugins.")]:
            del sys.modules[m]
        sys.modules.update(saved_mods)


def get(app: FastAPI, path: str) -> httpx.Response:
    async def run() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as c:
            return await c.get(path)

    return asyncio.run(run())


def test_mount_all_from_the_generated_registry(project: Project) -> None:
    project.write_plugin("wishlist", ROUTER.format(name="wishlist"))
    project.write_registry(["wishlist"])
    app = FastAPI()
    host = PluginHost(app, project.registry())
    assert host.mount_all() == ["wishlist"]
    assert host.project_root == project.root.resolve()
    assert get(app, "/api/plugins/wishlist/items").json() == ["wishlist-v1"]
    assert "/api/plugins/wishlist/items" in app.openapi()["paths"]


def test_reload_swaps_routes_in_place_and_resets_openapi(project: Project) -> None:
    project.write_plugin("wishlist", ROUTER.format(name="wishlist"))
    project.write_registry(["wishlist"])
    app = FastAPI()
    host = PluginHost(app, project.registry())
    host.mount_all()

    @app.get("/{path:path}")  # an SPA-style catch-all mounted after the plugins
    def catch_all(path: str) -> dict[str, str]:
        return {"caught": path}

    assert "/api/plugins/wishlist/items" in app.openapi()["paths"]
    project.write_plugin("wishlist", ROUTER.format(name="wishlist").replace("wishlist-v1", "wishlist-v2")
                         + '\n@router.get("/count")\ndef count() -> int:\n    return 7\n')
    result = host.reload(["wishlist"])
    assert result.reloaded == ["wishlist"] and not result.errors
    assert result.routes["wishlist"] == ["GET /api/plugins/wishlist/items", "GET /api/plugins/wishlist/count"]
    # the new code answers, ahead of the catch-all (same position in the route list)
    assert get(app, "/api/plugins/wishlist/items").json() == ["wishlist-v2"]
    assert get(app, "/api/plugins/wishlist/count").json() == 7
    assert "/api/plugins/wishlist/count" in app.openapi()["paths"]
    # the old version's routes are gone, not shadowed
    assert sum(1 for r in app.router.routes if "wishlist" in repr(getattr(r, "path", r))) <= 2


def test_a_broken_plugin_keeps_the_last_good_version(project: Project) -> None:
    project.write_plugin("wishlist", ROUTER.format(name="wishlist"))
    project.write_registry(["wishlist"])
    app = FastAPI()
    host = PluginHost(app, project.registry())
    host.mount_all()
    project.write_plugin("wishlist", "from fastapi import APIRouter\nrouter = APIRouter(\n\ndef broken(:\n")
    result = host.reload(["wishlist"])
    assert [e.plugin for e in result.errors] == ["wishlist"]
    err = result.errors[0]
    assert err.file == "plugins/wishlist/backend/router.py" and err.line is not None
    assert "SyntaxError" in err.problem
    assert get(app, "/api/plugins/wishlist/items").json() == ["wishlist-v1"]  # still serving
    assert host.status()["errors"]["wishlist"]["file"] == "plugins/wishlist/backend/router.py"
    # the next good save recovers
    project.write_plugin("wishlist", ROUTER.format(name="wishlist").replace("v1", "v3"))
    assert host.reload(["wishlist"]).reloaded == ["wishlist"]
    assert get(app, "/api/plugins/wishlist/items").json() == ["wishlist-v3"]
    assert host.status()["errors"] == {}


def test_an_exception_at_import_names_the_plugins_line(project: Project) -> None:
    project.write_plugin("wishlist", ROUTER.format(name="wishlist"))
    project.write_registry(["wishlist"])
    app = FastAPI()
    host = PluginHost(app, project.registry())
    host.mount_all()
    project.write_plugin("wishlist", "from fastapi import APIRouter\n\nrouter = APIRouter()\nraise RuntimeError('boom')\n")
    err = host.reload(["wishlist"]).errors[0]
    assert (err.file, err.line, err.problem) == ("plugins/wishlist/backend/router.py", 4, "RuntimeError: boom")


@pytest.mark.parametrize(("source", "problem"), [
    ("from fastapi import APIRouter\nrouters = APIRouter()\n", "has no attribute 'router'"),
    ("router = 42\n", "is a int, not a fastapi.APIRouter"),
])
def test_a_router_that_is_not_there(project: Project, source: str, problem: str) -> None:
    project.write_plugin("wishlist", source)
    project.write_registry(["wishlist"])
    app = FastAPI()
    host = PluginHost(app, project.registry())
    assert host.mount_all() == []  # the app still starts
    assert problem in host.errors["wishlist"].problem


def test_registry_changes_mount_and_unmount(project: Project) -> None:
    project.write_plugin("wishlist", ROUTER.format(name="wishlist"))
    project.write_plugin("reviews_plus", ROUTER.format(name="reviews_plus"))
    project.write_registry(["wishlist"])
    app = FastAPI()
    host = PluginHost(app, project.registry())
    host.mount_all()
    project.write_registry(["reviews_plus"])
    result = host.reload()
    assert (result.mounted, result.removed) == (["reviews_plus"], ["wishlist"])
    assert get(app, "/api/plugins/reviews_plus/items").json() == ["reviews_plus-v1"]
    assert get(app, "/api/plugins/wishlist/items").status_code == 404
    assert "plugins.wishlist" not in sys.modules
    assert [e.problem for e in host.reload(["ghost"]).errors] == [
        "not in the plugin registry (no plugins/<name>/plugin.json?)"]


def test_reload_reexecutes_the_plugins_modules(project: Project) -> None:
    project.write_plugin("wishlist", ROUTER.format(name="wishlist"))
    (project.root / "plugins" / "wishlist" / "backend" / "store.py").write_text("ITEMS: list[str] = []\n")
    project.write_registry(["wishlist"])
    app = FastAPI()
    host = PluginHost(app, project.registry())
    host.mount_all()
    import plugins.wishlist.backend.store as store  # type: ignore[import-not-found]

    store.ITEMS.append("kept in memory")
    host.reload(["wishlist"])
    import plugins.wishlist.backend.store as store2  # type: ignore[import-not-found]

    assert store2 is not store and store2.ITEMS == []


def test_an_edit_with_the_same_size_and_mtime_second_is_not_masked_by_bytecode(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as on a developer's machine

    project.write_plugin("wishlist", ROUTER.format(name="wishlist"))
    project.write_registry(["wishlist"])
    router_file = project.root / "plugins" / "wishlist" / "backend" / "router.py"
    app = FastAPI()
    host = PluginHost(app, project.registry())
    host.mount_all()
    st = os.stat(router_file)
    project.write_plugin("wishlist", ROUTER.format(name="wishlist").replace("v1", "v2"))  # same size
    os.utime(router_file, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime: .pyc would still match
    host.reload(["wishlist"])
    assert get(app, "/api/plugins/wishlist/items").json() == ["wishlist-v2"]
