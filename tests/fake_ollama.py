"""A local HTTP server that speaks Ollama's real wire format (and an OpenAI-compatible chat API).

Ollama itself cannot be installed here, so tests start this on 127.0.0.1 and a free port. It
answers what farmbuild uses, byte-compatible with https://github.com/ollama/ollama/blob/main/docs/api.md:

- ``GET /api/tags``: ``{"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest", ...}]}``
- ``POST /api/pull``: NDJSON with HTTP 200 (``pulling manifest``, per layer ``{"status", "digest",
  "total", "completed"}``, ``verifying sha256 digest``, ``writing manifest``, ``success``); a
  :class:`PullPlan` can end it with ``{"error": ...}`` mid-stream (still HTTP 200, as Ollama
  does), cut it before ``success``, or answer a non-200 status;
- ``POST /api/generate``: ``keep_alive: 0`` unloads (404 ``{"error": "model 'x' not found"}`` for
  an unknown model), no prompt loads, a prompt answers;
- ``POST /api/chat`` (``stream: false``), ``DELETE /api/delete``;
- ``POST /v1/chat/completions`` and ``GET /v1/models`` with ``Authorization: Bearer <key>``; a
  wrong key gets 401 with the key echoed in the message, as OpenAI's own error does.

Every request is recorded (``server.requests``) so tests can assert what was called.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


def canonical(name: str) -> str:
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


@dataclass
class PullPlan:
    """How ``/api/pull`` answers for one model."""

    layers: list[int] = field(default_factory=lambda: [4_000_000, 1_200])  # layer sizes in bytes
    steps: int = 4  # progress lines per layer
    error_after: int | None = None  # emit {"error": ...} after this many lines
    error: str = "pull model manifest: file does not exist"
    cut_after: int | None = None  # close the stream after this many lines, without success
    status: int = 200  # a non-200 answer instead of a stream


@dataclass
class Call:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


class FakeOllama:
    def __init__(self, models: list[str] | None = None, *, openai_key: str | None = None, port: int = 0) -> None:
        self._port = port
        self.models: set[str] = {canonical(m) for m in models or []}
        self.loaded: set[str] = set()
        self.plans: dict[str, PullPlan] = {}
        self.requests: list[Call] = []
        self.openai_key = openai_key
        self.openai_models = ["gpt-test"]
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> "FakeOllama":
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler(self))
        self._port = int(self._server.server_address[1])  # a restart comes back on the same port
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-ollama", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- inspection -------------------------------------------------------------------

    def calls(self, method: str | None = None, path: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.requests if (method is None or c.method == method)
                    and (path is None or c.path == path)]

    def pulls(self) -> list[str]:
        return [c.body["model"] for c in self.calls("POST", "/api/pull")]

    def unloads(self) -> list[str]:
        return [c.body["model"] for c in self.calls("POST", "/api/generate") if c.body.get("keep_alive") == 0]

    def record(self, call: Call) -> None:
        with self._lock:
            self.requests.append(call)


def _digest(model: str, i: int) -> str:
    return "sha256:" + hashlib.sha256(f"{model}/{i}".encode()).hexdigest()


def _handler(fake: FakeOllama) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the connection closes after each answer: streams end at EOF

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

        def _body(self) -> Any:
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                return json.loads(raw) if raw else {}
            except ValueError:
                return {"_raw": raw.decode("utf-8", "replace")}

        def _json(self, status: int, data: Any) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _record(self, body: Any) -> None:
            fake.record(Call(self.command, self.path, body, {k.lower(): v for k, v in self.headers.items()}))

        def do_GET(self) -> None:  # noqa: N802
            self._record(None)
            if self.path == "/api/tags":
                with fake._lock:
                    names = sorted(fake.models)
                self._json(200, {"models": [
                    {"name": n, "model": n, "modified_at": "2024-12-07T09:32:18.757212583-08:00", "size": 3825819519,
                     "digest": hashlib.sha256(n.encode()).hexdigest(),
                     "details": {"format": "gguf", "family": "llama", "families": None, "parameter_size": "3B",
                                 "quantization_level": "Q4_K_M"}} for n in names]})
            elif self.path == "/api/version":
                self._json(200, {"version": "0.5.7"})
            elif self.path == "/v1/models":
                if not self._authorized():
                    return
                self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in fake.openai_models]})
            else:
                self._json(404, {"error": "not found"})

        def do_DELETE(self) -> None:  # noqa: N802
            body = self._body()
            self._record(body)
            if self.path != "/api/delete":
                return self._json(404, {"error": "not found"})
            name = canonical(str(body.get("model", "")))
            with fake._lock:
                if name not in fake.models:
                    return self._json(404, {"error": f"model '{body.get('model')}' not found"})
                fake.models.discard(name)
                fake.loaded.discard(name)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802
            body = self._body()
            self._record(body)
            if self.path == "/api/pull":
                self._pull(str(body.get("model", "")))
            elif self.path == "/api/generate":
                self._generate(body)
            elif self.path == "/api/chat":
                name = canonical(str(body.get("model", "")))
                if name not in fake.models:
                    return self._json(404, {"error": f"model '{body.get('model')}' not found, try pulling it first"})
                last = next((m["content"] for m in reversed(body.get("messages") or []) if m.get("role") == "user"), "")
                self._json(200, {"model": body["model"], "created_at": "2023-12-12T14:13:43.416799Z",
                                 "message": {"role": "assistant", "content": f"[{body['model']}] {last}"},
                                 "done": True, "total_duration": 5191566416, "eval_count": 7})
            elif self.path == "/v1/chat/completions":
                if not self._authorized():
                    return
                last = next((m["content"] for m in reversed(body.get("messages") or []) if m.get("role") == "user"), "")
                self._json(200, {"id": "chatcmpl-1", "object": "chat.completion", "model": body.get("model"),
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": f"[{body.get('model')}] {last}"}}]})
            else:
                self._json(404, {"error": "not found"})

        def _authorized(self) -> bool:
            got = self.headers.get("Authorization", "")
            if fake.openai_key is not None and got == f"Bearer {fake.openai_key}":
                return True
            presented = got.removeprefix("Bearer ")
            # OpenAI echoes (part of) the rejected key; echo all of it, to prove farmbuild redacts it
            self._json(401, {"error": {"message": f"Incorrect API key provided: {presented}.", "type": "invalid_request_error",
                                       "code": "invalid_api_key"}})
            return False

        def _generate(self, body: dict[str, Any]) -> None:
            model = str(body.get("model", ""))
            name = canonical(model)
            with fake._lock:
                known = name in fake.models
            if not known:
                return self._json(404, {"error": f"model '{model}' not found"})
            base = {"model": model, "created_at": "2024-09-12T03:54:03.516566Z", "response": "", "done": True}
            if body.get("keep_alive") == 0 and not body.get("prompt"):
                with fake._lock:
                    fake.loaded.discard(name)
                return self._json(200, {**base, "done_reason": "unload"})
            with fake._lock:
                fake.loaded.add(name)
            if not body.get("prompt"):
                return self._json(200, {**base, "done_reason": "load"})
            return self._json(200, {**base, "response": f"[{model}] {body['prompt']}", "done_reason": "stop"})

        def _pull(self, model: str) -> None:
            plan = fake.plans.get(model) or fake.plans.get(canonical(model)) or PullPlan()
            if plan.status != 200:
                return self._json(plan.status, {"error": plan.error})
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
            for i, size in enumerate(plan.layers):
                digest = _digest(model, i)
                lines.append({"status": f"pulling {digest[7:19]}", "digest": digest, "total": size})
                for k in range(1, plan.steps + 1):
                    lines.append({"status": f"pulling {digest[7:19]}", "digest": digest, "total": size,
                                  "completed": size * k // plan.steps})
            lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
            for n, line in enumerate(lines):
                if plan.error_after is not None and n == plan.error_after:
                    self._write_line({"error": plan.error})
                    return
                if plan.cut_after is not None and n == plan.cut_after:
                    return
                self._write_line(line)
            with fake._lock:
                fake.models.add(canonical(model))

        def _write_line(self, obj: dict[str, Any]) -> None:
            self.wfile.write(json.dumps(obj).encode() + b"\n")
            self.wfile.flush()

    return Handler


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    server = FakeOllama().start()
    try:
        yield server
    finally:
        server.stop()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
