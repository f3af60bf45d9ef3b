"""Item 9 — names that try to escape the project are refused before anything is written or deleted.

Property: a path or name from farm.toml, a plugin manifest, a model (collection and field names
become migration file names), a symlinked folder where outputs go, or a tampered
``.farm/manifest.json`` (the list of files a build may delete) that leads outside the project
(``../../x``, an absolute path, a NUL byte, a symlink) never creates, changes or deletes a file
outside the project; farm says which file and key is wrong (exit 2 for config, a failed task
otherwise), and nothing the user wrote is deleted either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from farmbuild.build import build
from farmbuild.cli import main

from .conftest import sync_sources

MODEL = "from pydantic import BaseModel\n\n\nclass Item(BaseModel):\n    name: str\n"
BASE = {
    "apps/api/src/__init__.py": "",
    "apps/api/src/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
    "apps/api/src/models/__init__.py": "",
    "apps/api/src/models/item.py": MODEL,
    "apps/api/src/routes/__init__.py": "",
    "apps/web/src/main.tsx": "export {};\n",
}
ESCAPES = ["../../outside", "../outside", "/tmp/farm-escape-{pid}", "apps/../../outside", "ok\x00/../../x"]


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    """(project, the folder around it): decoys sit where an escape would land."""
    around = tmp_path / "around"
    root = around / "work" / "app"
    sync_sources(root, BASE, {})
    for decoy in (around / "outside" / "victim.txt", around / "work" / "outside" / "victim.txt", around / "victim.txt"):
        decoy.parent.mkdir(parents=True, exist_ok=True)
        decoy.write_text("precious\n")
    return root, around


def outside(root: Path, around: Path) -> dict[str, bytes]:
    out = {}
    for p in around.rglob("*"):
        if p.is_file() and not p.is_relative_to(root):
            out[p.relative_to(around).as_posix()] = p.read_bytes()
    return out


def farm(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def escape(value: str) -> str:
    return value.replace("{pid}", str(os.getpid()))


CONFIG_KEYS = [
    ("frontend", "root"), ("frontend", "src"), ("python_client", "output"), ("database", "migrations"),
    ("backend", "root"), ("backend", "ai"),
]


@pytest.mark.parametrize(("section", "key"), CONFIG_KEYS)
@pytest.mark.parametrize("value", ESCAPES)
def test_config_paths_that_leave_the_project(world, section: str, key: str, value: str,  # noqa: ANN001
                                             capsys: pytest.CaptureFixture[str]) -> None:
    root, around = world
    before = outside(root, around)
    (root / "farm.toml").write_text(f"[{section}]\n{key} = {json.dumps(escape(value))}\n")
    code, out = farm(capsys, "build", "-C", str(root))
    assert code == 2, out
    assert f"farm.toml:2: {section}.{key}:" in out, out
    assert not (root / ".farm").exists(), "something was written before the config was refused"
    assert outside(root, around) == before


@pytest.mark.parametrize("value", ESCAPES)
def test_list_keys_too(world, value: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    root, around = world
    before = outside(root, around)
    for section, key in (("plugins", "dirs"), ("backend", "models")):
        (root / "farm.toml").write_text(f"[{section}]\n{key} = [{json.dumps(escape(value))}]\n")
        code, out = farm(capsys, "build", "-C", str(root))
        assert code == 2 and f"{section}.{key}" in out, out
    assert outside(root, around) == before


@pytest.mark.parametrize(("folder", "key"), [("apps/web/src/types", None), ("apps/web/src/types/models", None),
                                             ("clients/python", "python_client.output"),
                                             ("apps/api/migrations", "database.migrations"), ("apps/web/src", "frontend.src")])
def test_a_symlinked_output_folder_that_leads_out(world, folder: str, key: str | None,  # noqa: ANN001
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root, around = world
    (root / "apps/api/src/models/item.py").write_text(MODEL + '\n    class Settings:\n        name = "items"\n')
    target = around / "linked-out"
    target.mkdir()
    link = root / folder
    if link.exists():
        link.rename(link.with_name(link.name + ".real"))
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=True)
    before = outside(root, around)
    code, out = farm(capsys, "build", "-C", str(root))
    assert code != 0, out
    if key:  # a folder farm.toml names: refused up front, naming the key
        assert code == 2 and f"{folder} (config key {key}) is a symlink to a folder outside the project" in out, out
        assert not (root / ".farm").exists()
    else:  # a folder below it: each write refused, naming the file inside the project
        assert f"refusing to write {folder}/" in out and "outside the project" in out, out
    assert str(around) not in out
    assert outside(root, around) == before
    assert not any(target.iterdir())


def test_farm_state_folder_that_leads_out(world, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    root, around = world
    state = around / "state-elsewhere"
    state.mkdir()
    (root / ".farm").symlink_to(state, target_is_directory=True)
    code, out = farm(capsys, "build", "-C", str(root))
    assert code == 2 and ".farm is a symlink to a folder outside the project" in out, out
    assert not any(state.iterdir())


def _plugin(root: Path, manifest: dict | str, files: dict[str, str] | None = None) -> Path:
    folder = root / "plugins" / "shop"
    for rel, text in (files or {"frontend/Button.tsx": "export default function Button() { return null; }\n",
                                "__init__.py": "", "backend/__init__.py": "",
                                "backend/router.py": "from fastapi import APIRouter\nrouter = APIRouter()\n"}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    path = folder / "plugin.json"
    path.write_text(manifest if isinstance(manifest, str) else json.dumps(manifest, indent=2))
    return path


def _manifest(**over: object) -> dict:
    m: dict = {"name": "shop", "version": "0.1.0",
               "frontend": {"components": {"Button": {"path": "frontend/Button.tsx"}}}}
    m.update(over)
    return m


PLUGIN_CASES = {
    "name climbs out": (_manifest(name="../../outside"), "name"),
    "component path climbs out": (_manifest(frontend={"components": {"Button": {"path": "../../../outside/victim.txt"}}}),
                                  "frontend.components.Button.path"),
    "component path is absolute": (_manifest(frontend={"components": {"Button": {"path": "/etc/passwd"}}}),
                                   "frontend.components.Button.path"),
    "component path has a NUL": (_manifest(frontend={"components": {"Button": {"path": "frontend/Button.tsx\x00.png"}}}),
                                 "frontend.components.Button.path"),
    "component name is a path": (_manifest(frontend={"components": {"../X": {"path": "frontend/Button.tsx"}}}),
                                 "frontend.components.../X"),
    "router outside the plugin": (_manifest(backend={"router": "os:system"}), "backend.router"),
    "router module climbs out": (_manifest(backend={"router": "plugins.shop....x:router"}), "backend.router"),
    "prefix climbs out": (_manifest(backend={"router": "plugins.shop.backend.router:router", "prefix": "/api/../../x"}),
                          "backend.prefix"),
}


@pytest.mark.parametrize("case", list(PLUGIN_CASES))
def test_plugin_manifests_that_try_to_escape(world, case: str) -> None:  # noqa: ANN001
    root, around = world
    manifest, key = PLUGIN_CASES[case]
    _plugin(root, manifest)
    before = outside(root, around)
    report = build(root)
    plugins = next(r for r in report.results if r.id == "plugins")
    assert plugins.status == "failed", plugins
    assert (plugins.error or "").startswith("plugins/shop/plugin.json"), plugins.error
    assert f": {key}:" in (plugins.error or ""), plugins.error
    assert outside(root, around) == before
    assert not (root / "apps/web/src/plugins").exists()  # nothing generated from a bad manifest


def test_a_component_symlinked_out_of_its_plugin(world) -> None:  # noqa: ANN001
    root, around = world
    path = _plugin(root, _manifest())
    button = path.parent / "frontend" / "Button.tsx"
    button.unlink()
    button.symlink_to(around / "victim.txt")
    report = build(root)
    plugins = next(r for r in report.results if r.id == "plugins")
    assert plugins.status == "failed" and "symlink that leads outside" in (plugins.error or ""), plugins.error


@pytest.mark.parametrize("name", ["../../outside/evil", "/tmp/farm-abs-evil", "nul\x00../../x", "..", "a/../../../b"])
def test_collection_and_field_names_become_safe_file_names(world, name: str) -> None:  # noqa: ANN001
    root, around = world
    before = outside(root, around)
    (root / "apps/api/src/models/item.py").write_text(
        "from pydantic import BaseModel, Field\n\n\nclass Item(BaseModel):\n"
        f"    name: str = Field(alias={name!r})\n\n    class Settings:\n        name = {name!r}\n")
    report = build(root)
    folder = root / "apps/api/migrations"
    if report.ok:  # a name MongoDB accepts: the migration's file name is made safe
        migrations = sorted(p.name for p in folder.iterdir())
        assert len(migrations) == 1 and migrations[0].startswith("0001_") and "/" not in migrations[0]
        assert "\x00" not in migrations[0] and ".." not in migrations[0].replace(".json", "")
    else:  # one it does not: refused, naming where it is
        failed = [r for r in report.results if r.status == "failed"]
        assert [r.id for r in failed] == ["schema:item"], failed
        assert (failed[0].file, failed[0].line) == ("apps/api/src/models/item.py", 4), failed[0]
        assert not folder.exists() or not any(folder.iterdir())
    assert outside(root, around) == before
    assert not Path("/tmp/farm-abs-evil").exists()


def test_a_tampered_manifest_deletes_nothing_it_must_not(world, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    root, around = world
    assert build(root).ok
    notes = root / "apps/api/src/notes.md"
    notes.write_text("mine\n")
    manifest = root / ".farm/manifest.json"
    data = json.loads(manifest.read_text())
    data["targets"] += ["../../outside/victim.txt", str(around / "victim.txt"), "apps/api/src/models/item.py",
                        "apps/api/src/notes.md", "apps/../../../victim.txt"]
    manifest.write_text(json.dumps(data))
    before = outside(root, around)
    report = build(root)
    assert report.ok and report.removed == []
    assert outside(root, around) == before
    assert (root / "apps/api/src/models/item.py").read_text() == MODEL and notes.read_text() == "mine\n"
    said = caplog.text
    assert "refusing to delete ../../outside/victim.txt" in said and "left in place" in said


def test_a_file_written_where_a_generated_one_was_is_not_deleted(world) -> None:  # noqa: ANN001
    # not an escape, the same guard: the delete list says what farmbuild *wrote*, and a file
    # someone changed (or wrote in its place) since is not farmbuild's to delete
    root, around = world
    (root / "apps/api/src/models/gone.py").write_text(MODEL.replace("Item", "Gone"))
    assert build(root).ok
    mine = root / "apps/web/src/types/models/gone.ts"
    mine.write_text("// my own file now\nexport const x = 1;\n")
    (root / "apps/api/src/models/gone.py").unlink()
    report = build(root)
    assert report.ok and "apps/web/src/types/models/gone.ts" not in report.removed
    assert mine.read_text().startswith("// my own file now")
