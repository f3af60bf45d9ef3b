"""Golden files for the model → TypeScript table, plus what the output *means* to tsc.

The fixture package ``fixtures/tsfix`` has one model per row of the issue's table (shapes.py),
cross-module imports, name clashes and classes from outside the model modules (other.py,
sub/address.py), and hostile text (hostile.py). Schemas come from the real extraction
(``farmbuild.worker.schema_op.extract``, in process); the output is compared byte for byte
with ``tests/codegen/golden/typescript/`` and compiled with ``tsc --strict`` together with
``fixtures/usage.ts``, whose ``@ts-expect-error`` lines pin down what must *not* compile.

Regenerate the golden files after an intended change: ``UPDATE_GOLDEN=1 pytest tests/codegen``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from codegen.typescript import NameCollision, generate, input_variants, model_table, module_file, render_module

from .helpers import probe, tsc

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parents[1] / "golden" / "typescript"
MODULES = {
    "tsfix.models.shapes": "shapes",
    "tsfix.models.other": "other",
    "tsfix.models.sub.address": "sub/address",
    "tsfix.models.hostile": "hostile",
}


def _extract(modules: dict[str, str]) -> list[dict[str, Any]]:
    from farmbuild.worker.schema_op import extract

    sys.path.insert(0, str(FIXTURES))
    try:
        # through JSON, exactly as the types task reads .farm/schema/*.json
        return [json.loads(json.dumps(extract(m, f"apps/api/src/models/{k}.py"))) for m, k in modules.items()]
    finally:
        sys.path.remove(str(FIXTURES))
        for name in [n for n in sys.modules if n == "tsfix" or n.startswith("tsfix.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def docs() -> Iterator[list[dict[str, Any]]]:
    yield _extract(MODULES)


@pytest.fixture(scope="module")
def generated(docs: list[dict[str, Any]]) -> tuple[dict[PurePosixPath, str], list[str]]:
    return generate(docs, MODULES)


def test_output_matches_golden_files(generated: tuple[dict[PurePosixPath, str], list[str]]) -> None:
    files, _ = generated
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for path, text in files.items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_text(text, encoding="utf-8")
    expected = {PurePosixPath(p.relative_to(GOLDEN).as_posix()): p.read_text("utf-8") for p in GOLDEN.rglob("*.ts")}
    assert sorted(files) == sorted(expected)
    for path, text in files.items():
        assert text == expected[path], f"{path} differs from its golden file (UPDATE_GOLDEN=1 to accept)"


def test_output_is_deterministic(docs: list[dict[str, Any]], generated: tuple[dict[PurePosixPath, str], list[str]]) -> None:
    again, _ = generate(_extract(dict(reversed(list(MODULES.items())))), MODULES)
    assert again == generated[0]


def test_golden_output_compiles_strict_and_means_what_the_table_says(
    tmp_path: Path, generated: tuple[dict[PurePosixPath, str], list[str]]
) -> None:
    files, _ = generated
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    shutil.copy(FIXTURES / "usage.ts", tmp_path / "usage.ts")
    proc = tsc(tmp_path, ["types", "usage.ts"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_broken_expectation_fails_the_type_check(tmp_path: Path, generated: tuple[dict[PurePosixPath, str], list[str]]) -> None:
    """The usage file can fail: drop the `readonly` of a computed field and tsc must object."""
    files, _ = generated
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text.replace("readonly doubled", "doubled"), encoding="utf-8")
    shutil.copy(FIXTURES / "usage.ts", tmp_path / "usage.ts")
    proc = tsc(tmp_path, ["types", "usage.ts"])
    assert proc.returncode != 0
    assert "Unused '@ts-expect-error' directive" in proc.stdout


def test_barrel_collisions_are_aliased_and_reported(generated: tuple[dict[PurePosixPath, str], list[str]]) -> None:
    files, warnings = generated
    index = files[PurePosixPath("types/models/index.ts")]
    assert "type Address as OtherAddress," in index
    assert "type Address as SubAddressAddress," in index
    assert "  type Address,\n" not in index
    assert warnings == [
        "Address is defined in 2 model modules (other, sub/address): types/models/index.ts exports them as"
        " OtherAddress, SubAddressAddress (import them by those names, or from their own module files)"
    ]


def test_hostile_text_cannot_break_out(tmp_path: Path, generated: tuple[dict[PurePosixPath, str], list[str]]) -> None:
    files, _ = generated
    path = tmp_path / "hostile.ts"
    path.write_text(files[PurePosixPath("types/models/hostile.ts")], encoding="utf-8")
    result = probe(path)[str(path)]
    assert result["diagnostics"] == []
    decls = [(d["kind"], d["name"]) for d in result["declarations"]]
    assert decls == [
        ("FirstStatement", "Tricky"), ("TypeAliasDeclaration", "Tricky"),
        ("InterfaceDeclaration", "Hostile"), ("InterfaceDeclaration", "HostileInput"),
        ("InterfaceDeclaration", "UsesWeird"),
        # built with Enum(...): no class statement, so it comes after the classes
        ("FirstStatement", "Weird"), ("TypeAliasDeclaration", "Weird"),
    ]
    sys.path.insert(0, str(FIXTURES))
    try:
        from tsfix.models.hostile import Hostile, Tricky  # type: ignore[import-not-found]

        assert result["values"]["Tricky"] == {m.name: m.value for m in Tricky}
        assert result["values"]["Weird"] == {"a-b": "x", "class": "c", "2fa": "two"}
        hostile = result["declarations"][2]
        assert [m["name"] for m in hostile["members"]] == [f.alias or n for n, f in Hostile.model_fields.items()]
        assert hostile["tags"] == []  # "@deprecated" in the docstring is text, not a tag
        assert "@deprecated is not a tag here" in hostile["doc"]
        assert "*/ a comment" in hostile["doc"].replace("*\\/", "*/")
        text_member = hostile["members"][0]
        assert "export const pwned" in text_member["doc"]  # stayed inside the comment
        assert text_member["tags"] == []
    finally:
        sys.path.remove(str(FIXTURES))
        for name in [n for n in sys.modules if n == "tsfix" or n.startswith("tsfix.")]:
            del sys.modules[name]


def test_every_document_agrees_on_which_models_have_an_input_variant(docs: list[dict[str, Any]]) -> None:
    """A module deciding ``MoneyInput`` exists must agree with the module that declares it."""
    tables = [model_table(d) for d in docs]
    decisions = [input_variants(t) for t in tables]
    for t1, d1 in zip(tables, decisions):
        for t2, d2 in zip(tables, decisions):
            for key in set(t1.schemas) & set(t2.schemas):
                assert (key in d1) == (key in d2), key


def test_an_input_name_that_is_taken_is_an_error_with_the_line(tmp_path: Path) -> None:
    pkg = tmp_path / "clash"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "models.py").write_text(
        "from pydantic import BaseModel\n\n\n"
        "class Thing(BaseModel):\n    size: int = 1\n\n\n"
        "class ThingInput(BaseModel):\n    size: int\n"
    )
    from farmbuild.worker.schema_op import extract

    sys.path.insert(0, str(tmp_path))
    try:
        doc = json.loads(json.dumps(extract("clash.models", "apps/api/src/models/models.py")))
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "clash" or n.startswith("clash.")]:
            del sys.modules[name]
    with pytest.raises(NameCollision) as info:
        render_module(doc, {"clash.models": module_file("models")})
    assert info.value.line == 8
    assert "ThingInput" in str(info.value) and "rename one" in str(info.value)


@pytest.mark.parametrize(("key", "path"), [("catalog", "types/models/catalog.ts"),
                                           ("billing/invoice", "types/models/billing/invoice.ts"),
                                           ("index", "types/models/index_.ts"),
                                           ("index_", "types/models/index__.ts"),
                                           ("sub/index", "types/models/sub/index.ts")])
def test_module_files(key: str, path: str) -> None:
    assert module_file(key) == PurePosixPath(path)
