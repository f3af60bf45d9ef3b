"""Wire clients for Ollama's REST API and OpenAI-compatible chat APIs, over one ``httpx.Client`` each.

Both take the ``httpx.Client`` as an argument (one seam per external system): tests hand in a
client pointed at a local server that speaks the real wire format.

Ollama (https://github.com/ollama/ollama/blob/main/docs/api.md):

- ``GET /api/tags`` → ``{"models": [{"name": "llama3.2:latest", "model": ...}, ...]}``; a name
  without a tag means ``:latest``.
- ``POST /api/pull {"model": m, "stream": true}`` → NDJSON: ``{"status": "pulling manifest"}``,
  ``{"status": ..., "digest": ..., "total": n, "completed": k}`` per layer, ..., then
  ``{"status": "success"}``. A failure mid-stream arrives as ``{"error": "..."}`` *with HTTP 200*.
- ``POST /api/generate {"model": m, "keep_alive": 0}`` unloads the model;
  ``{"model": m}`` (no prompt) loads it.
- ``DELETE /api/delete {"model": m}`` deletes it (404 if it is not there).
- ``POST /api/chat {"model", "messages", "stream": false, "options"}`` →
  ``{"message": {"role": "assistant", "content": ...}, "done": true}``.

OpenAI-compatible: ``POST {base_url}/chat/completions`` with ``Authorization: Bearer <key>`` →
``{"choices": [{"message": {"role": "assistant", "content": ...}}]}``; ``GET {base_url}/models``
→ ``{"data": [{"id": ...}]}``. The key is read from its environment variable at request time and
never appears in a message (see :func:`farmbuild.runtime.errors.redact`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import ProviderError, ProviderUnavailable, redact
from .names import canonical_ollama_name

Message = Mapping[str, Any]


@dataclass(frozen=True)
class PullProgress:
    """One line of ``/api/pull``'s stream."""

    model: str
    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


# Ollama's pull errors that waiting cannot fix: no such model or tag, a model that needs a newer
# Ollama, no access. Anything else mid-stream ("max retries exceeded: unexpected EOF", a digest
# mismatch, a reset) is worth another try.
_PERMANENT_PULL = ("file does not exist", "not found", "invalid model name", "newer version", "unauthorized",
                   "permission denied", "412")


def permanent_pull_error(text: str) -> bool:
    low = text.lower()
    return any(p in low for p in _PERMANENT_PULL)


def _connect_error(provider: str, url: str, exc: httpx.TransportError) -> ProviderUnavailable:
    reason = {
        httpx.ConnectError: "connection refused or host not found",
        httpx.ConnectTimeout: "connection timed out",
    }.get(type(exc), type(exc).__name__)
    return ProviderUnavailable(provider, url, reason)


def _error_text(response: httpx.Response, secrets: Sequence[str | None] = ()) -> str:
    """Ollama's ``{"error": ...}``, OpenAI's ``{"error": {"message": ...}}``, or a short excerpt."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    text: str
    if isinstance(body, dict) and "error" in body:
        err = body["error"]
        text = str(err.get("message", err)) if isinstance(err, dict) else str(err)
    else:
        text = response.text.strip()[:300] or response.reason_phrase
    return redact(text, secrets)


class OllamaAPI:
    """Ollama's REST API at ``url`` (``http://127.0.0.1:11434``)."""

    def __init__(self, url: str, client: httpx.Client | None = None, *, name: str = "ollama",
                 timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self.timeout_s = timeout_s
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=5.0))

    def _request(self, method: str, path: str, *, json_body: Any = None, timeout: float | None = None,
                 ok_404: bool = False) -> httpx.Response | None:
        try:
            r = self._client.request(method, self.url + path, json=json_body,
                                     timeout=httpx.Timeout(timeout or self.timeout_s, connect=5.0))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _connect_error(self.name, self.url, exc) from None
        except httpx.TimeoutException:
            raise ProviderError(self.name, f"{method} {path} timed out after {timeout or self.timeout_s:g} s") from None
        except httpx.TransportError as exc:
            raise ProviderError(self.name, f"{method} {path} failed: {type(exc).__name__}") from None
        if ok_404 and r.status_code == 404:
            return None
        if r.status_code >= 400:
            raise ProviderError(self.name, f"{method} {path}: {_error_text(r)}", status=r.status_code)
        return r

    def tags(self, *, timeout: float | None = None) -> list[str]:
        """Names of the models Ollama has locally (canonical, with their tag)."""
        r = self._request("GET", "/api/tags", timeout=timeout)
        assert r is not None
        try:
            models = r.json().get("models") or []
            return sorted({canonical_ollama_name(str(m.get("name") or m.get("model"))) for m in models})
        except (ValueError, AttributeError, TypeError):
            raise ProviderError(self.name, "GET /api/tags: the answer is not Ollama's model list") from None

    def has(self, model: str) -> bool:
        return canonical_ollama_name(model) in self.tags()

    def pull(self, model: str, on_progress: Callable[[PullProgress], None] | None = None) -> None:
        """``POST /api/pull`` and read its NDJSON stream to ``success``; any error line raises."""
        path = "/api/pull"
        try:
            with self._client.stream("POST", self.url + path, json={"model": model, "stream": True},
                                     timeout=httpx.Timeout(max(self.timeout_s, 60.0), connect=5.0)) as r:
                if r.status_code != 200:
                    r.read()
                    raise ProviderError(self.name, f"pulling {model} failed: {_error_text(r)}", status=r.status_code)
                done = False
                for line in _lines(r.iter_lines()):
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        raise ProviderError(self.name, f"pulling {model}: unexpected line in the stream: {line[:120]!r}") from None
                    if not isinstance(obj, dict):
                        raise ProviderError(self.name, f"pulling {model}: unexpected line in the stream: {line[:120]!r}")
                    if "error" in obj:  # mid-stream, with HTTP 200: only the text says what it was
                        raise ProviderError(self.name, f"pulling {model} failed: {obj['error']}",
                                            permanent=permanent_pull_error(str(obj["error"])))
                    status = str(obj.get("status", ""))
                    if on_progress:
                        on_progress(PullProgress(model, status, obj.get("digest"), _int(obj.get("total")),
                                                 _int(obj.get("completed"))))
                    if status == "success":
                        done = True
                if not done:
                    raise ProviderError(self.name, f"pulling {model}: the stream ended before Ollama reported success")
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _connect_error(self.name, self.url, exc) from None
        except httpx.TimeoutException:
            raise ProviderError(self.name, f"pulling {model}: no progress for {max(self.timeout_s, 60.0):g} s") from None
        except httpx.TransportError as exc:
            raise ProviderError(self.name, f"pulling {model}: the connection broke mid-stream ({type(exc).__name__})") from None

    def unload(self, model: str) -> bool:
        """Free the model's memory (``keep_alive: 0``). False when Ollama does not have the model."""
        r = self._request("POST", "/api/generate", json_body={"model": model, "keep_alive": 0}, ok_404=True)
        return r is not None

    def load(self, model: str) -> None:
        """Load the model into memory now, so the first chat does not wait for it."""
        self._request("POST", "/api/generate", json_body={"model": model, "stream": False},
                      timeout=max(self.timeout_s, 120.0))

    def delete(self, model: str) -> bool:
        """Delete the model's files from Ollama. False when it was not there."""
        return self._request("DELETE", "/api/delete", json_body={"model": model}, ok_404=True) is not None

    def chat(self, model: str, messages: Sequence[Message], *, options: Mapping[str, Any] | None = None) -> str:
        body: dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages], "stream": False}
        if options:
            body["options"] = dict(options)
        r = self._request("POST", "/api/chat", json_body=body)
        assert r is not None
        try:
            return str(r.json()["message"]["content"])
        except (ValueError, KeyError, TypeError):
            raise ProviderError(self.name, "POST /api/chat: the answer has no message.content") from None

    def generate(self, model: str, prompt: str, *, options: Mapping[str, Any] | None = None) -> str:
        body: dict[str, Any] = {"model": model, "prompt": prompt, "stream": False}
        if options:
            body["options"] = dict(options)
        r = self._request("POST", "/api/generate", json_body=body)
        assert r is not None
        try:
            return str(r.json()["response"])
        except (ValueError, KeyError, TypeError):
            raise ProviderError(self.name, "POST /api/generate: the answer has no response") from None


class OpenAIAPI:
    """An OpenAI-compatible API at ``base_url`` (``https://api.openai.com/v1``, vLLM, LM Studio, ...)."""

    def __init__(self, base_url: str, client: httpx.Client | None = None, *, name: str = "openai",
                 api_key_env: str | None = None, timeout_s: float = 60.0) -> None:
        self.url = base_url.rstrip("/")
        self.name = name
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=5.0))

    def _key(self) -> str | None:
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise ProviderError(self.name, f"the environment variable {self.api_key_env} (api_key_env) is not set;"
                                " set it in the backend's environment")
        return key

    def _request(self, method: str, path: str, json_body: Any = None, timeout: float | None = None) -> Any:
        key = self._key()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            r = self._client.request(method, self.url + path, json=json_body, headers=headers,
                                     timeout=httpx.Timeout(timeout or self.timeout_s, connect=5.0))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _connect_error(self.name, self.url, exc) from None
        except httpx.TimeoutException:
            raise ProviderError(self.name, f"{method} {path} timed out after {timeout or self.timeout_s:g} s") from None
        except httpx.TransportError as exc:
            raise ProviderError(self.name, f"{method} {path} failed: {type(exc).__name__}") from None
        if r.status_code >= 400:
            raise ProviderError(self.name, f"{method} {path}: {_error_text(r, [key])}", status=r.status_code)
        try:
            return r.json()
        except ValueError:
            raise ProviderError(self.name, f"{method} {path}: the answer is not JSON") from None

    def chat(self, model: str, messages: Sequence[Message], *, options: Mapping[str, Any] | None = None) -> str:
        body: dict[str, Any] = {"model": model, "messages": [dict(m) for m in messages]}
        body.update(options or {})
        data = self._request("POST", "/chat/completions", body)
        try:
            return str(data["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError):
            raise ProviderError(self.name, "POST /chat/completions: the answer has no choices[0].message.content") from None

    def generate(self, model: str, prompt: str, *, options: Mapping[str, Any] | None = None) -> str:
        return self.chat(model, [{"role": "user", "content": prompt}], options=options)

    def models(self, *, timeout: float | None = None) -> list[str]:
        data = self._request("GET", "/models", timeout=timeout)
        try:
            return sorted(str(m["id"]) for m in data["data"])
        except (KeyError, TypeError):
            raise ProviderError(self.name, "GET /models: the answer is not a model list") from None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _lines(it: Iterator[str]) -> Iterator[str]:
    for line in it:
        line = line.strip()
        if line:
            yield line
