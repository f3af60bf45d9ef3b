"""The AI model registry of a running app, swapped in process.

A registry holds providers (:class:`ProviderSpec`: where a provider is, which models it serves,
its default) and hands out small chat clients::

    registry = AIRegistry.from_project(PROJECT_ROOT)        # farm.toml [ai.providers.*]
    reply = registry.get().chat([{"role": "user", "content": "Hi"}])  # the default model
    reply = registry.get("ollama/llama3.2").chat(...)

``farm build`` (the ``ai`` task) sends a changed ``[ai]`` section to the dev router, which calls
:meth:`AIRegistry.apply`: the difference (:func:`diff`, the same function the build uses for
its report) is applied with ``register_model``/``update_model``/``unload_model`` under one lock,
so a request sees either the old set or the new one. Requests already running finish on the
client they started with.

Nothing here holds a secret: a provider names the *environment variable* of its key, read at
request time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import AIError, ModelNotFound
from .names import canonical_ollama_name

if TYPE_CHECKING:
    import httpx

    from ..config import AISection
    from .providers import OllamaAPI, OpenAIAPI

ProviderType = Literal["ollama", "openai"]
STATE_FORMAT = 1
_PROVIDER_FIELDS = ("type", "url", "api_key_env", "timeout_s", "auto_pull")


@dataclass(frozen=True)
class ProviderSpec:
    """One provider, resolved: defaults applied, no secrets (only the key's env var name)."""

    name: str
    type: ProviderType
    url: str  # Ollama's address, or the OpenAI-compatible base URL
    models: tuple[str, ...] = ()
    default_model: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 60.0
    auto_pull: bool = True

    def canonical(self, model: str) -> str:
        return canonical_ollama_name(model) if self.type == "ollama" else model

    def find(self, model: str) -> str | None:
        """The configured spelling of ``model`` in this provider (``llama3.2`` finds ``llama3.2:latest``)."""
        want = self.canonical(model)
        return next((m for m in self.models if self.canonical(m) == want), None)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "url": self.url, "models": list(self.models), "default_model": self.default_model,
                "api_key_env": self.api_key_env, "timeout_s": self.timeout_s, "auto_pull": self.auto_pull}

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> "ProviderSpec":
        """From :meth:`to_json` output (e.g. the dev endpoint's body); ValueError when malformed."""
        if not isinstance(data, Mapping):
            raise ValueError(f"provider {name!r}: expected an object")
        unknown = set(data) - {"type", "url", "models", "default_model", "api_key_env", "timeout_s", "auto_pull"}
        if unknown:
            raise ValueError(f"provider {name!r}: unknown keys {sorted(unknown)}")
        typ = data.get("type")
        if typ not in ("ollama", "openai"):
            raise ValueError(f"provider {name!r}: type must be 'ollama' or 'openai'")
        url = data.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"provider {name!r}: url must be an http(s) URL")
        models = data.get("models") or []
        if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
            raise ValueError(f"provider {name!r}: models must be a list of names")
        default = data.get("default_model")
        if default is not None and default not in models:
            raise ValueError(f"provider {name!r}: default_model must be one of models")
        key_env = data.get("api_key_env")
        if key_env is not None and not (isinstance(key_env, str) and key_env.replace("_", "a").isalnum()):
            raise ValueError(f"provider {name!r}: api_key_env must name an environment variable")
        timeout = data.get("timeout_s", 60.0)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ValueError(f"provider {name!r}: timeout_s must be a positive number")
        return cls(name=name, type=typ, url=url.rstrip("/"), models=tuple(models), default_model=default,
                   api_key_env=key_env, timeout_s=float(timeout), auto_pull=bool(data.get("auto_pull", True)))


@dataclass(frozen=True)
class AIState:
    """A whole registry's configuration: providers in order, and which one answers by default."""

    providers: Mapping[str, ProviderSpec] = field(default_factory=dict)
    default_provider: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "default_provider": self.default_provider,
                "providers": {n: p.to_json() for n, p in self.providers.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "AIState":
        if not isinstance(data, Mapping):
            raise ValueError("expected an object")
        providers = data.get("providers") or {}
        if not isinstance(providers, Mapping):
            raise ValueError("providers must be an object")
        specs = {str(n): ProviderSpec.from_json(str(n), p) for n, p in providers.items()}
        default = data.get("default_provider")
        if default is not None and default not in specs:
            raise ValueError(f"default_provider {default!r} is not one of the providers")
        return cls(specs, default if default is not None else _first_default(specs))

    @classmethod
    def from_config(cls, ai: "AISection") -> "AIState":
        """From farm.toml's validated ``[ai]`` section (defaults resolved)."""
        from ..config import OLLAMA_DEFAULT_URL, OPENAI_DEFAULT_BASE_URL, OPENAI_DEFAULT_KEY_ENV

        specs: dict[str, ProviderSpec] = {}
        for name, p in ai.providers.items():
            typ = ai.provider_type(name)
            models = tuple(p.model_names)
            if typ == "ollama":
                url, key_env = p.url or OLLAMA_DEFAULT_URL, None
            else:
                url = p.base_url or OPENAI_DEFAULT_BASE_URL
                key_env = p.api_key_env or (OPENAI_DEFAULT_KEY_ENV if p.base_url is None else None)
            specs[name] = ProviderSpec(name=name, type=typ, url=url.rstrip("/"), models=models,  # type: ignore[arg-type]
                                       default_model=p.default_model or (models[0] if models else None),
                                       api_key_env=key_env, timeout_s=p.timeout_s, auto_pull=p.auto_pull)
        return cls(specs, ai.default_provider or _first_default(specs))

    def default(self) -> tuple[str, str] | None:
        p = self.providers.get(self.default_provider or "")
        return (p.name, p.default_model) if p and p.default_model else None


def _first_default(specs: Mapping[str, ProviderSpec]) -> str | None:
    return next((n for n, p in specs.items() if p.default_model), None)


ChangeKind = Literal["provider-added", "provider-updated", "provider-removed",
                     "model-added", "model-updated", "model-removed"]


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    provider: str
    model: str | None = None
    detail: str = ""  # which settings changed, for -updated

    def describe(self) -> str:
        verb = {"added": "add", "updated": "update", "removed": "remove"}[self.kind.split("-")[1]]
        what = f"model {self.provider}/{self.model}" if self.model else f"provider {self.provider}"
        return f"{verb} {what}" + (f" ({self.detail})" if self.detail else "")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "provider": self.provider, "model": self.model, "detail": self.detail}


def diff(old: AIState, new: AIState) -> list[Change]:
    """What turns ``old`` into ``new``: provider-added/-updated/-removed, model-added/-updated/-removed.

    Model names compare the way the provider does (Ollama: ``m`` == ``m:latest``). A model is
    *updated* when its provider's settings (url, key variable, timeout, ...) or its being the
    default changed.

    >>> a = AIState({"o": ProviderSpec("o", "ollama", "http://h", ("a",), "a")}, "o")
    >>> b = AIState({"o": ProviderSpec("o", "ollama", "http://h", ("a", "b"), "a")}, "o")
    >>> [c.describe() for c in diff(a, b)]
    ['add model o/b']
    """
    changes: list[Change] = []
    old_default, new_default = old.default(), new.default()
    for name in [*old.providers, *(n for n in new.providers if n not in old.providers)]:
        before, after = old.providers.get(name), new.providers.get(name)
        if before is None and after is not None:
            changes.append(Change("provider-added", name))
            changes.extend(Change("model-added", name, m) for m in after.models)
            continue
        if after is None and before is not None:
            changes.extend(Change("model-removed", name, m) for m in before.models)
            changes.append(Change("provider-removed", name))
            continue
        assert before is not None and after is not None
        fields = [f for f in _PROVIDER_FIELDS if getattr(before, f) != getattr(after, f)]
        if fields:
            changes.append(Change("provider-updated", name, None, ", ".join(fields)))
        # compare in the NEW provider's naming (a type change renames nothing we can know about)
        kept: set[str] = set()
        for m in before.models:
            now = after.find(m)
            if now is None:
                changes.append(Change("model-removed", name, m))
                continue
            kept.add(now)
            why = list(fields)
            if ((name, m) == old_default) != ((name, now) == new_default):
                why.append("default")
            if now != m:
                why.append(f"renamed to {now}")
            if why:
                changes.append(Change("model-updated", name, now, ", ".join(why)))
        changes.extend(Change("model-added", name, m) for m in after.models if m not in kept)
    return changes


@dataclass(frozen=True)
class ModelEntry:
    provider: str
    name: str
    default: bool = False

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "name": self.name, "default": self.default}


@dataclass(frozen=True)
class ChatReply:
    content: str
    model: str
    provider: str


class ChatClient:
    """Chat with one model of one provider; safe to use after the registry swapped (it keeps its spec)."""

    def __init__(self, spec: ProviderSpec, model: str, api: "OllamaAPI | OpenAIAPI") -> None:
        self.spec = spec
        self.provider = spec.name
        self.model = model
        self._api = api

    def chat(self, messages: Iterable[Any], *, temperature: float | None = None,
             options: Mapping[str, Any] | None = None) -> ChatReply:
        """``messages``: dicts or objects with ``role`` and ``content`` (e.g. pydantic models)."""
        msgs = [_message(m) for m in messages]
        opts = dict(options or {})
        if temperature is not None:
            opts["temperature"] = temperature
        content = self._api.chat(self.model, msgs, options=opts or None)
        return ChatReply(content, self.model, self.provider)

    def generate(self, prompt: str, *, options: Mapping[str, Any] | None = None) -> str:
        return self._api.generate(self.model, prompt, options=options)


def _message(m: Any) -> dict[str, Any]:
    if isinstance(m, Mapping):
        return {"role": str(m["role"]), "content": str(m["content"])}
    return {"role": str(m.role), "content": str(m.content)}


class AIRegistry:
    """Providers and models of a running app; thread-safe, swapped in process."""

    def __init__(self, state: AIState | None = None, *, transport: "httpx.BaseTransport | None" = None) -> None:
        self._lock = threading.RLock()
        self._providers: dict[str, ProviderSpec] = {}
        self._default_provider: str | None = None
        self._models: dict[tuple[str, str], ModelEntry] = {}
        self._apis: dict[str, tuple[ProviderSpec, Any]] = {}
        self._transport = transport
        self._availability: tuple[float, dict[str, bool]] | None = None
        self.generation = 0  # bumped by every change, for health checks and tests
        if state is not None:
            self.apply(state)

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_config(cls, ai: "AISection", **kwargs: Any) -> "AIRegistry":
        return cls(AIState.from_config(ai), **kwargs)

    @classmethod
    def from_project(cls, root: str | Path | None = None, **kwargs: Any) -> "AIRegistry":
        """From the project's farm.toml (or pyproject ``[tool.farm]``); an empty registry without one.

        ``root`` defaults to the nearest directory up from the working directory that has one.
        """
        from ..config import find_config_file, load_config

        base = Path(root) if root is not None else _find_root(Path.cwd())
        if base is None or find_config_file(base)[0] is None:
            return cls(AIState(), **kwargs)
        return cls.from_config(load_config(base).config.ai, **kwargs)

    # -- the swap API ---------------------------------------------------------------

    def set_provider(self, spec: ProviderSpec) -> None:
        """Add or replace a provider's settings (its models are registered separately)."""
        with self._lock:
            self._providers[spec.name] = spec
            self._apis.pop(spec.name, None)  # the next get() builds a client with the new settings
            self._touch()

    def remove_provider(self, name: str) -> bool:
        with self._lock:
            for key in [k for k in self._models if k[0] == name]:
                del self._models[key]
            self._apis.pop(name, None)
            if self._default_provider == name:
                self._default_provider = None
            found = self._providers.pop(name, None) is not None
            self._touch()
            return found

    def register_model(self, provider: str, model: str, *, default: bool = False) -> ModelEntry:
        with self._lock:
            spec = self._require(provider)
            if spec.find(model) is None:
                self._providers[provider] = replace(spec, models=(*spec.models, model))
            entry = ModelEntry(provider, model, default)
            if default:
                self._clear_default()
                self._default_provider = provider
                self._providers[provider] = replace(self._providers[provider], default_model=model)
            self._models[(provider, model)] = entry
            self._touch()
            return entry

    def update_model(self, provider: str, model: str, *, default: bool | None = None) -> ModelEntry:
        with self._lock:
            spec = self._require(provider)
            name = spec.find(model)
            if name is None or (provider, name) not in self._models:
                raise ModelNotFound(f"{provider}/{model}", [e.id for e in self._models.values()])
            entry = self._models[(provider, name)]
            if default is not None and default != entry.default:
                if default:
                    self._clear_default()
                    self._default_provider = provider
                    self._providers[provider] = replace(self._providers[provider], default_model=name)
                entry = replace(entry, default=default)
            self._models[(provider, name)] = entry
            self._touch()
            return entry

    def unload_model(self, provider: str, model: str) -> bool:
        """Drop a model from the registry (Ollama's memory is the build's job: ``keep_alive: 0``)."""
        with self._lock:
            spec = self._providers.get(provider)
            name = spec.find(model) if spec else None
            if spec is None or name is None:
                return False
            self._models.pop((provider, name), None)
            models = tuple(m for m in spec.models if m != name)
            self._providers[provider] = replace(spec, models=models,
                                                default_model=spec.default_model if spec.default_model in models else None)
            self._touch()
            return True

    def apply(self, new: AIState) -> list[Change]:
        """Swap to ``new`` in one step (readers see the old set or the new one); returns what changed."""
        with self._lock:
            changes = diff(self.state(), new)
            default = new.default()
            self._providers = dict(new.providers)
            self._default_provider = new.default_provider
            self._models = {(n, m): ModelEntry(n, m, (n, m) == default)
                            for n, p in new.providers.items() for m in p.models}
            for n in list(self._apis):
                if self._providers.get(n) != self._apis[n][0]:
                    del self._apis[n]  # settings changed: the next get() builds a new client
            self._touch()
            return changes

    # -- reading ----------------------------------------------------------------------

    def state(self) -> AIState:
        with self._lock:
            return AIState(dict(self._providers), self._default_provider)

    def models(self) -> list[ModelEntry]:
        with self._lock:
            order = {n: i for i, n in enumerate(self._providers)}
            return sorted(self._models.values(),
                          key=lambda e: (order.get(e.provider, 0), self._providers[e.provider].models.index(e.name)
                                         if e.name in self._providers[e.provider].models else 0))

    def default(self) -> ModelEntry | None:
        with self._lock:
            return next((e for e in self._models.values() if e.default), None)

    def get(self, model: str | None = None, provider: str | None = None) -> ChatClient:
        """A chat client for ``model`` (``"name"`` or ``"provider/name"``), or for the default model."""
        with self._lock:
            entry = self._resolve(model, provider)
            spec = self._providers[entry.provider]
            return ChatClient(spec, entry.name, self._api(spec))

    def available(self, *, timeout: float = 2.0, max_age_s: float = 5.0) -> dict[str, bool]:
        """``{"provider/model": present}``: asks each provider which models it has (cached briefly).

        A provider that cannot be reached makes its models unavailable; never raises.
        """
        now = time.monotonic()
        with self._lock:
            cached = self._availability
            if cached and now - cached[0] < max_age_s:
                return dict(cached[1])
            specs = list(self._providers.values())
            gen = self.generation
        out: dict[str, bool] = {}
        for spec in specs:
            try:
                api = self._api(spec)
                have = set(api.tags(timeout=timeout)) if spec.type == "ollama" else set(api.models(timeout=timeout))
            except AIError:
                have = set()
            for m in spec.models:
                out[f"{spec.name}/{m}"] = spec.canonical(m) in have
        with self._lock:
            if gen == self.generation:
                self._availability = (now, out)
        return dict(out)

    # -- internals --------------------------------------------------------------------

    def _touch(self) -> None:
        self.generation += 1
        self._availability = None

    def _require(self, provider: str) -> ProviderSpec:
        spec = self._providers.get(provider)
        if spec is None:
            raise AIError(f"provider {provider!r} is not registered (known: {', '.join(self._providers) or 'none'})")
        return spec

    def _clear_default(self) -> None:
        for key, entry in list(self._models.items()):
            if entry.default:
                self._models[key] = replace(entry, default=False)

    def _resolve(self, model: str | None, provider: str | None) -> ModelEntry:
        ids = [e.id for e in self._models.values()]
        if model is None:
            if provider is not None:
                spec = self._providers.get(provider)
                if spec is None or not spec.default_model:
                    raise ModelNotFound(None, ids, f"provider {provider!r} has no default model")
                return self._models[(provider, spec.default_model)]
            entry = next((e for e in self._models.values() if e.default), None)
            if entry is None:
                raise ModelNotFound(None, ids)
            return entry
        if provider is None and "/" in model:
            head, _, rest = model.partition("/")
            if head in self._providers and self._providers[head].find(rest):
                provider, model = head, rest
        matches = []
        for name, spec in self._providers.items():
            if provider is not None and name != provider:
                continue
            found = spec.find(model)
            if found is not None and (name, found) in self._models:
                matches.append(self._models[(name, found)])
        if not matches:
            raise ModelNotFound(model if provider is None else f"{provider}/{model}", ids)
        if len(matches) > 1:
            raise ModelNotFound(model, ids, "several providers serve it: ask for provider/model")
        return matches[0]

    def _api(self, spec: ProviderSpec) -> Any:
        with self._lock:
            cached = self._apis.get(spec.name)
            if cached and cached[0] == spec:
                return cached[1]
            import httpx

            from .providers import OllamaAPI, OpenAIAPI

            client = httpx.Client(timeout=httpx.Timeout(spec.timeout_s, connect=5.0), transport=self._transport)
            api: Any
            if spec.type == "ollama":
                api = OllamaAPI(spec.url, client, name=spec.name, timeout_s=spec.timeout_s)
            else:
                api = OpenAIAPI(spec.url, client, name=spec.name, api_key_env=spec.api_key_env,
                                timeout_s=spec.timeout_s)
            # A replaced client is left to the garbage collector: a request may still be using it.
            self._apis[spec.name] = (spec, api)
            return api


def _find_root(start: Path) -> Path | None:
    for d in [start.resolve(), *start.resolve().parents]:
        if (d / "farm.toml").is_file():
            return d
        pp = d / "pyproject.toml"
        if pp.is_file():
            try:
                if "[tool.farm" in pp.read_text("utf-8", errors="replace"):
                    return d
            except OSError:
                pass
    return None


def describe_changes(changes: Sequence[Change]) -> str:
    return ", ".join(c.describe() for c in changes) if changes else "no changes"
