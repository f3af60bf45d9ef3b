"""End to end: the example app under real uvicorn, a local server speaking Ollama's wire format, and
the real ``farm`` CLI. Models are swapped and plugins reloaded in the *same* backend process."""

from __future__ import annotations

import json
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from farmbuild.devtoken import HEADER, ensure_token
from tests.conftest import copy_example, farm_cli
from tests.fake_ollama import FakeOllama, PullPlan, fake_ollama  # noqa: F401
from tests.live import Uvicorn

pytestmark = pytest.mark.e2e


def set_toml(root: Path, *, ollama_url: str | None = None, backend_url: str | None = None,
             models: list[str] | None = None, extra: str = "") -> None:
    toml = root / "farm.toml"
    text = toml.read_text()
    if ollama_url:
        text = re.sub(r'url = "http://127.0.0.1:11434"', f'url = "{ollama_url}"', text)
    if backend_url:
        text = re.sub(r'backend_url = "[^"]*"', f'backend_url = "{backend_url}"', text)
    if models is not None:
        text = re.sub(r"models = \[[^\]]*\]", f"models = {json.dumps(models)}", text)
    toml.write_text(text + extra)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "farm-app", link_node_modules=False)


@pytest.fixture
def server(app: Path, fake_ollama: FakeOllama) -> Iterator[Uvicorn]:
    srv = Uvicorn(app)
    set_toml(app, ollama_url=fake_ollama.url, backend_url=srv.url)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def dev(server: Uvicorn, app: Path, path: str = "/__farm/health", **headers: str) -> httpx.Response:
    return httpx.get(server.url + path, headers={HEADER: ensure_token(app), **headers}, timeout=10)


def backend_pid(server: Uvicorn, app: Path) -> int:
    r = dev(server, app)
    assert r.status_code == 200, r.text
    return int(r.json()["pid"])


def models(server: Uvicorn) -> dict[str, dict]:
    r = httpx.get(server.url + "/api/assistant/models", timeout=10)
    assert r.status_code == 200, r.text
    return {f"{m['provider']}/{m['name']}": m for m in r.json()}


def farm_build(app: Path, *args: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return farm_cli("build", "-C", str(app), *args, env=env, timeout=300)


def test_models_are_pulled_swapped_and_unloaded_in_the_running_backend(app: Path, server: Uvicorn,
                                                                       fake_ollama: FakeOllama) -> None:
    pid = backend_pid(server, app)
    assert pid == server.proc.pid  # type: ignore[union-attr]
    assert models(server)["ollama/llama3.2"]["available"] is False  # configured, not pulled yet

    # first build: llama3.2 is pulled (with progress), and the backend is told
    fake_ollama.plans["llama3.2"] = PullPlan(layers=[2_019_377_376, 7_711], steps=5)
    res = farm_build(app)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ai: ollama/llama3.2: pulling from Ollama at" in res.stderr
    assert re.search(r"ai: ollama/llama3\.2: [0-9a-f]{12} 1\.9 GB/1\.9 GB \(100%\)", res.stderr), res.stderr
    assert f"ai: the backend (pid {pid}) swapped its models in process" in res.stderr
    assert fake_ollama.pulls() == ["llama3.2"]
    assert models(server)["ollama/llama3.2"]["available"] is True
    chat = httpx.post(server.url + "/api/assistant/chat", json={"messages": [{"role": "user", "content": "Kale?"}]},
                      timeout=30).json()
    assert (chat["model"], chat["provider"], chat["message"]["content"]) == ("llama3.2", "ollama", "[llama3.2] Kale?")

    # add a model: pulled with visible progress, listed by the running app, same process
    set_toml(app, models=["llama3.2", "qwen2.5:0.5b"])
    res = farm_build(app)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ai: ollama/qwen2.5:0.5b: pulling manifest" in res.stderr
    assert re.search(r"ai: ollama/qwen2\.5:0\.5b: [0-9a-f]{12} .* \(100%\)", res.stderr)
    assert "add model ollama/qwen2.5:0.5b" in res.stderr
    listed = models(server)
    assert set(listed) == {"ollama/llama3.2", "ollama/qwen2.5:0.5b"} and listed["ollama/qwen2.5:0.5b"]["available"]
    assert backend_pid(server, app) == pid
    answer = httpx.post(server.url + "/api/assistant/chat", timeout=30, json={
        "messages": [{"role": "user", "content": "hi"}], "model": "qwen2.5:0.5b"}).json()
    assert answer["model"] == "qwen2.5:0.5b" and answer["provider"] == "ollama"

    # remove it: unloaded from Ollama's memory (keep_alive: 0), dropped by the app, same process
    set_toml(app, models=["llama3.2"])
    res = farm_build(app)
    assert res.returncode == 0, res.stdout + res.stderr
    assert fake_ollama.unloads() == ["qwen2.5:0.5b"]
    assert "remove model ollama/qwen2.5:0.5b" in res.stderr
    assert set(models(server)) == {"ollama/llama3.2"}
    assert httpx.post(server.url + "/api/assistant/chat", timeout=30, json={
        "messages": [{"role": "user", "content": "hi"}], "model": "qwen2.5:0.5b"}).status_code == 404
    assert backend_pid(server, app) == pid

    # a pull that fails mid-stream (HTTP 200, then an error line): a clear failure, not applied, retried
    fake_ollama.plans["mistral"] = PullPlan(error_after=4, error="pull model manifest: file does not exist")
    set_toml(app, models=["llama3.2", "mistral"])
    res = farm_build(app)
    assert res.returncode == 1
    assert "FAILED ai: provider 'ollama': pulling mistral failed: pull model manifest: file does not exist" in res.stdout
    state = json.loads((app / ".farm" / "state" / "ai.json").read_text())
    assert state["desired"]["providers"]["ollama"]["models"] == ["llama3.2"]  # the last applied set
    assert "ollama/mistral" not in models(server)  # the backend was not told about a model Ollama lacks
    res = farm_build(app)
    assert res.returncode == 1 and fake_ollama.pulls().count("mistral") == 2  # the next build retried
    del fake_ollama.plans["mistral"]
    res = farm_build(app)
    assert res.returncode == 0, res.stdout + res.stderr
    assert models(server)["ollama/mistral"]["available"] is True
    assert backend_pid(server, app) == pid
    assert server.proc is not None and server.proc.poll() is None


def test_an_edited_plugin_router_answers_in_the_same_process(app: Path, server: Uvicorn) -> None:
    res = farm_build(app)
    assert res.returncode == 0, res.stdout + res.stderr
    pid = backend_pid(server, app)
    added = httpx.post(server.url + "/api/plugins/wishlist/ada", json={"product_id": "carrots"}, timeout=10)
    assert added.status_code == 201
    assert httpx.get(server.url + "/api/plugins/wishlist/ada/stats/count", timeout=10).status_code == 404

    router = app / "plugins" / "wishlist" / "backend" / "router.py"
    original = router.read_text()
    router.write_text(original + '''

@router.get("/{customer_id}/stats/count")
def count_wishlist(customer_id: str) -> int:
    """How many products the customer saved."""
    with _lock:
        return len(_wishlists.get(customer_id, {}))
''')
    res = farm_build(app)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"plugins-reload: wishlist reloaded in the backend (pid {pid})" in res.stderr
    assert "GET /api/plugins/wishlist/{customer_id}/stats/count" in res.stderr
    r = httpx.get(server.url + "/api/plugins/wishlist/ada/stats/count", timeout=10)
    assert r.status_code == 200 and r.json() == 0  # new code, fresh module state
    spec = httpx.get(server.url + "/openapi.json", timeout=10).json()
    assert "/api/plugins/wishlist/{customer_id}/stats/count" in spec["paths"]
    assert not any(p.startswith("/__farm") for p in spec["paths"])
    assert backend_pid(server, app) == pid

    # a broken save: the build fails with the plugin's file:line, the last good version keeps serving
    router.write_text(original + "\n\n@router.get('/oops'\ndef oops(:\n")
    res = farm_build(app)
    assert res.returncode == 1
    assert re.search(r"FAILED plugins-reload: plugin 'wishlist': plugins/wishlist/backend/router.py:\d+: SyntaxError",
                     res.stdout), res.stdout
    assert httpx.get(server.url + "/api/plugins/wishlist/ada/stats/count", timeout=10).status_code == 200
    router.write_text(original)
    res = farm_build(app)
    assert res.returncode == 0, res.stdout + res.stderr
    assert httpx.get(server.url + "/api/plugins/wishlist/ada/stats/count", timeout=10).status_code == 404
    assert "/api/plugins/wishlist/{customer_id}/stats/count" not in httpx.get(server.url + "/openapi.json").json()["paths"]
    assert backend_pid(server, app) == pid


def _non_loopback_ipv4() -> str | None:
    """An address of this machine that is not loopback (to call the server as a non-local client)."""
    candidates: set[str] = set()
    try:
        candidates.update(i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            candidates.add(s.getsockname()[0])
    except OSError:
        pass
    return next((c for c in sorted(candidates) if not c.startswith("127.") and c != "0.0.0.0"), None)


def test_the_dev_router_refuses_strangers(app: Path, tmp_path: Path) -> None:
    srv = Uvicorn(app, host="0.0.0.0")  # reachable through a non-loopback interface too, for the last check
    srv.start()
    try:
        token = ensure_token(app)
        url = srv.url + "/__farm/health"
        assert httpx.get(url, headers={HEADER: token}, timeout=10).status_code == 200
        no_token = httpx.get(url, timeout=10)
        assert no_token.status_code == 403 and "X-Farm-Token" in no_token.json()["detail"]
        assert httpx.get(url, headers={HEADER: "not-the-token"}, timeout=10).status_code == 403
        rebinding = httpx.get(url, headers={HEADER: token, "Host": "evil.example"}, timeout=10)
        assert rebinding.status_code == 403 and "Host header not allowed" in rebinding.json()["detail"]
        post = httpx.post(srv.url + "/__farm/ai/reload", headers={"Host": f"evil.example:{srv.port}"},
                          content=b"not even json", timeout=10)
        assert post.status_code == 403  # refused before the body is looked at
        ip = _non_loopback_ipv4()
        if ip is None:
            pytest.skip("no non-loopback interface here; the loopback check is covered in test_dev_guard.py")
        remote = httpx.get(f"http://{ip}:{srv.port}/__farm/health",
                           headers={HEADER: token, "Host": f"localhost:{srv.port}"}, timeout=10)
        assert remote.status_code == 403, remote.text
        assert remote.json()["detail"] == "the dev endpoints answer only loopback clients (127.0.0.1, ::1)"
        assert httpx.get(f"http://{ip}:{srv.port}/api/health", timeout=10).status_code == 200  # the app itself answers
    finally:
        srv.stop()


def test_an_api_key_never_leaves_the_environment(app: Path, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    canary = "sk-canary-" + secrets.token_hex(16)
    env = {"HARVEST_OPENAI_KEY": canary}
    fake_ollama.openai_key = canary
    srv = Uvicorn(app, env=env)
    set_toml(app, ollama_url=fake_ollama.url, backend_url=srv.url, extra=f"""
[ai.providers.cloud]
type = "openai"
base_url = "{fake_ollama.url}/v1"
api_key_env = "HARVEST_OPENAI_KEY"
models = ["gpt-test"]
""")
    srv.start()
    outputs: list[str] = []
    try:
        for args in (("-v",), ("-v", "--always"), ("--json",), ("--check",)):
            res = farm_build(app, *args, env=env)
            outputs += [res.stdout, res.stderr]
            assert res.returncode in (0, 1), res.stderr
        res = farm_cli("ai", "status", "-C", str(app), env=env)
        outputs += [res.stdout, res.stderr]
        chat = httpx.post(srv.url + "/api/assistant/chat", timeout=30, json={
            "messages": [{"role": "user", "content": "hello"}], "model": "cloud/gpt-test"})
        assert chat.json()["message"]["content"] == "[gpt-test] hello"  # the key reached the provider...
        assert fake_ollama.calls("POST", "/v1/chat/completions")[0].headers["authorization"] == f"Bearer {canary}"
        fake_ollama.openai_key = "a-rotated-key"  # ...and a rejected key (echoed by the provider) is redacted
        refused = httpx.post(srv.url + "/api/assistant/chat", timeout=30, json={
            "messages": [{"role": "user", "content": "hello"}], "model": "cloud/gpt-test"})
        outputs.append(refused.text)
        assert "Incorrect API key provided: [redacted]" in refused.json()["message"]["content"]
        outputs.append(httpx.get(srv.url + "/api/assistant/models", timeout=10).text)
        outputs.append(dev(srv, app).text)
    finally:
        srv.stop()
    outputs.append(srv.log())
    assert "could not answer" in srv.log()  # the refusal was logged...
    for text in outputs:
        assert canary not in text  # ...without the key
    scanned = 0
    for path in app.rglob("*"):
        if path.is_file():
            scanned += 1
            assert canary.encode() not in path.read_bytes(), path  # generated files, .farm state, .doit.db
    assert (app / ".doit.db").exists() and (app / ".farm" / "state" / "ai.json").exists()
    assert scanned > 50
