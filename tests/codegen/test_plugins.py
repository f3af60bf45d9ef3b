"""codegen.plugins: golden files, determinism, and hostile text that must stay inert."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from codegen.plugins import ComponentInfo, PluginInfo, import_specifier, render_plugins

GOLDEN = Path(__file__).parent / "golden" / "plugins"
EXAMPLE_WEB = Path(__file__).resolve().parents[2] / "examples" / "farm-app" / "apps" / "web"
INDEX = PurePosixPath("apps/web/src/plugins/components/index.ts")
REGISTRY = PurePosixPath("apps/api/src/farm_plugins.py")
HOSTILE = 'Ends a comment */ `${alert(1)}` "quoted" \\ back\u2028line\u2029para </script> \u00e9'

WISHLIST = PluginInfo(
    "wishlist", "0.1.0", "plugins.wishlist", PurePosixPath("plugins/wishlist/plugin.json"),
    "Lets shoppers keep a list of products to buy later.", "plugins.wishlist.backend.router:router",
    "/api/plugins/wishlist",
    (ComponentInfo("WishlistButton", PurePosixPath("plugins/wishlist/frontend/WishlistButton.tsx")),))
CASES = {
    "example": [WISHLIST],
    "empty": [],
    "several": [
        PluginInfo("zfaves", "2.0.0-beta.1", "plugins.zfaves", PurePosixPath("plugins/zfaves/plugin.json"), HOSTILE,
                   None, None,
                   (ComponentInfo("FaveStar", PurePosixPath("plugins/zfaves/ui/star.jsx"), "FaveStar"),
                    ComponentInfo("FaveList", PurePosixPath("plugins/zfaves/ui/list/index.ts")))),
        WISHLIST,
    ],
}


def _golden(case: str, out: dict[PurePosixPath, str]) -> None:
    for path, text in out.items():
        golden = GOLDEN / case / path.name
        if os.environ.get("FARM_UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(text, encoding="utf-8")
        assert text == golden.read_text(encoding="utf-8"), f"{golden} differs (FARM_UPDATE_GOLDEN=1 rewrites it)"


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    out = render_plugins(CASES[case], components_index=INDEX, registry=REGISTRY)
    assert set(out) == {INDEX, REGISTRY}
    _golden(case, out)


def test_input_order_does_not_matter() -> None:
    a = render_plugins(CASES["several"], components_index=INDEX, registry=REGISTRY)
    b = render_plugins(list(reversed(CASES["several"])), components_index=INDEX, registry=REGISTRY)
    assert a == b


def test_the_registry_is_plain_python_data_and_hostile_text_stays_a_string() -> None:
    out = render_plugins(CASES["several"], components_index=INDEX, registry=REGISTRY)
    tree = ast.parse(out[REGISTRY])
    namespace: dict[str, object] = {}
    exec(compile(tree, "farm_plugins.py", "exec"), namespace)  # noqa: S102 - our own generated data
    assert namespace["PROJECT_ROOT"] == "../../.."
    assert namespace["PLUGINS"] == ({"name": "wishlist", "version": "0.1.0", "package": "plugins.wishlist",
                                     "router": "plugins.wishlist.backend.router:router",
                                     "prefix": "/api/plugins/wishlist",
                                     "manifest": "plugins/wishlist/plugin.json"},)
    ts = out[INDEX]
    assert "\u2028" not in ts and "\u2029" not in ts  # raw, they would end a line inside a JS string
    assert f"description: {json.dumps(HOSTILE)}," in ts  # the only place the text appears: one string literal
    assert ts.count("alert(1)") == 1


@pytest.mark.parametrize(("src", "target", "expected"), [
    ("apps/web/src/plugins/components/index.ts", "plugins/a/b.tsx", "../../../../../plugins/a/b"),
    ("web/src/index.ts", "web/src/x/Y.jsx", "./x/Y"),
    ("index.ts", "p/Q.js", "./p/Q"),
])
def test_import_specifier(src: str, target: str, expected: str) -> None:
    assert import_specifier(PurePosixPath(src), PurePosixPath(target)) == expected


@pytest.mark.slow
@pytest.mark.skipif(not (EXAMPLE_WEB / "node_modules" / ".bin" / "tsc").exists(), reason="npm ci the example web app")
def test_the_generated_index_compiles_strict(tmp_path: Path) -> None:
    """tsc --strict on an index with a default export, a named export, a folder index and hostile text."""
    web = tmp_path / "apps" / "web"
    (web / "src").mkdir(parents=True)
    shutil.copy(EXAMPLE_WEB / "tsconfig.json", web / "tsconfig.json")
    (web / "node_modules").symlink_to(EXAMPLE_WEB / "node_modules")
    files = {
        "plugins/wishlist/frontend/WishlistButton.tsx":
            "export default function WishlistButton({ id }: { id: string }) { return <button>{id}</button>; }\n",
        "plugins/zfaves/ui/star.jsx": "export function FaveStar() { return null; }\n",
        "plugins/zfaves/ui/list/index.ts": "export default function FaveList(): null { return null; }\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    out = render_plugins(CASES["several"], components_index=INDEX, registry=REGISTRY)
    (tmp_path / INDEX).parent.mkdir(parents=True)
    (tmp_path / INDEX).write_text(out[INDEX])
    (web / "src" / "use.tsx").write_text(
        'import { Suspense } from "react";\n'
        'import { FaveList, FaveStar, WishlistButton, pluginComponents, plugins } from "./plugins/components";\n'
        "export const names: string[] = plugins.map((p) => p.name);\n"
        "export const count: number = Object.keys(pluginComponents).length;\n"
        "export const ui = <Suspense><WishlistButton id=\"x\" /><FaveStar /><FaveList /></Suspense>;\n")
    res = subprocess.run([str(web / "node_modules" / ".bin" / "tsc"), "--noEmit", "--allowJs", "-p", str(web)],
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
