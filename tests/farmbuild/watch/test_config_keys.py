"""The config keys farm watch adds: development.hot_reload.max_batch_ms and frontend.vite_plugin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from farmbuild.config import load_config
from farmbuild.errors import ConfigError


def test_defaults(make_project: Callable[..., Path]) -> None:
    cfg = load_config(make_project()).config
    assert cfg.development.hot_reload.debounce_ms == 100
    assert cfg.development.hot_reload.max_batch_ms == 1000
    assert cfg.frontend.vite_plugin is True


def test_values(make_project: Callable[..., Path]) -> None:
    root = make_project(farm_toml="""\
        [frontend]
        vite_plugin = false

        [development.hot_reload]
        debounce_ms = 50
        max_batch_ms = 400
    """)
    cfg = load_config(root).config
    assert (cfg.development.hot_reload.debounce_ms, cfg.development.hot_reload.max_batch_ms) == (50, 400)
    assert cfg.frontend.vite_plugin is False


@pytest.mark.parametrize("toml,message", [
    ("[development.hot_reload]\nmax_batch_ms = 0\n", "farm.toml:2: development.hot_reload.max_batch_ms: expected a number >= 1"),
    ("[development.hot_reload]\nmax_batch_ms = \"1s\"\n", "development.hot_reload.max_batch_ms: expected an integer"),
    ("[frontend]\nvite_plugin = \"maybe\"\n", "farm.toml:2: frontend.vite_plugin: expected true or false"),
])
def test_bad_values_name_the_key(make_project: Callable[..., Path], toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(make_project(farm_toml=toml))
    assert message in str(info.value)
