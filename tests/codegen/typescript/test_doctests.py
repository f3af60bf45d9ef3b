"""The examples in the shared renderer's docstrings (its documented API) must stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["codegen.typescript", "codegen.typescript.text", "codegen.typescript.schema_doc"])
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
