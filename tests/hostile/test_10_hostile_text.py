"""Item 10 — hostile text in docstrings, descriptions, titles, enum values and summaries is inert.

Property: an app whose text is made to break out of wherever a generator puts it — a comment
closer ``*/``, backticks and ``${``, U+2028/U+2029 (line terminators to JavaScript), CR/LF, quotes
of every kind, ``\"\"\"``, a trailing backslash, NUL, ``</script>``, a JSDoc ``@tag``, a character
outside the BMP — in model and enum docstrings, Field descriptions, titles, examples, defaults and
deprecation messages, enum values and names, Literal values, field and parameter aliases, route
summaries, descriptions and operation ids, the app's title and version and a plugin's description,
builds into:

- TypeScript that ``tsc --strict`` compiles, in which the parser finds no call that the text put
  there (every payload calls ``pwned()``), and whose string literals hold the text exactly;
- a Python client (and plugin registry) that compiles, has no such call either, imports, and
  holds the same values (enum values, docstrings); a ``pyproject.toml`` TOML reads back;
- JSON files that parse.

What it found: the Python client's header comment carried the API title raw, so a title with a
line break put the rest of it on a line of code of its own (``pwned();`` at module level of
``models.py``, ``client.py`` and ``__init__.py``, and an invalid ``pyproject.toml``); a NUL in the
title or in a summary or description stopped Python from compiling the client at all; the
version was put in a docstring unescaped; and string literals were written with JSON's escapes, so
a character outside the BMP became two lone surrogates in Python and invalid TOML.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

from farmbuild.build import build
from tests.codegen.typescript.helpers import TSC, require_typescript
from tests.conftest import EXAMPLE_WEB_MODULES

PAYLOADS = [
    "*/ pwned(); /*",
    "`; pwned(); `",
    "${pwned()}",
    "\u2028pwned();//",
    "\u2029pwned();",
    '"); pwned(); ("',
    "'); pwned(); ('",
    "</script><script>pwned()</script>",
    "trailing\\",
    '"""; pwned(); """',
    "\r\npwned();\n",
    "nul\x00pwned()",
    "@param x pwned()",
    "<!-- pwned() -->",
    "\\u0022); pwned(); (\\u0022",
    "#{pwned()} {pwned} %(pwned)s",
    "\U0001f345 pwned()",  # a tomato: outside the BMP (two UTF-16 units, one Python character)
    "{{ pwned() }}{% if x %}",  # jinja2 syntax: text is data, never template
]
TEXT = " | ".join(PAYLOADS)
ENUM_VALUES = PAYLOADS


def _sources() -> dict[str, str]:
    model = [
        "from enum import Enum",
        "from typing import Literal",
        "from pydantic import BaseModel, ConfigDict, Field, create_model",
        "", "",
        "class Color(str, Enum):",
        f"    {TEXT!r}",
        *[f"    M{i} = {p!r}" for i, p in enumerate(ENUM_VALUES)],
        "", "",
        # member *names* from text: the functional API takes any string
        "Weird = Enum('Weird', {" + ", ".join(f"{p!r}: {p!r}" for p in ENUM_VALUES[:8]) + "}, type=str)",
        "", "",
        "class Item(BaseModel):",
        f"    {TEXT!r}",
        f"    model_config = ConfigDict(title={PAYLOADS[0]!r})",
        *[f"    f{i}: str = Field({p!r}, description={p!r}, title={p!r}, examples=[{p!r}])"
          for i, p in enumerate(ENUM_VALUES)],
        "    color: Color = Color.M0",
        "    weird: Weird | None = None",
        f"    lit: Literal[{', '.join(repr(p) for p in ENUM_VALUES)}] = {PAYLOADS[1]!r}",
        f"    aliased: int = Field(0, alias={PAYLOADS[0]!r})",
        f"    old: int = Field(0, deprecated={TEXT!r})",
        "", "",
        # field *names* from text
        "Hostile = create_model('Hostile', **{" + ", ".join(f"{p!r}: (int, 0)" for p in ENUM_VALUES[:6]) + "})",
        "",
    ]
    route = [
        "from fastapi import APIRouter, Query",
        "from src.models.item import Color, Hostile, Item",
        "",
        f"router = APIRouter(prefix='/items', tags=[{PAYLOADS[0]!r}])",
        "", "",
        f"@router.get('/', summary={TEXT!r}, description={TEXT!r}, response_description={TEXT!r},"
        f" responses={{404: {{'description': {TEXT!r}}}}})",
        f"def list_items(q: str = Query({PAYLOADS[1]!r}, description={TEXT!r}, alias={PAYLOADS[0]!r}),"
        " c: Color = Color.M2) -> list[Item]:",
        "    return []",
        "", "",
        f"@router.post('/', operation_id={PAYLOADS[2]!r})",
        "def create(item: Item) -> Hostile:",
        f"    {TEXT!r}",
        "    return Hostile()",
        "",
    ]
    return {
        "apps/api/src/__init__.py": "",
        "apps/api/src/models/__init__.py": "",
        "apps/api/src/routes/__init__.py": "",
        "apps/api/src/models/item.py": "\n".join(model),
        "apps/api/src/routes/items.py": "\n".join(route),
        "apps/api/src/main.py": textwrap.dedent(f"""\
            from fastapi import FastAPI
            from src.routes import items

            app = FastAPI(title={TEXT!r}, description={TEXT!r}, version={'1.0 ' + PAYLOADS[9] + PAYLOADS[10]!r})
            app.include_router(items.router)
            """),
        "apps/web/src/.keep": "",
        "plugins/shop/plugin.json": json.dumps({
            "name": "shop", "version": "0.1.0", "description": TEXT,
            "frontend": {"components": {"Button": {"path": "frontend/Button.tsx"}}}}),
        "plugins/shop/frontend/Button.tsx": "export default function Button() { return null; }\n",
    }


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile10") / "app"
    for rel, text in _sources().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "farm.toml").write_text('[project]\nname = "shop"\n')
    report = build(root)
    assert report.ok, [(r.id, r.error) for r in report.results if r.status == "failed"] + report.errors
    return root


def generated(root: Path, *suffixes: str) -> list[Path]:
    """Every file the build wrote (its manifest), with one of ``suffixes``."""
    targets = json.loads((root / ".farm/manifest.json").read_text("utf-8"))["targets"]
    return [root / rel for rel in targets if rel.endswith(suffixes)]


def test_the_build_wrote_every_kind_of_output(app: Path) -> None:
    names = {p.relative_to(app).as_posix() for p in generated(app, "")}
    for rel in ("apps/web/src/types/models/item.ts", "apps/web/src/services/api/items.ts",
                "apps/web/src/hooks/api/items.ts", "apps/web/src/plugins/components/index.ts",
                "clients/python/shop_client/models.py", "clients/python/shop_client/client.py",
                "clients/python/pyproject.toml", ".farm/openapi.json"):
        assert rel in names, sorted(names)


def test_typescript_compiles_under_strict(app: Path) -> None:
    require_typescript()
    web = app / "apps/web"
    (web / "node_modules").symlink_to(EXAMPLE_WEB_MODULES)
    (web / "tsconfig.json").write_text(json.dumps({"compilerOptions": {
        "target": "ES2022", "module": "ESNext", "moduleResolution": "bundler", "strict": True, "noEmit": True,
        "skipLibCheck": True, "types": [], "lib": ["ES2022", "DOM"], "jsx": "react-jsx",
        "isolatedModules": True, "verbatimModuleSyntax": True}, "include": ["src"]}))
    try:
        res = subprocess.run([str(TSC), "-p", str(web)], capture_output=True, text=True, timeout=300)
    finally:
        (web / "node_modules").unlink()
        (web / "tsconfig.json").unlink()
    assert res.returncode == 0, res.stdout + res.stderr


def _ts_view(files: list[Path]) -> dict[str, Any]:
    require_typescript()
    env = dict(os.environ, NODE_PATH=str(EXAMPLE_WEB_MODULES))
    proc = subprocess.run(["node", str(Path(__file__).with_name("ts_calls.cjs")), *map(str, files)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_typescript_holds_no_injected_code_and_the_text_intact(app: Path) -> None:
    files = generated(app, ".ts", ".tsx", ".mts", ".mjs")
    view = _ts_view(files)
    assert set(view) == set(map(str, files))
    strings: dict[str, set[str]] = {}
    for file, seen in view.items():
        rel = Path(file).relative_to(app).as_posix()
        assert seen["diagnostics"] == [], (rel, seen["diagnostics"])
        injected = [c for c in seen["calls"] if "pwned" in c]
        assert not injected, f"{rel}: text became code: {injected}"
        assert not [t for t in seen["templates"] if "pwned" in t], rel  # text is never put in a template literal
        strings[rel] = set(seen["strings"])
    # the values arrive exactly as written: enum and Literal values, a plugin's description
    types = strings["apps/web/src/types/models/item.ts"]
    assert set(ENUM_VALUES) <= types, sorted(set(ENUM_VALUES) - types)
    components = strings["apps/web/src/plugins/components/index.ts"]
    assert TEXT in components
    client = strings["apps/web/src/services/api/items.ts"]
    assert PAYLOADS[0] in client  # the query parameter's wire name


def _py_calls(tree: ast.AST) -> list[str]:
    return [ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]


def test_python_files_compile_and_hold_no_injected_code(app: Path) -> None:
    files = generated(app, ".py")
    assert {p.name for p in files} >= {"__init__.py", "client.py", "models.py"}
    for path in files:
        rel = path.relative_to(app).as_posix()
        source = path.read_bytes()
        assert b"\x00" not in source, rel
        tree = ast.parse(source, rel)  # raises on a syntax error
        compile(tree, rel, "exec")
        injected = [c for c in _py_calls(tree) if "pwned" in c]
        assert not injected, f"{rel}: text became code: {injected}"


def test_toml_and_json_read_back(app: Path) -> None:
    project = tomllib.loads((app / "clients/python/pyproject.toml").read_text("utf-8"))["project"]
    assert project["description"] == f"Python client for {TEXT}"
    assert project["version"].startswith("1.0 ")
    for path in generated(app, ".json"):
        json.loads(path.read_text("utf-8"))


def test_the_python_client_imports_and_holds_the_text(app: Path) -> None:
    probe = textwrap.dedent("""\
        import inspect, json
        import shop_client
        from shop_client import Client, models
        print(json.dumps({
            "module": shop_client.__doc__,
            "method": inspect.getdoc(Client.list_items),
            "color": [m.value for m in models.Color],
            "weird": sorted(m.value for m in models.Weird),
            "hostile": sorted(f.alias for f in models.Hostile.model_fields.values()),
            "item": models.Item.__doc__,
        }, ensure_ascii=True))
        """)
    env = dict(os.environ, PYTHONPATH=str(app / "clients/python"))
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["color"] == ENUM_VALUES
    assert got["weird"] == sorted(ENUM_VALUES[:8])
    assert got["hostile"] == sorted(ENUM_VALUES[:6])
    # docstrings read as the text (line breaks normalized to \n, surrounding blanks stripped)
    text = TEXT.replace("\r\n", "\n")
    assert text in got["method"], got["method"]
    assert text.strip() in got["module"], got["module"]
