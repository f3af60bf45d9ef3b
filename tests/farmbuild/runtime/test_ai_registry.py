"""AIRegistry: the diff, the in-process swap, model lookup, and chat through a real (local) Ollama wire."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from farmbuild.config import load_config
from farmbuild.runtime.ai import AIRegistry, AIState, ProviderSpec, diff
from farmbuild.runtime.errors import AIError, ModelNotFound, ProviderUnavailable
from tests.fake_ollama import FakeOllama, closed_port_url, fake_ollama  # noqa: F401


def ollama(models: tuple[str, ...], default: str | None = None, url: str = "http://127.0.0.1:11434",
           name: str = "ollama", **kw: object) -> ProviderSpec:
    return ProviderSpec(name, "ollama", url, models, default if default is not None else (models[0] if models else None),
                        **kw)  # type: ignore[arg-type]


def state(*specs: ProviderSpec, default: str | None = None) -> AIState:
    providers = {s.name: s for s in specs}
    return AIState(providers, default or next(iter(providers), None))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (state(), state(ollama(("llama3.2",))), ["add provider ollama", "add model ollama/llama3.2"]),
        (state(ollama(("llama3.2",))), state(), ["remove model ollama/llama3.2", "remove provider ollama"]),
        (state(ollama(("llama3.2",))), state(ollama(("llama3.2", "qwen2")), ), ["add model ollama/qwen2"]),
        (state(ollama(("llama3.2", "qwen2"))), state(ollama(("llama3.2",))), ["remove model ollama/qwen2"]),
        # names compare the way Ollama does: llama3.2 is llama3.2:latest
        (state(ollama(("llama3.2",))), state(ollama(("llama3.2:latest",))),
         ["update model ollama/llama3.2:latest (renamed to llama3.2:latest)"]),
        (state(ollama(("a", "b"), "a")), state(ollama(("a", "b"), "b")),
         ["update model ollama/a (default)", "update model ollama/b (default)"]),
        (state(ollama(("a",))), state(ollama(("a",), url="http://gpu:11434")),
         ["update provider ollama (url)", "update model ollama/a (url)"]),
        (state(ollama(("a",))), state(ollama(("a",), timeout_s=5.0)),
         ["update provider ollama (timeout_s)", "update model ollama/a (timeout_s)"]),
        (state(ollama(("a",))), state(ollama(("a",))), []),
    ],
)
def test_diff(old: AIState, new: AIState, expected: list[str]) -> None:
    assert [c.describe() for c in diff(old, new)] == expected


def test_state_round_trips_through_json_and_rejects_garbage() -> None:
    s = state(ollama(("llama3.2", "qwen2"), "qwen2"),
              ProviderSpec("cloud", "openai", "https://api.example/v1", ("gpt-test",), "gpt-test", "KEY_ENV"),
              default="cloud")
    assert AIState.from_json(s.to_json()) == s
    for bad, problem in [
        ({"providers": {"x": {"type": "grpc", "url": "http://h"}}}, "type"),
        ({"providers": {"x": {"type": "ollama", "url": "file:///etc"}}}, "url"),
        ({"providers": {"x": {"type": "ollama", "url": "http://h", "models": ["a"], "default_model": "b"}}}, "default_model"),
        ({"providers": {"x": {"type": "openai", "url": "http://h", "api_key_env": "sk-live key!"}}}, "api_key_env"),
        ({"providers": {"x": {"type": "ollama", "url": "http://h", "api_key": "sk"}}}, "unknown keys"),
        ({"providers": {}, "default_provider": "x"}, "default_provider"),
    ]:
        with pytest.raises(ValueError, match=problem):
            AIState.from_json(bad)


def test_from_config_resolves_defaults(make_project) -> None:  # noqa: ANN001
    root = make_project(farm_toml="""
        [ai.providers.ollama]
        models = ["llama3.2", "qwen2"]
        [ai.providers.cloud]
        api_key_env = "SHOP_OPENAI_KEY"
        models = ["gpt-4o-mini"]
        [ai.providers.local_vllm]
        base_url = "http://127.0.0.1:8001/v1/"
        default_model = "mistral"
    """)
    s = AIState.from_config(load_config(root).config.ai)
    assert s.default_provider == "ollama"
    o, c, v = s.providers["ollama"], s.providers["cloud"], s.providers["local_vllm"]
    assert (o.type, o.url, o.default_model, o.api_key_env) == ("ollama", "http://127.0.0.1:11434", "llama3.2", None)
    assert (c.type, c.url, c.api_key_env) == ("openai", "https://api.openai.com/v1", "SHOP_OPENAI_KEY")
    assert (v.type, v.url, v.models, v.api_key_env) == ("openai", "http://127.0.0.1:8001/v1", ("mistral",), None)


def test_apply_swaps_and_reports() -> None:
    reg = AIRegistry(state(ollama(("llama3.2",))))
    assert [m.id for m in reg.models()] == ["ollama/llama3.2"]
    changes = reg.apply(state(ollama(("llama3.2", "qwen2"), "qwen2")))
    assert [c.describe() for c in changes] == ["update model ollama/llama3.2 (default)", "add model ollama/qwen2"]
    assert [(m.id, m.default) for m in reg.models()] == [("ollama/llama3.2", False), ("ollama/qwen2", True)]
    assert reg.get().model == "qwen2"
    reg.apply(state(ollama(("qwen2",))))
    with pytest.raises(ModelNotFound, match="'llama3.2' is not configured; available: ollama/qwen2"):
        reg.get("llama3.2")


def test_fine_grained_swap_api() -> None:
    reg = AIRegistry()
    with pytest.raises(AIError, match="provider 'ollama' is not registered"):
        reg.register_model("ollama", "llama3.2")
    reg.set_provider(ollama(()))
    reg.register_model("ollama", "llama3.2", default=True)
    reg.register_model("ollama", "qwen2")
    assert reg.default() is not None and reg.default().id == "ollama/llama3.2"  # type: ignore[union-attr]
    reg.update_model("ollama", "qwen2", default=True)
    assert [(m.id, m.default) for m in reg.models()] == [("ollama/llama3.2", False), ("ollama/qwen2", True)]
    assert reg.unload_model("ollama", "llama3.2:latest") is True  # found by Ollama's canonical name
    assert reg.unload_model("ollama", "llama3.2") is False
    with pytest.raises(ModelNotFound):
        reg.update_model("ollama", "llama3.2", default=True)
    assert reg.remove_provider("ollama") and reg.models() == []


def test_lookup_by_name_provider_and_ambiguity() -> None:
    reg = AIRegistry(state(ollama(("llama3.2",)), ollama(("llama3.2",), name="gpu", url="http://gpu:11434"),
                           default="ollama"))
    with pytest.raises(ModelNotFound, match="several providers serve it"):
        reg.get("llama3.2")
    assert reg.get("gpu/llama3.2").provider == "gpu"
    assert reg.get("llama3.2:latest", provider="ollama").provider == "ollama"
    assert reg.get(provider="gpu").model == "llama3.2"
    empty = AIRegistry()
    with pytest.raises(ModelNotFound, match="no model is configured"):
        empty.get()


def test_readers_never_see_half_a_swap() -> None:
    a = state(ollama(("a1", "a2"), "a1", url="http://a"))
    b = state(ollama(("b1", "b2"), "b2", url="http://b"))
    reg = AIRegistry(a)
    stop = threading.Event()
    seen: list[tuple[str, str]] = []
    errors: list[Exception] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                client = reg.get()
                seen.append((client.model, client.spec.url))
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(300):
        reg.apply(b if i % 2 == 0 else a)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    # every client a reader got is consistent: the default model of the state its url belongs to
    assert set(seen) <= {("a1", "http://a"), ("b2", "http://b")}


def test_chat_and_availability_through_ollama(fake_ollama: FakeOllama) -> None:
    fake_ollama.models = {"llama3.2:latest"}
    reg = AIRegistry(state(ollama(("llama3.2", "qwen2"), url=fake_ollama.url)))
    reply = reg.get().chat([{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}],
                           temperature=0.3)
    assert (reply.content, reply.model, reply.provider) == ("[llama3.2] hi", "llama3.2", "ollama")
    assert fake_ollama.calls("POST", "/api/chat")[0].body["options"] == {"temperature": 0.3}
    assert reg.available() == {"ollama/llama3.2": True, "ollama/qwen2": False}


def test_an_unreachable_provider_is_unavailable_not_a_crash() -> None:
    reg = AIRegistry(state(ollama(("llama3.2",), url=closed_port_url())))
    assert reg.available() == {"ollama/llama3.2": False}
    with pytest.raises(ProviderUnavailable, match="is not reachable"):
        reg.get().chat([{"role": "user", "content": "hi"}])


def test_from_project_without_config_is_empty(tmp_path: Path) -> None:
    assert AIRegistry.from_project(tmp_path).models() == []
