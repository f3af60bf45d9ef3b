"""Errors of the runtime half (subclasses of :class:`farmbuild.errors.FarmbuildError`).

::

    AIError                    a model could not answer
    ├── ModelNotFound          no such model in the registry (lists what there is)
    ├── ProviderUnavailable    the provider cannot be reached (connection refused, DNS, connect timeout)
    └── ProviderError          the provider answered with an error (HTTP status, an error line mid-stream)
    PluginLoadError            a plugin failed to import or mount (file:line when the plugin's code raised)

No message ever contains an API key: provider answers are passed through :func:`redact` with
the key before they become part of a message.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import FarmbuildError


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret replaced by ``[redacted]`` (some APIs echo the key they rejected)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


class AIError(FarmbuildError):
    pass


class ModelNotFound(AIError):
    def __init__(self, model: str | None, available: Iterable[str], hint: str | None = None) -> None:
        self.model = model
        self.available = sorted(available)
        known = ", ".join(self.available) if self.available else "none (configure [ai.providers.*] in farm.toml)"
        what = f"model {model!r} is not configured" if model else "no model is configured"
        super().__init__(f"{what}; available: {known}" + (f" ({hint})" if hint else ""))


class ProviderUnavailable(AIError):
    def __init__(self, provider: str, url: str, reason: str) -> None:
        self.provider = provider
        self.url = url
        self.reason = reason
        super().__init__(f"provider {provider!r} at {url} is not reachable ({reason})")


class ProviderError(AIError):
    """``status``: the HTTP status when the provider answered with one; ``permanent``: the provider
    said something no retry can change (a model that does not exist) although the status did not."""

    def __init__(self, provider: str, problem: str, *, status: int | None = None, permanent: bool = False) -> None:
        self.provider = provider
        self.problem = problem
        self.status = status
        self.permanent = permanent
        where = f"HTTP {status}: " if status is not None else ""
        super().__init__(f"provider {provider!r}: {where}{problem}")


class PluginLoadError(FarmbuildError):
    def __init__(self, plugin: str, problem: str, *, file: str | None = None, line: int | None = None) -> None:
        self.plugin = plugin
        self.problem = problem
        self.file = file
        self.line = line
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"plugin {plugin!r}: {where}{problem}")

    def to_dict(self) -> dict[str, object]:
        return {"plugin": self.plugin, "problem": self.problem, "file": self.file, "line": self.line,
                "message": str(self)}
