"""Shared fixtures: copies of the example app, small synthetic projects, and build helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "farm-app"
EXAMPLE_WEB_MODULES = EXAMPLE / "apps" / "web" / "node_modules"

_IGNORE = shutil.ignore_patterns("node_modules", ".farm", ".doit.db*", "dist", "__pycache__", ".venv")


def copy_example(dest: Path, *, link_node_modules: bool = True) -> Path:
    """A private copy of examples/farm-app (node_modules symlinked, so tsc/vite work in it)."""
    shutil.copytree(EXAMPLE, dest, ignore=_IGNORE)
    if link_node_modules and EXAMPLE_WEB_MODULES.is_dir():
        (dest / "apps" / "web" / "node_modules").symlink_to(EXAMPLE_WEB_MODULES)
    return dest


@pytest.fixture
def example_app(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "farm-app")


MINIMAL_MAIN = """\
from fastapi import FastAPI

app = FastAPI()
"""


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(textwrap.dedent(content), encoding="utf-8")


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Create a small project in the standard layout; ``files`` override/extend it.

    >>> root = make_project({"apps/api/src/models/shop.py": "from pydantic import BaseModel\\n..."})
    """
    counter = iter(range(1000))

    def make(files: dict[str, str | bytes] | None = None, *, farm_toml: str | None = None) -> Path:
        root = tmp_path / f"proj{next(counter)}"
        base: dict[str, str | bytes] = {
            "apps/api/src/__init__.py": "",
            "apps/api/src/main.py": MINIMAL_MAIN,
            "apps/api/src/models/__init__.py": "",
            "apps/api/src/routes/__init__.py": "",
            "apps/web/src/.keep": "",
        }
        base.update(files or {})
        write_tree(root, base)
        if farm_toml is not None:
            (root / "farm.toml").write_text(textwrap.dedent(farm_toml), encoding="utf-8")
        return root

    return make


def farm_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real `farm` command line in a subprocess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "farmbuild", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(autouse=True)
def _close_workers() -> Iterator[None]:
    yield
    from farmbuild.worker import close_all

    close_all()


def ran(report) -> set[str]:  # noqa: ANN001 - BuildReport
    return {r.id for r in report.results if r.status == "ran"}


def failed(report) -> set[str]:  # noqa: ANN001
    return {r.id for r in report.results if r.status == "failed"}
