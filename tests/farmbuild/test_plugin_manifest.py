"""plugin.json validation: identifiers, paths that stay inside the plugin's folder, clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from farmbuild.plugins import PluginError, load_plugins

ROUTER = "from fastapi import APIRouter\nrouter = APIRouter()\n"


def good_manifest(name: str = "wishlist") -> dict:
    return {
        "name": name,
        "version": "0.1.0",
        "description": "Lets shoppers keep a list.",
        "frontend": {"components": {"WishlistButton": {"path": "frontend/WishlistButton.tsx"}}},
        "backend": {"router": f"plugins.{name}.backend.router:router"},
    }


def make_plugin(root: Path, manifest: dict | str, name: str = "wishlist") -> Path:
    d = root / "plugins" / name
    (d / "frontend").mkdir(parents=True, exist_ok=True)
    (d / "backend").mkdir(parents=True, exist_ok=True)
    (d / "frontend" / "WishlistButton.tsx").write_text("export default function WishlistButton() { return null; }\n")
    (d / "backend" / "__init__.py").write_text("")
    (d / "backend" / "router.py").write_text(ROUTER)
    text = manifest if isinstance(manifest, str) else json.dumps(manifest, indent=2)
    (d / "plugin.json").write_text(text)
    return d


def load(root: Path):  # noqa: ANN201
    return load_plugins(root, [root / "plugins"])


def test_a_valid_manifest(tmp_path: Path) -> None:
    make_plugin(tmp_path, good_manifest())
    [p] = load(tmp_path)
    assert (p.name, p.version, p.package, p.prefix) == ("wishlist", "0.1.0", "plugins.wishlist", "/api/plugins/wishlist")
    assert p.router_file == "plugins/wishlist/backend/router.py"
    assert [(c.name, c.path, c.export) for c in p.components] == [
        ("WishlistButton", "plugins/wishlist/frontend/WishlistButton.tsx", "default")]


def _with(change: dict) -> dict:
    m = good_manifest()
    for dotted, value in change.items():
        node = m
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return m


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        ({"name": "wish-list"}, "name", "expected an identifier"),
        ({"name": "other"}, "name", "does not match its folder 'wishlist'"),
        ({"version": ""}, "version", "expected a version string"),
        ({"version": 1}, "version", "expected a version string"),
        ({"entry": "x"}, "entry", "unknown key"),
        ({"frontend.components": {"wishlistButton": {"path": "frontend/WishlistButton.tsx"}}},
         "frontend.components.wishlistButton", "PascalCase identifier"),
        ({"frontend.components.WishlistButton.path": "../../../etc/passwd"},
         "frontend.components.WishlistButton.path", "climbs out of the plugin's folder with '..'"),
        ({"frontend.components.WishlistButton.path": "/etc/passwd"},
         "frontend.components.WishlistButton.path", "absolute path"),
        ({"frontend.components.WishlistButton.path": "frontend/Missing.tsx"},
         "frontend.components.WishlistButton.path", "does not exist in plugins/wishlist"),
        ({"frontend.components.WishlistButton.path": "backend/router.py"},
         "frontend.components.WishlistButton.path", "expected a .tsx, .ts, .jsx, .js file"),
        ({"frontend.components.WishlistButton.path": "frontend\\WishlistButton.tsx"},
         "frontend.components.WishlistButton.path", "use '/' in paths"),
        ({"frontend.components.WishlistButton.path": "frontend/W\x00.tsx"},
         "frontend.components.WishlistButton.path", "NUL"),
        ({"frontend.components.WishlistButton.export": "not valid"},
         "frontend.components.WishlistButton.export", "expected the name of the module's export"),
        ({"frontend.extra": 1}, "frontend.extra", "unknown key"),
        ({"backend.router": "plugins.wishlist.backend.router"}, "backend.router",
         'must be in format "<module>:<attribute>"'),
        ({"backend.router": "src.routes.catalog:router"}, "backend.router",
         "is not inside the plugin's package 'plugins.wishlist'"),
        ({"backend.router": "plugins.wishlist.backend.missing:router"}, "backend.router",
         "module 'plugins.wishlist.backend.missing' not found"),
        ({"backend.prefix": "api/x"}, "backend.prefix", "expected a URL path"),
        ({"backend.prefix": "/api/../admin"}, "backend.prefix", "expected a URL path"),
        ({"backend.prefix": "/api/x/"}, "backend.prefix", "expected a URL path"),
        ({"backend.mount": "/x"}, "backend.mount", "unknown key"),
    ],
)
def test_invalid_manifests_name_the_file_and_key(tmp_path: Path, change: dict, key: str, problem: str) -> None:
    make_plugin(tmp_path, _with(change))
    with pytest.raises(PluginError) as info:
        load(tmp_path)
    err = info.value
    assert err.file == "plugins/wishlist/plugin.json"
    assert err.key == key
    assert problem in err.problem
    assert str(err).startswith("plugins/wishlist/plugin.json:")  # with the line of the key


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    make_plugin(tmp_path, '{\n  "name": "wishlist",\n  "version": "0.1.0",\n}\n')
    with pytest.raises(PluginError) as info:
        load(tmp_path)
    assert info.value.line == 4 and "invalid JSON" in str(info.value)


def test_a_component_symlinked_out_of_the_plugin_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "outside.tsx"
    secret.write_text("export default 1;\n")
    d = make_plugin(tmp_path, _with({"frontend.components.WishlistButton.path": "frontend/Link.tsx"}))
    os.symlink(secret, d / "frontend" / "Link.tsx")
    with pytest.raises(PluginError, match="symlink that leads outside the plugin's folder"):
        load(tmp_path)


def test_a_router_module_symlinked_out_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "evil.py"
    outside.write_text(ROUTER)
    d = make_plugin(tmp_path, _with({"backend.router": "plugins.wishlist.backend.evil:router"}))
    os.symlink(outside, d / "backend" / "evil.py")
    with pytest.raises(PluginError) as info:
        load(tmp_path)
    assert info.value.key == "backend.router" and "symlink" in info.value.problem


def test_a_plugin_folder_symlinked_from_elsewhere_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    make_plugin(elsewhere, good_manifest())
    (tmp_path / "plugins").mkdir()
    os.symlink(elsewhere / "plugins" / "wishlist", tmp_path / "plugins" / "wishlist")
    with pytest.raises(PluginError, match="leads outside plugins"):
        load(tmp_path)


def test_component_names_are_unique_across_plugins(tmp_path: Path) -> None:
    make_plugin(tmp_path, good_manifest("wishlist"), "wishlist")
    make_plugin(tmp_path, good_manifest("zfavourites"), "zfavourites")
    with pytest.raises(PluginError) as info:
        load(tmp_path)
    assert info.value.file == "plugins/zfavourites/plugin.json"
    assert "also defined by plugins/wishlist/plugin.json" in info.value.problem


def test_frontend_only_and_backend_only_plugins(tmp_path: Path) -> None:
    make_plugin(tmp_path, _with({"backend": None}), "wishlist")
    m = _with({"frontend": None, "backend.prefix": "/api/extras"})
    m["name"] = "extras"
    m["backend"]["router"] = "plugins.extras.backend.router:router"
    make_plugin(tmp_path, m, "extras")
    extras, wishlist = load(tmp_path)
    assert (extras.components, extras.prefix) == ((), "/api/extras")
    assert (wishlist.router, wishlist.prefix) == (None, None)


def test_the_example_apps_plugin_is_valid() -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "farm-app"
    [p] = load(root)
    assert p.name == "wishlist" and p.router == "plugins.wishlist.backend.router:router"


def test_the_line_is_the_offending_keys_own(tmp_path: Path) -> None:
    m = good_manifest()
    m["frontend"]["components"]["WishlistBadge"] = {"path": "frontend/Missing.tsx"}
    make_plugin(tmp_path, m)
    with pytest.raises(PluginError) as info:
        load(tmp_path)
    lines = (tmp_path / "plugins" / "wishlist" / "plugin.json").read_text().splitlines()
    assert lines[info.value.line - 1].strip() == '"path": "frontend/Missing.tsx"'  # type: ignore[operator]
