"""The Ollama and OpenAI-compatible wire clients, against a local server speaking the real format."""

from __future__ import annotations

import httpx
import pytest

from farmbuild.runtime.errors import ProviderError, ProviderUnavailable
from farmbuild.runtime.providers import OllamaAPI, OpenAIAPI, PullProgress
from tests.fake_ollama import FakeOllama, PullPlan, closed_port_url, fake_ollama  # noqa: F401


@pytest.fixture
def http():
    with httpx.Client() as client:
        yield client


def test_tags_are_canonical_names(fake_ollama: FakeOllama, http: httpx.Client) -> None:
    fake_ollama.models = {"llama3.2:latest", "qwen2.5:0.5b"}
    api = OllamaAPI(fake_ollama.url, http)
    assert api.tags() == ["llama3.2:latest", "qwen2.5:0.5b"]
    assert api.has("llama3.2") and api.has("llama3.2:latest") and not api.has("qwen2.5")


def test_pull_reports_progress_per_digest_and_ends_on_success(fake_ollama: FakeOllama, http: httpx.Client) -> None:
    fake_ollama.plans["llama3.2"] = PullPlan(layers=[1000, 10], steps=2)
    seen: list[PullProgress] = []
    OllamaAPI(fake_ollama.url, http).pull("llama3.2", seen.append)
    assert seen[0].status == "pulling manifest"
    assert seen[-1].status == "success"
    progress = [(p.digest, p.completed, p.total) for p in seen if p.completed is not None]
    digests = list(dict.fromkeys(d for d, _, _ in progress))
    assert len(digests) == 2
    assert progress[:2] == [(digests[0], 500, 1000), (digests[0], 1000, 1000)]
    assert fake_ollama.calls("POST", "/api/pull")[0].body == {"model": "llama3.2", "stream": True}
    assert "llama3.2:latest" in fake_ollama.models


def test_an_error_line_mid_stream_fails_the_pull_although_the_status_is_200(fake_ollama: FakeOllama,
                                                                             http: httpx.Client) -> None:
    fake_ollama.plans["nope"] = PullPlan(error_after=3, error="pull model manifest: file does not exist")
    seen: list[PullProgress] = []
    with pytest.raises(ProviderError, match="pulling nope failed: pull model manifest: file does not exist"):
        OllamaAPI(fake_ollama.url, http).pull("nope", seen.append)
    assert len(seen) == 3  # the progress before the error was shown
    assert "nope:latest" not in fake_ollama.models


def test_a_non_200_pull_fails_with_ollamas_message(fake_ollama: FakeOllama, http: httpx.Client) -> None:
    fake_ollama.plans["big"] = PullPlan(status=500, error="insufficient disk space")
    with pytest.raises(ProviderError) as info:
        OllamaAPI(fake_ollama.url, http).pull("big")
    assert info.value.status == 500
    assert "insufficient disk space" in str(info.value)


def test_a_stream_cut_before_success_is_a_failure(fake_ollama: FakeOllama, http: httpx.Client) -> None:
    fake_ollama.plans["cut"] = PullPlan(cut_after=4)
    with pytest.raises(ProviderError, match="ended before Ollama reported success"):
        OllamaAPI(fake_ollama.url, http).pull("cut")


def test_connection_refused_is_unavailable_not_an_error(http: httpx.Client) -> None:
    url = closed_port_url()
    api = OllamaAPI(url, http, name="local")
    with pytest.raises(ProviderUnavailable) as info:
        api.tags()
    assert info.value.url == url and "local" in str(info.value)
    with pytest.raises(ProviderUnavailable):
        api.pull("llama3.2")


def test_unload_load_and_delete(fake_ollama: FakeOllama, http: httpx.Client) -> None:
    fake_ollama.models = {"llama3.2:latest"}
    api = OllamaAPI(fake_ollama.url, http)
    api.load("llama3.2")
    assert fake_ollama.loaded == {"llama3.2:latest"}
    assert api.unload("llama3.2") is True
    assert fake_ollama.loaded == set()
    assert fake_ollama.calls("POST", "/api/generate")[-1].body == {"model": "llama3.2", "keep_alive": 0}
    assert api.unload("missing") is False  # Ollama answers 404: nothing to unload
    assert api.delete("llama3.2") is True and fake_ollama.models == set()
    assert api.delete("llama3.2") is False


def test_ollama_chat(fake_ollama: FakeOllama, http: httpx.Client) -> None:
    fake_ollama.models = {"llama3.2:latest"}
    api = OllamaAPI(fake_ollama.url, http)
    out = api.chat("llama3.2", [{"role": "user", "content": "carrots?"}], options={"temperature": 0.2})
    assert out == "[llama3.2] carrots?"
    body = fake_ollama.calls("POST", "/api/chat")[0].body
    assert body["stream"] is False and body["options"] == {"temperature": 0.2}
    with pytest.raises(ProviderError, match="not found") as info:
        api.chat("other", [{"role": "user", "content": "x"}])
    assert info.value.status == 404


def test_openai_chat_sends_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch, http: httpx.Client) -> None:
    key = "sk-canary-0123456789abcdef"
    fake = FakeOllama(openai_key=key).start()
    try:
        monkeypatch.setenv("SHOP_OPENAI_KEY", key)
        api = OpenAIAPI(fake.url + "/v1", http, name="cloud", api_key_env="SHOP_OPENAI_KEY")
        assert api.chat("gpt-test", [{"role": "user", "content": "hi"}]) == "[gpt-test] hi"
        assert fake.calls("POST", "/v1/chat/completions")[0].headers["authorization"] == f"Bearer {key}"
        assert api.models() == ["gpt-test"]
    finally:
        fake.stop()


def test_a_rejected_key_never_appears_in_the_error(monkeypatch: pytest.MonkeyPatch, http: httpx.Client) -> None:
    fake = FakeOllama(openai_key="sk-the-right-one").start()
    try:
        wrong = "sk-canary-wrong-4242424242"
        monkeypatch.setenv("SHOP_OPENAI_KEY", wrong)
        api = OpenAIAPI(fake.url + "/v1", http, name="cloud", api_key_env="SHOP_OPENAI_KEY")
        with pytest.raises(ProviderError) as info:
            api.chat("gpt-test", [{"role": "user", "content": "hi"}])
        assert info.value.status == 401
        assert "Incorrect API key provided: [redacted]" in str(info.value)
        assert wrong not in str(info.value)
    finally:
        fake.stop()


def test_a_missing_key_variable_is_named_not_guessed(monkeypatch: pytest.MonkeyPatch, http: httpx.Client) -> None:
    monkeypatch.delenv("SHOP_OPENAI_KEY", raising=False)
    api = OpenAIAPI("http://127.0.0.1:9/v1", http, name="cloud", api_key_env="SHOP_OPENAI_KEY")
    with pytest.raises(ProviderError, match="SHOP_OPENAI_KEY .* is not set"):
        api.chat("gpt-test", [{"role": "user", "content": "hi"}])
