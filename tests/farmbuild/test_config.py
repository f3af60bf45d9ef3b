"""farm.toml / [tool.farm]: defaults, precedence, and every error path naming file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from farmbuild.config import FarmConfig, load_config, locate_key
from farmbuild.errors import ConfigError


def write(root: Path, name: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    p = root / name
    p.write_text(text, encoding="utf-8")
    return p


def test_no_file_gives_the_farm_layout(tmp_path: Path) -> None:
    loaded = load_config(tmp_path)
    cfg = loaded.config
    assert loaded.source is None
    assert cfg.backend.root == "apps/api"
    assert cfg.backend.app == "src.main:app"
    assert cfg.backend.models == ["src/models"]
    assert cfg.frontend.root == "apps/web"
    assert cfg.database.url_env == "MONGODB_URL"
    assert cfg.database.apply == "dev"
    assert cfg.development.hot_reload.debounce_ms == 100
    assert cfg.development.hot_reload.performance.max_retries == 3
    assert cfg.plugins.dirs == ["plugins"]


def test_farm_toml_values_and_derived_names(tmp_path: Path) -> None:
    write(tmp_path, "farm.toml", """
[project]
name = "harvest-market"

[backend]
models = ["src/models", "src/extra_models"]

[development.hot_reload]
debounce_ms = 250

[[development.hot_reload.watch]]
pattern = "apps/api/src/**/*.py"
ignore = ["**/test_*.py"]
""")
    loaded = load_config(tmp_path)
    assert loaded.project_name == "harvest-market"
    assert loaded.python_package == "harvest_market_client"
    assert loaded.database_name == "harvest_market"
    assert loaded.config.backend.models == ["src/models", "src/extra_models"]
    assert loaded.config.development.hot_reload.debounce_ms == 250
    assert loaded.config.development.hot_reload.watch[0].ignore == ["**/test_*.py"]


def test_pyproject_tool_farm_is_read_and_farm_toml_wins(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname="x"\n\n[tool.farm.frontend]\nroot = "web"\n')
    assert load_config(tmp_path).config.frontend.root == "web"
    write(tmp_path, "farm.toml", '[frontend]\nroot = "client"\n')
    assert load_config(tmp_path).config.frontend.root == "client"


def test_pyproject_without_tool_farm_means_defaults(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname="x"\n')
    loaded = load_config(tmp_path)
    assert loaded.source is None
    assert loaded.config == FarmConfig()


@pytest.mark.parametrize(
    ("text", "line", "key", "fragment"),
    [
        ("[project]\nnme = 'x'\n", 2, "project.nme", "unknown key; expected one of: name"),
        ("[development.hot_reload]\ndebounce_ms = 'fast'\n", 2, "development.hot_reload.debounce_ms",
         "expected an integer, got 'fast'"),
        ("[development.hot_reload.performance]\nmax_retries = -1\n", 2,
         "development.hot_reload.performance.max_retries", "expected a number >= 0"),
        ("[backend]\nroot = '../elsewhere'\n", 2, "backend.root", "climbs out"),
        ("[backend]\nroot = '/srv/api'\n", 2, "backend.root", "absolute path"),
        ("[backend]\napp = 'main'\n", 2, "backend.app", 'must be in format "<module>:<attribute>"'),
        ("[database]\napply = 'always'\n", 2, "database.apply", "expected 'dev' or 'never'"),
        ("[database]\nurl_env = 'mongodb://u:p@h/db'\n", 2, "database.url_env", "NAME of an environment variable"),
        ("[ai.providers.openai]\napi_key = 'sk-live'\n", 2, "ai.providers.openai.api_key", "secrets are never configuration values"),
        ("[ai.providers.local]\nurl = 'http://127.0.0.1:11434'\nmodels = ['a']\ndefault_model = 'b'\n", 1,
         "ai.providers.local", "default_model 'b' is not one of models"),
        ("[[development.hot_reload.watch]]\npattern = 1\n", 2, "development.hot_reload.watch[0].pattern", "expected a string"),
        ("[frontend]\nroot = 3\n", 2, "frontend.root", "expected a string"),
        ("x = 1\n", None, "x", "unknown key"),
    ],
)
def test_invalid_config_names_file_line_key_and_fix(tmp_path: Path, text: str, line: int | None, key: str,
                                                     fragment: str) -> None:
    write(tmp_path, "farm.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    err = info.value
    assert err.key == key
    assert err.file.endswith("farm.toml")
    if line is not None:
        assert err.line == line
    assert fragment in str(err)
    assert err.exit_code == 2


def test_secret_values_are_not_echoed(tmp_path: Path) -> None:
    write(tmp_path, "farm.toml", "[ai.providers.openai]\napi_key = 'sk-CANARY-123'\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "sk-CANARY-123" not in str(info.value)


def test_invalid_toml_points_at_the_line(tmp_path: Path) -> None:
    write(tmp_path, "farm.toml", "[project]\nname = 'ok'\nbroken = [\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "invalid TOML" in str(info.value)
    assert info.value.line is not None


def test_non_utf8_config(tmp_path: Path) -> None:
    (tmp_path / "farm.toml").write_bytes(b"[project]\nname = '\xff\xfe'\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "not UTF-8" in str(info.value)
    assert info.value.line == 2


def test_pyproject_errors_use_the_tool_farm_key_path(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.farm.frontend]\nroot = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.key == "tool.farm.frontend.root"
    assert info.value.line == 2
    assert info.value.file.endswith("pyproject.toml")


def test_several_problems_are_all_mentioned(tmp_path: Path) -> None:
    write(tmp_path, "farm.toml", "[database]\napply='x'\nallow_destructive='maybe'\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "and 1 more problem" in str(info.value)
    assert "allow_destructive" in str(info.value)


def test_section_fingerprint_moves_only_with_its_section(tmp_path: Path) -> None:
    write(tmp_path, "farm.toml", "[frontend]\nsrc='src'\n[database]\nname='a'\n")
    a = load_config(tmp_path)
    write(tmp_path, "farm.toml", "[frontend]\nsrc='src'\n[database]\nname='b'\n")
    b = load_config(tmp_path)
    assert a.section_fingerprint("frontend") == b.section_fingerprint("frontend")
    assert a.section_fingerprint("database") != b.section_fingerprint("database")
    assert a.section_fingerprint("development.hot_reload") == b.section_fingerprint("development.hot_reload")


def test_locate_key_finds_headers_and_dotted_keys(tmp_path: Path) -> None:
    p = write(tmp_path, "farm.toml", "# c\n[ai.providers.ollama]\nurl = 'x'\n\n[database]\nname = 'n'\n")
    assert locate_key(p, ["ai", "providers", "ollama", "url"]) == 3
    assert locate_key(p, ["ai", "providers", "ollama"]) == 2
    assert locate_key(p, ["database", "name"]) == 6
