"""farm.toml's [ai] section: every way to get it wrong names the key, the line and the fix."""

from __future__ import annotations

import pytest

from farmbuild.config import load_config
from farmbuild.errors import ConfigError


def test_a_valid_section(make_project) -> None:  # noqa: ANN001
    root = make_project(farm_toml="""
        [ai]
        default_provider = "cloud"
        [ai.providers.ollama]
        url = "http://127.0.0.1:11434/"
        models = ["llama3.2", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "registry.local:5000/ns/m"]
        [ai.providers.cloud]
        api_key_env = "SHOP_OPENAI_KEY"
        models = ["gpt-4o-mini"]
    """)
    ai = load_config(root).config.ai
    assert ai.providers["ollama"].url == "http://127.0.0.1:11434"
    assert ai.provider_type("cloud") == "openai" and ai.default_provider == "cloud"


@pytest.mark.parametrize(
    ("toml", "key", "line", "problem"),
    [
        ('[ai.providers.ollama]\nbase_url = "http://127.0.0.1:11434"\n',
         "ai.providers.ollama.base_url", 2, "an Ollama provider takes `url`"),
        ('[ai.providers.ollama]\napi_key_env = "OLLAMA_KEY"\n',
         "ai.providers.ollama.api_key_env", 2, "Ollama has no API keys"),
        ('[ai.providers.cloud]\ntype = "openai"\nurl = "https://api.example/v1"\n',
         "ai.providers.cloud.url", 3, "takes `base_url`"),
        ('[ai.providers.ollama]\nmodels = ["llama3.2", "llama3.2:latest"]\n',
         "ai.providers.ollama.models", 2, "listed twice (Ollama reads 'llama3.2:latest' as 'llama3.2:latest')"),
        ('[ai]\ndefault_provider = "gpu"\n[ai.providers.ollama]\nmodels = ["a"]\n',
         "ai.default_provider", 2, "'gpu' is not a provider in [ai.providers] (known: ollama)"),
        ('[ai.providers.ollama]\nmodels = ["llama 3"]\n',
         "ai.providers.ollama.models", 2, "model name 'llama 3' is not valid"),
        ('[ai.providers.ollama]\nmodels = ["a"]\ndefault_model = "b"\n',
         "ai.providers.ollama", 1, "default_model 'b' is not one of models ['a']"),
        ('[ai.providers.ollama]\nurl = "http://127.0.0.1:11434?key=sk-123"\n',
         "ai.providers.ollama.url", 2, "no query string"),
        ('[ai.providers.cloud]\nbase_url = "https://user:sk-123@api.example/v1"\n',
         "ai.providers.cloud.base_url", 2, "credentials in URLs are secrets"),
        ('[ai.providers.cloud]\napi_key_env = "sk-live-123 456"\n',
         "ai.providers.cloud.api_key_env", 2, "the NAME of an environment variable"),
        ('[ai.providers.cloud]\napi_key = "sk-live-123"\n',
         "ai.providers.cloud.api_key", 2, "secrets are never configuration values"),
        ('[ai.providers."my-cloud"]\nmodels = ["a"]\n',
         "ai.providers", None, "must be an identifier"),
        ('[ai.providers.ollama]\ntimeout_s = 0\n', "ai.providers.ollama.timeout_s", 2, "expected a number > 0"),
        ('[ai]\nbackend_url = "localhost:8000"\n', "ai.backend_url", 2, "expected an http(s) URL"),
        ('[ai.providers.ollama]\ntype = "grpc"\n', "ai.providers.ollama.type", 2, "expected 'ollama' or 'openai'"),
    ],
)
def test_errors_name_the_key_and_line(make_project, toml: str, key: str, line: int | None,  # noqa: ANN001
                                      problem: str) -> None:
    root = make_project(farm_toml=toml)
    with pytest.raises(ConfigError) as info:
        load_config(root)
    err = info.value
    assert err.key == key
    assert err.line == line
    assert problem in err.problem
    where = f"{root / 'farm.toml'}:{line}" if line else f"{root / 'farm.toml'}"
    assert str(err).startswith(f"{where}: {key}: ")


@pytest.mark.parametrize("secret", ["sk-live-123", "user:sk-live-123@"])
def test_a_secret_pasted_into_a_url_is_not_echoed(make_project, secret: str) -> None:  # noqa: ANN001
    root = make_project(farm_toml=f'[ai.providers.cloud]\nbase_url = "{secret}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(root)
    assert "sk-live-123" not in str(info.value)


def test_errors_in_pyproject_are_prefixed_with_tool_farm(make_project) -> None:  # noqa: ANN001
    root = make_project({"pyproject.toml": '[tool.farm.ai.providers.ollama]\nbase_url = "http://h:1"\n'})
    with pytest.raises(ConfigError) as info:
        load_config(root)
    assert info.value.key == "tool.farm.ai.providers.ollama.base_url" and info.value.line == 2
