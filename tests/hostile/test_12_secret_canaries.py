"""Item 12 — secrets never reach a file, a log line or an error message.

Property: with a MongoDB URL carrying a password and an API key in the environment (under the
variable names farm.toml gives), nothing farmbuild writes contains them — not any file of the
project after ``farm build``, ``farm watch``, ``farm db plan|apply|status`` and ``farm ai
status|delete`` (the doit DB, ``.farm/`` state, metrics, generated code, migrations
included), not stdout or stderr at ``-v``/``-vv`` or with ``--json``, not the events sent to
Vite's overlay. That includes the paths where a secret is *offered* to farmbuild: a URL that
does not parse, a database that refuses the connection, user code whose import error quotes
the secret (as pydantic-settings does with ``input_value=...``) and a model whose default is
the secret (the build must refuse to bake it into generated files, naming the variable).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import farm_cli, write_tree
from tests.fake_ollama import FakeOllama, closed_port_url

pytestmark = pytest.mark.e2e  # ~25 s: a dozen real command lines

PASSWORD = "Canary-PW-7f3b9e/x"  # with a character that must be %-escaped in the URL
KEY = "sk-canary-KEY-41d8cd98f00b204e"
PORT = closed_port_url().rsplit(":", 1)[1]
URL = f"mongodb://farmer:{quote(PASSWORD, safe='')}@127.0.0.1:{PORT}/shop?authSource=admin"
CANARIES = [PASSWORD, quote(PASSWORD, safe=""), quote(PASSWORD), "Canary-PW-7f3b9e", KEY, URL]

MODEL = """\
from pydantic import BaseModel


class Customer(BaseModel):
    name: str
    {extra}

    class Settings:
        name = "customers"
"""

SETTINGS_ERROR = """\
import os

# what pydantic-settings and many config loaders do: quote the bad input in the error
raise ValueError(f"1 validation error for Settings\\n  input_value={os.environ['FARM_SHOP_DB']!r},"
                 f" api_key={os.environ['SHOP_AI_KEY']!r}")
"""

SECRET_DEFAULT = """\
import os

from pydantic import BaseModel


class Provider(BaseModel):
    key: str = os.environ["SHOP_AI_KEY"]
"""


class ViteCapture:
    """Where farm watch sends its Vite events (the overlay shows their messages to the browser)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                capture.bodies.append(self.rfile.read(n))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[FakeOllama, ViteCapture]]:
    ollama = FakeOllama(["llama3.2"], openai_key=KEY).start()
    vite = ViteCapture()
    try:
        yield ollama, vite
    finally:
        ollama.stop()
        vite.close()


@pytest.fixture
def project(tmp_path: Path, servers: tuple[FakeOllama, ViteCapture]) -> Path:
    ollama, vite = servers
    root = tmp_path / "shop"
    write_tree(root, {
        "apps/api/src/__init__.py": "",
        "apps/api/src/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        "apps/api/src/models/__init__.py": "",
        "apps/api/src/models/customers.py": MODEL.replace("{extra}", "pass"),
        "apps/api/src/routes/__init__.py": "",
        "apps/web/src/.keep": "",
        "farm.toml": f"""\
            [database]
            url_env = "FARM_SHOP_DB"
            timeout_s = 0.5  # nothing listens there: fail fast

            [ai]
            default_provider = "ollama"

            [ai.providers.ollama]
            url = "{ollama.url}"
            models = ["llama3.2"]

            [ai.providers.cloud]
            type = "openai"
            base_url = "{ollama.url}/v1"
            api_key_env = "SHOP_AI_KEY"
            models = ["gpt-test"]

            [development.servers]
            frontend_url = "{vite.url}"
            backend_url = "{closed_port_url()}"
        """,
    })
    return root


ENV = {"FARM_SHOP_DB": URL, "SHOP_AI_KEY": KEY}


def leaks(text: str | bytes) -> list[str]:
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return [c for c in CANARIES if c.encode() in data]


def files_with_secrets(root: Path) -> dict[str, list[str]]:
    out = {}
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            found = leaks(p.read_bytes())
            if found:
                out[p.relative_to(root).as_posix()] = found
    return out


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    res = farm_cli(*args, "-C", str(root), env={**ENV, **(env or {})})
    out = res.stdout + res.stderr
    if not any(a.startswith("-v") for a in args):
        assert "Traceback" not in out, out  # tracebacks only with -v
    return res.returncode, out


def watch_session(root: Path, edits: list[tuple[Path, str]]) -> str:
    """``farm watch -vv --json``: the initial build, then each edit and its build; returns all output."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", **ENV)
    proc = subprocess.Popen([sys.executable, "-m", "farmbuild", "watch", "-vv", "--json", "-C", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: list[str] = []
    cv = threading.Condition()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with cv:
                lines.append(line)
                cv.notify_all()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def wait_for(pred, start: int) -> int:  # noqa: ANN001
        with cv:
            assert cv.wait_for(lambda: any(pred(x) for x in lines[start:]) or proc.poll() is not None, 90), lines
            assert proc.poll() is None, "".join(lines)
            return len(lines)

    def is_event(line: str, name: str, path: Path | None = None) -> bool:
        try:
            data = json.loads(line)
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("event") == name and (
            path is None or any(c["path"] == path.relative_to(root).as_posix() for c in data.get("changes", [])))

    try:
        mark = wait_for(lambda x: is_event(x, "ready"), 0)
        for path, text in edits:
            path.write_text(text)
            mark = wait_for(lambda x, path=path: is_event(x, "build", path), mark)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()
    return "".join(lines)


def test_no_secret_in_any_output_file_or_event(project: Path, servers: tuple[FakeOllama, ViteCapture]) -> None:
    _, vite = servers
    models = project / "apps/api/src/models"
    outputs: dict[str, str] = {}
    outputs["build -vv"] = run(project, "build", "-vv")[1]
    outputs["build --json"] = run(project, "build", "--json")[1]
    outputs["db plan -vv"] = run(project, "db", "plan", "-vv")[1]
    code, outputs["db apply -vv"] = run(project, "db", "apply", "-vv")
    assert code != 0  # nothing listens there: a clear failure
    assert "mongodb://***@127.0.0.1" in outputs["db apply -vv"]  # the URL is named, redacted
    outputs["db status --json"] = run(project, "db", "status", "--json")[1]
    outputs["ai status -vv"] = run(project, "ai", "status", "-vv")[1]
    outputs["ai delete -vv"] = run(project, "ai", "delete", "llama3.2", "--force", "-vv")[1]
    # watch: a good save, then user code whose import error quotes both secrets
    outputs["watch -vv --json"] = watch_session(project, [
        (models / "customers.py", MODEL.replace("{extra}", "email: str = ''")),
        (models / "settings.py", SETTINGS_ERROR),
    ])
    assert "settings.py" in outputs["watch -vv --json"]  # the failure is reported ...
    outputs["build -v (user error)"] = run(project, "build", "-v")[1]
    assert "apps/api/src/models/settings.py:4" in outputs["build -v (user error)"]  # ... with file:line
    for what, text in outputs.items():
        assert not leaks(text), f"`farm {what}` printed a secret: {leaks(text)}\n{text}"
    assert vite.bodies, "farm watch sent no event to the Vite overlay"
    for body in vite.bodies:
        assert not leaks(body), f"an event sent to Vite carries a secret: {body[:2000]!r}"
    assert files_with_secrets(project) == {}


MALFORMED = [
    f"mongodb://farmer:{PASSWORD}@127.0.0.1:{PORT}/shop",  # an unescaped '/' in the password
    f"mongodb://farmer:{quote(PASSWORD, safe='')}@127.0.0.1:notaport/shop",
    f"mongodb://farmer:{quote(PASSWORD, safe='')}@/shop",
    f"mongodb+srv://farmer:{quote(PASSWORD, safe='')}@cluster0.invalid/shop?retryWrites=true&w=majority",
    f"postgres://farmer:{quote(PASSWORD, safe='')}@127.0.0.1/shop",
]


def test_a_malformed_or_unreachable_url_is_reported_without_its_secret(project: Path) -> None:
    for url in MALFORMED:
        code, out = run(project, "db", "status", "-vv", env={"FARM_SHOP_DB": url})
        assert code != 0, out
        assert not leaks(out), f"{url}: {out}"
        assert "FARM_SHOP_DB" in out, out  # the message names the variable to fix
    code, out = run(project, "build", "-vv", env={"FARM_SHOP_DB": MALFORMED[1]})
    assert not leaks(out) and "FARM_SHOP_DB" in out, out
    assert files_with_secrets(project) == {}


def test_a_model_that_bakes_a_secret_into_its_defaults_is_refused(project: Path) -> None:
    models = project / "apps/api/src/models"
    (models / "provider.py").write_text(SECRET_DEFAULT)
    code, out = run(project, "build", "-v")
    assert code == 1
    assert "SHOP_AI_KEY" in out and "apps/api/src/models/provider.py" in out, out
    assert not leaks(out), out
    assert files_with_secrets(project) == {}
    # the fix (read the key where it is used, not in a model default) builds
    (models / "provider.py").write_text(SECRET_DEFAULT.replace('os.environ["SHOP_AI_KEY"]', '""'))
    code, out = run(project, "build", env={"FARM_SHOP_DB": ""})  # (no database to apply to here)
    assert code == 0, out
