"""Error recovery in ``farm watch``, with real components: a Vite stand-in that refuses and then
accepts, a real uvicorn serving farmbuild's dev router that goes down and comes back, a scripted
MongoDB on the wire protocol, a server speaking Ollama's API, supervised server processes.

The policy's clock is a :class:`FakeClock`: a cooldown passes when the test advances it, so every
assertion is about order and counts, never about wall-clock time.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from farmbuild.recovery import Action, Key, Recovery, Settings
from farmbuild.watch.loop import BuildEvent, RecoveryEvent
from farmbuild.watch.notify import Notifier
from farmbuild.watch.terminal import event_json, event_line

from .conftest import LoopHarness, failed_ids, model, ran_ids
from tests.fake_ollama import fake_ollama  # noqa: F401 - a fixture

from .standins import DevBackend, FakeClock, ScriptedHTTP, backend_standin, free_port

MODELS = "apps/api/src/models"
SHOP = f"{MODELS}/shop.py"
SHOP_TS = "apps/web/src/types/models/shop.ts"
EVENT = "/__farm/event"
AI_RELOAD = "/__farm/ai/reload"
COOLDOWN = 5.0


def recovery_events(h: LoopHarness, after: int = 0) -> list[RecoveryEvent]:
    with h._cv:
        return [e for e in h.events[after:] if isinstance(e, RecoveryEvent)]


def decisions(h: LoopHarness, after: int = 0, key: Key | None = None) -> list[tuple[Action, int]]:
    return [(e.decision.action, e.decision.attempt) for e in recovery_events(h, after)
            if key is None or e.decision.key == key]


def next_decision(h: LoopHarness, after: int, action: Action, key: Key | None = None) -> RecoveryEvent:
    return h.wait(lambda e: isinstance(e, RecoveryEvent) and e.decision.action is action
                  and (key is None or e.decision.key == key), after=after)


def last_lane(e: BuildEvent) -> bool:
    return e.lane == e.lanes - 1


def toml(**sections: str) -> str:
    return "\n".join(f"[{name}]\n{textwrap.dedent(body).strip()}\n" for name, body in sections.items())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy(clock: FakeClock) -> Callable[..., Recovery]:
    def make(**kw: Any) -> Recovery:
        return Recovery(Settings(**{"max_retries": 3, "cooldown_s": COOLDOWN, **kw}), clock=clock)

    return make


@pytest.fixture
def vite() -> Iterator[ScriptedHTTP]:
    s = ScriptedHTTP().start()
    yield s
    s.stop()


def vite_notifier(url: str) -> Notifier:
    return Notifier(httpx.Client(timeout=httpx.Timeout(5.0, connect=1.0), trust_env=False), frontend_url=url,
                    token="t0ken")


# -- Vite ---------------------------------------------------------------------------------------


def test_vite_refusing_twice_gets_the_event_on_the_third_try(make_project: Callable[..., Path], harness: Callable,
                                                             vite: ScriptedHTTP, clock: FakeClock, policy) -> None:
    root = make_project({SHOP: model("Shop")})
    h = harness(root, notifier=vite_notifier(vite.url), recovery=policy())
    seen = len(vite.got(EVENT))  # the initial build's events: Vite answered, farm knows it is there
    assert seen >= 1
    vite.script[EVENT] = [503, 503]

    mark = h.edit(root / SHOP, model("Shop", "x: int; label: str"))
    build = h.next_build(mark)
    assert SHOP_TS in build.written and build.notified == []
    retry = next_decision(h, mark, Action.RETRY)
    assert (retry.decision.key, retry.decision.attempt, retry.decision.delay_s) == (Key("vite", "notify"), 1, COOLDOWN)
    assert event_line(retry, str).endswith(f"vite notify: answered 503 to {vite.url}{EVENT} \u2192 retry 1/3 in 5 s")

    clock.advance(COOLDOWN)
    h.wait(lambda e: isinstance(e, RecoveryEvent) and e.decision.attempt == 2, after=mark)
    clock.advance(COOLDOWN)
    done = next_decision(h, mark, Action.RECOVERED)
    assert event_line(done, str).endswith("vite notify: recovered after 2 retries")
    assert decisions(h, mark) == [(Action.RETRY, 1), (Action.RETRY, 2), (Action.RECOVERED, 3)]

    posts = vite.got(EVENT)[seen:]
    # the follow-up lane of the same save did not knock again during the cooldown: it joined the backlog
    assert [p.status for p in posts] == [503, 503, 200]
    # the event that finally arrived says what the build that could not tell Vite did
    assert SHOP_TS in posts[-1].body["written"] and posts[-1].body["changed"] == [SHOP]
    assert {"schema", "types"} <= set(posts[-1].body["kinds"])
    # the build's own line came first: the retries did not hold it up
    assert h.events.index(build) < h.events.index(retry)
    assert h.loop.recovery.failing() == {}


def test_vite_down_then_back_on_its_port(make_project: Callable[..., Path], harness: Callable, vite: ScriptedHTTP,
                                          clock: FakeClock, policy) -> None:
    root = make_project({SHOP: model("Shop")})
    h = harness(root, notifier=vite_notifier(vite.url), recovery=policy())
    assert vite.got(EVENT)
    vite.stop()  # Vite restarting (a vite.config.ts edit): connections are refused for a while

    mark = h.edit(root / SHOP, model("Shop", "x: int; y: int"))
    retry = next_decision(h, mark, Action.RETRY)
    assert "not reachable at" in retry.decision.message and "ConnectError" in retry.decision.message

    back = ScriptedHTTP(vite.port).start()
    try:
        clock.advance(COOLDOWN)
        next_decision(h, mark, Action.RECOVERED)
        [post] = back.got(EVENT)
        assert SHOP_TS in post.body["written"]
    finally:
        back.stop()


def test_a_vite_that_never_answered_is_not_retried(make_project: Callable[..., Path], harness: Callable,
                                                   clock: FakeClock, policy, caplog: pytest.LogCaptureFixture) -> None:
    """Nobody listening since farm started is not a failure (no Vite running): one quiet line, no retries."""
    root = make_project({SHOP: model("Shop")})
    h = harness(root, notifier=vite_notifier(f"http://127.0.0.1:{free_port()}"), recovery=policy())
    mark = h.edit(root / SHOP, model("Shop", "x: int; y: int"))
    h.next_build(mark, last_lane)
    next_decision(h, mark, Action.ABSENT)  # (decisions follow their build's event)
    assert set(decisions(h)) == {(Action.ABSENT, 0)}  # the initial build's, the save's
    assert all(event_line(e, str) is None and event_json(e, str) is None for e in recovery_events(h))
    assert h.loop.recovery.next_due() is None and h.loop.recovery.failing() == {}


@pytest.mark.parametrize("status", [404, 403, 400])
def test_a_vite_answer_that_waiting_cannot_change_is_not_retried(status: int, make_project: Callable[..., Path],
                                                                 harness: Callable, vite: ScriptedHTTP,
                                                                 clock: FakeClock, policy) -> None:
    root = make_project({SHOP: model("Shop")})
    vite.script[EVENT] = [status] * 10
    h = harness(root, notifier=vite_notifier(vite.url), recovery=policy())
    mark = h.edit(root / SHOP, model("Shop", "x: int; y: int"))
    h.next_build(mark, last_lane)
    clock.advance(3600)
    mark2 = h.edit(root / SHOP, model("Shop", "x: int; y: int; z: int"))
    h.next_build(mark2, last_lane)
    # one try per build that had news, however much time passes: never a retry
    posts = vite.got(EVENT)
    assert {p.status for p in posts} == {status} and len(posts) >= 3
    h.wait(lambda e: len(decisions(h)) >= len(posts))  # (decisions follow their build's event)
    assert decisions(h) == [(Action.FAIL_FAST, 0)] * len(posts)
    assert not any(b.recovery for b in h.builds()) and h.loop.recovery.next_due() is None


def test_error_recovery_off_in_farm_toml_reports_once_and_never_retries(make_project: Callable[..., Path],
                                                                       harness: Callable, vite: ScriptedHTTP) -> None:
    root = make_project({SHOP: model("Shop")}, farm_toml=toml(**{
        "development.hot_reload.performance": "max_retries = 3\ncooldown_ms = 0",
        "development.hot_reload.error_recovery": "enabled = false"}))
    h = harness(root, notifier=vite_notifier(vite.url))  # the policy comes from farm.toml, on a real clock
    initial = len(vite.got(EVENT))
    vite.script[EVENT] = [503] * 10
    lines = []
    for fields in ("x: int; y: int", "x: int; y: int; z: int"):
        mark = h.edit(root / SHOP, model("Shop", fields))
        h.next_build(mark, last_lane)
        d = next_decision(h, mark, Action.REPORT)
        lines.append(event_line(d, str))
    assert lines[0] is not None and lines[0].endswith(
        f"vite notify: answered 503 to {vite.url}{EVENT} (not retried:"
        " development.hot_reload.error_recovery.enabled = false)")
    assert lines[1] is None  # said once
    assert not any(b.recovery for b in h.builds()) and h.loop.recovery.next_due() is None
    assert len(vite.got(EVENT)) == initial + 2  # one per save


# -- the backend: AI swaps ------------------------------------------------------------------------


def ai_toml(backend: str, models: list[str], *, retries: int = 3, cooldown_s: float = COOLDOWN) -> str:
    return toml(**{
        "ai.providers.cloud": f'type = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodels = {json.dumps(models)}',
        "development.servers": f'backend_url = "{backend}"',
        "development.hot_reload.performance": f"max_retries = {retries}\ncooldown_ms = {int(cooldown_s * 1000)}",
    })


def test_backend_down_then_up_gets_the_ai_swap_after_a_retry(make_project: Callable[..., Path], harness: Callable,
                                                             tmp_path: Path, clock: FakeClock, policy) -> None:
    root = make_project()
    backend = DevBackend(tmp_path / "devapp", root)
    (root / "farm.toml").write_text(ai_toml(backend.url, ["gpt-a"]))
    backend.start()
    try:
        h = harness(root, recovery=policy())
        assert [m["name"] for m in backend.health()["ai"]["models"]] == ["gpt-a"]  # swapped in by the initial build
        backend.stop()

        mark = h.edit(root / "farm.toml", ai_toml(backend.url, ["gpt-a", "gpt-b"]))
        build = h.next_build(mark, lambda e: "ai" in ran_ids(e))
        [eff] = [e for e in build.report.effects if e.key == Key("backend", "ai-swap")]
        assert not eff.ok and eff.task == "ai"
        retry = next_decision(h, mark, Action.RETRY)
        assert event_line(retry, str).endswith(
            f"backend ai-swap: the backend at {backend.url} is not running \u2192 retry 1/3 in 5 s")
        state = json.loads((root / ".farm/state/ai.json").read_text())
        assert state["pending"] == ["backend"]

        backend.start()  # a fresh process, an empty registry: only the retry can give it the models
        clock.advance(COOLDOWN)
        next_decision(h, mark, Action.RECOVERED, Key("backend", "ai-swap"))
        assert [m["name"] for m in backend.health()["ai"]["models"]] == ["gpt-a", "gpt-b"]
        assert json.loads((root / ".farm/state/ai.json").read_text())["pending"] == []
        # the retry was a build of the ai task alone, and it printed no line of its own
        retried = h.next_build(mark, lambda e: e.recovery)
        assert {r.id for r in retried.report.results} == {"ai"} and event_line(retried, str) is None
    finally:
        backend.stop()


def test_a_deterministic_backend_answer_is_tried_once(make_project: Callable[..., Path], harness: Callable,
                                                      clock: FakeClock, policy) -> None:
    backend = backend_standin().start()
    try:
        root = make_project(farm_toml=ai_toml(backend.url, ["gpt-a"]))
        h = harness(root, recovery=policy())
        backend.script[AI_RELOAD] = [422, 422, 422]
        mark = h.edit(root / "farm.toml", ai_toml(backend.url, ["gpt-a", "gpt-b"]))
        build = h.next_build(mark, lambda e: "ai" in failed_ids(e))
        err = next(r.error for r in build.report.results if r.id == "ai")
        assert err and "HTTP 422: scripted 422" in err
        clock.advance(3600)
        mark2 = h.edit(root / SHOP, model("Shop"))  # another save, that does not touch the AI config
        h.next_build(mark2)
        assert len(backend.got(AI_RELOAD)) == 2  # the initial build's swap, and one try of the failing one
        assert decisions(h, mark) == [(Action.FAIL_FAST, 0)]
        assert h.loop.recovery.next_due() is None
    finally:
        backend.stop()


def test_retries_of_one_component_do_not_delay_the_rest_of_the_build(make_project: Callable[..., Path],
                                                                     harness: Callable, clock: FakeClock,
                                                                     policy) -> None:
    backend = backend_standin().start()
    try:
        root = make_project({SHOP: model("Shop")}, farm_toml=ai_toml(backend.url, ["gpt-a"], cooldown_s=600.0))
        # one build for everything a save affects (no frontend-first lane), so "the same build" is literal
        h = harness(root, recovery=policy(), use_lanes=False)
        backend.script[AI_RELOAD] = [503] * 10
        # one save touches both the AI config and a model: one build runs both
        mark = h.mark()
        (root / "farm.toml").write_text(ai_toml(backend.url, ["gpt-a", "gpt-b"], cooldown_s=600.0))
        (root / SHOP).write_text(model("Shop", "x: int; added: str"))
        h.emit(root / "farm.toml", root / SHOP)
        build = h.next_build(mark, lambda e: "ai" in failed_ids(e))
        # the model's types were generated in the same build, while the AI swap waits for a retry
        # ten minutes away (fake time: the build cannot have waited for it)
        assert {"schema:shop", "types:shop"} <= ran_ids(build) and SHOP_TS in build.written
        assert "added: string" in (root / SHOP_TS).read_text()
        retry = next_decision(h, mark, Action.RETRY)
        assert retry.decision.delay_s == 600.0 and retry.task == "ai"
        assert h.events.index(build) < h.events.index(retry)
        assert len(backend.got(AI_RELOAD)) == 2  # the initial swap and the one failed try: no retry yet
        # the next save builds at once; the retry is still waiting for its time
        mark2 = h.edit(root / SHOP, model("Shop", "x: int; added: str; more: int"))
        assert SHOP_TS in h.next_build(mark2).written
        assert len(backend.got(AI_RELOAD)) == 2
        clock.advance(600.0)
        next_decision(h, mark, Action.RETRY, Key("backend", "ai-swap"))
        h.wait(lambda e: isinstance(e, RecoveryEvent) and e.decision.attempt == 2, after=mark2)
        assert len(backend.got(AI_RELOAD)) == 3
    finally:
        backend.stop()


def test_a_broken_model_is_not_retried(make_project: Callable[..., Path], harness: Callable, clock: FakeClock,
                                       policy) -> None:
    root = make_project({SHOP: model("Shop")})
    h = harness(root, recovery=policy())
    mark = h.edit(root / SHOP, "from pydantic import BaseModel\n\nclass Shop(BaseModel:\n    x: int\n")
    build = h.next_build(mark)
    assert "schema:shop" in failed_ids(build)
    clock.advance(3600)
    fixed = h.edit(root / SHOP, model("Shop", "x: int; y: int"))
    assert "schema:shop" in ran_ids(h.next_build(fixed))
    builds = h.builds(mark)
    tries = [b for b in builds if "schema:shop" in ran_ids(b) | failed_ids(b)]
    assert len(tries) == 2 and not any(b.recovery for b in builds)  # one try, then the next save
    assert decisions(h, mark) == [] and h.loop.recovery.failing() == {}


# -- Ollama -------------------------------------------------------------------------------------


def ollama_toml(url: str, models: list[str]) -> str:
    return toml(**{
        "ai.providers.ollama": f'url = "{url}"\nmodels = {json.dumps(models)}',
        "development.hot_reload.ai_models": "hot_swap = false",
    })


def test_a_pull_that_fails_on_the_server_is_retried(make_project: Callable[..., Path], harness: Callable,
                                                    clock: FakeClock, policy, fake_ollama) -> None:  # noqa: ANN001
    from tests.fake_ollama import PullPlan

    fake_ollama.plans["llama3.2"] = PullPlan(status=500, error="no space left on device")
    root = make_project(farm_toml=ollama_toml(fake_ollama.url, []))
    h = harness(root, recovery=policy())
    mark = h.edit(root / "farm.toml", ollama_toml(fake_ollama.url, ["llama3.2"]))
    retry = next_decision(h, mark, Action.RETRY, Key("ollama:ollama", "pull"))
    assert "no space left on device" in retry.decision.message
    del fake_ollama.plans["llama3.2"]
    clock.advance(COOLDOWN)
    next_decision(h, mark, Action.RECOVERED, Key("ollama:ollama", "pull"))
    assert fake_ollama.pulls() == ["llama3.2", "llama3.2"]
    assert json.loads((root / ".farm/state/ai.json").read_text())["components"]["ollama:ollama"]["models"] == ["llama3.2"]


def test_a_model_ollama_does_not_have_is_pulled_once(make_project: Callable[..., Path], harness: Callable,
                                                     clock: FakeClock, policy, fake_ollama) -> None:  # noqa: ANN001
    from tests.fake_ollama import PullPlan

    fake_ollama.plans["nosuchmodel"] = PullPlan(error_after=1, error="pull model manifest: file does not exist")
    root = make_project(farm_toml=ollama_toml(fake_ollama.url, []))
    h = harness(root, recovery=policy())
    mark = h.edit(root / "farm.toml", ollama_toml(fake_ollama.url, ["nosuchmodel"]))
    build = h.next_build(mark, lambda e: "ai" in failed_ids(e))
    assert "file does not exist" in (next(r.error for r in build.report.results if r.id == "ai") or "")
    clock.advance(3600)
    h.edit(root / SHOP, model("Shop"))
    h.next_build(mark, lambda e: "schema:shop" in ran_ids(e))
    assert fake_ollama.pulls() == ["nosuchmodel"]
    assert decisions(h, mark, Key("ollama:ollama", "pull")) == [(Action.FAIL_FAST, 0)]


# -- MongoDB --------------------------------------------------------------------------------------


DOC_MODEL = """\
from pydantic import BaseModel


class Product(BaseModel):
    name: str
{extra}
    class Settings:
        name = "products"
"""


def test_migrations_are_applied_when_mongodb_comes_back(make_project: Callable[..., Path], harness: Callable,
                                                        clock: FakeClock, policy,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.farmbuild.db.wire import WireMongo

    wire = WireMongo().start()
    port = wire.port
    monkeypatch.setenv("MONGODB_URL", f"mongodb://127.0.0.1:{port}/shop")
    root = make_project({SHOP: DOC_MODEL.format(extra="")}, farm_toml=toml(database="timeout_s = 1.0"))
    back = None
    try:
        h = harness(root, recovery=policy())
        assert [d["_id"] for d in wire.ledger["shop"]] == ["0001_products_initial"]  # applied: MongoDB was there
        wire.stop()

        mark = h.edit(root / SHOP, DOC_MODEL.format(extra="    stock: int = 0\n"))
        retry = next_decision(h, mark, Action.RETRY, Key("mongodb", "apply"))
        assert retry.task == "db-apply" and "cannot reach MongoDB at mongodb://127.0.0.1:" in retry.decision.message
        assert "db-apply" in failed_ids(h.next_build(mark, lambda e: "db-apply" in failed_ids(e)))

        back = WireMongo.on_port(port).start()
        clock.advance(COOLDOWN)
        next_decision(h, mark, Action.RECOVERED, Key("mongodb", "apply"))
        # a fresh server with an empty ledger: both migrations, in order (they are idempotent)
        assert [d["_id"] for d in back.ledger["shop"]] == ["0001_products_initial", "0002_products_add_stock"]
    finally:
        wire.stop()
        if back is not None:
            back.stop()


# -- supervised servers: the fallback -------------------------------------------------------------

VITE_SCRIPT = """\
import http.server, json, pathlib, sys

incarnation = int(pathlib.Path("starts").read_text()) + 1 if pathlib.Path("starts").exists() else 1
pathlib.Path("starts").write_text(str(incarnation))
broken = incarnation in {broken}


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open("events.jsonl", "a") as fh:
            fh.write(json.dumps({{"incarnation": incarnation, "broken": broken, "event": json.loads(body)}}) + "\\n")
        status = 503 if broken else 200
        self.send_response(status); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{{}}")

    def log_message(self, *a):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


@pytest.fixture
def supervised_vite(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    from farmbuild.watch.servers import ServerGroup, ServerSpec

    groups: list[ServerGroup] = []

    def make(broken: set[int], recovery: Recovery) -> tuple[ServerGroup, Path, str]:
        d = tmp_path / "vite"
        d.mkdir()
        (d / "vite.py").write_text(VITE_SCRIPT.format(broken=sorted(broken)))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        lines: list[str] = []
        group = ServerGroup([ServerSpec("web", [__import__("sys").executable, "vite.py", str(port)], d, url)],
                            out=lambda name, text: lines.append(text), recovery=recovery)
        group.lines = lines  # type: ignore[attr-defined]
        recovery.supervise("vite", "web")
        groups.append(group)
        return group, d, url

    yield make
    for g in groups:
        g.stop()


def events_of(d: Path) -> list[dict[str, Any]]:
    path = d / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_vite_that_keeps_failing_is_restarted_then_gets_the_event(make_project: Callable[..., Path],
                                                                    harness: Callable, supervised_vite: Callable,
                                                                    clock: FakeClock, policy) -> None:
    recovery = policy(max_retries=1)
    group, d, url = supervised_vite({1}, recovery)  # the first process answers 503 to everything farm posts
    root = make_project({SHOP: model("Shop")})
    h = harness(root, notifier=vite_notifier(url), recovery=recovery, restart=group.restart, start=False)
    group.servers[0].on_ready = lambda s: h.loop.server_ready(s.spec.name)
    group.start(root)
    assert group["web"].ready.wait(60)
    h.start()

    next_decision(h, 0, Action.RETRY)  # the initial build's event got a 503
    clock.advance(COOLDOWN)
    fallback = next_decision(h, 0, Action.FALLBACK)
    assert event_line(fallback, str).endswith(
        f"vite notify: still failing after 1 retry (answered 503 to {url}{EVENT}) \u2192 restarting the web server")
    # no clock needed from here: the restarted server's readiness is what the retry waits for
    done = next_decision(h, 0, Action.RECOVERED)
    assert event_line(done, str).endswith("vite notify: recovered after 2 retries")
    assert group["web"].starts == 2
    got = events_of(d)
    assert [(e["incarnation"], e["broken"]) for e in got] == [(1, True), (1, True), (2, False)]
    assert SHOP_TS in got[-1]["event"]["written"]  # what the broken one never took in, the new one got
    assert "restarting: Vite kept failing farm's notifications" in group.lines


def test_a_vite_still_failing_after_the_restart_is_given_up_clearly(make_project: Callable[..., Path],
                                                                    harness: Callable, supervised_vite: Callable,
                                                                    clock: FakeClock, policy) -> None:
    recovery = policy(max_retries=1)
    group, d, url = supervised_vite({1, 2, 3}, recovery)
    root = make_project({SHOP: model("Shop")})
    h = harness(root, notifier=vite_notifier(url), recovery=recovery, restart=group.restart, start=False)
    group.servers[0].on_ready = lambda s: h.loop.server_ready(s.spec.name)
    group.start(root)
    assert group["web"].ready.wait(60)
    h.start()

    next_decision(h, 0, Action.RETRY)
    clock.advance(COOLDOWN)
    next_decision(h, 0, Action.FALLBACK)
    gave_up = next_decision(h, 0, Action.GIVE_UP)
    assert event_line(gave_up, str).endswith(
        f"vite notify: gave up after 1 retry and a restart of the web server: answered 503 to {url}{EVENT};"
        " the next save tries again")
    assert decisions(h) == [(Action.RETRY, 1), (Action.FALLBACK, 2), (Action.GIVE_UP, 3)]
    assert recovery.next_due() is None
    clock.advance(3600)
    # the next save makes one more try, quietly (said already)
    mark = h.edit(root / SHOP, model("Shop", "x: int; y: int"))
    h.next_build(mark, last_lane)
    again = next_decision(h, mark, Action.GIVE_UP)
    assert again.decision.repeat and not again.decision.loud and event_line(again, str) is None
    assert decisions(h, mark) == [(Action.GIVE_UP, 3)]
    assert [e["incarnation"] for e in events_of(d)] == [1, 1, 2, 2]
    assert group["web"].starts == 2  # one fallback restart per episode, not one per failure


# -- metrics --------------------------------------------------------------------------------------


def test_failures_and_recoveries_show_in_the_metrics(make_project: Callable[..., Path], harness: Callable,
                                                     vite: ScriptedHTTP, clock: FakeClock, policy) -> None:
    root = make_project({SHOP: model("Shop")})
    h = harness(root, notifier=vite_notifier(vite.url), recovery=policy())
    seen = len(vite.got(EVENT))
    vite.script[EVENT] = [503]
    mark = h.edit(root / SHOP, model("Shop", "x: int; y: int"))
    next_decision(h, mark, Action.RETRY)
    clock.advance(COOLDOWN)
    next_decision(h, mark, Action.RECOVERED)
    report = h.session.monitor.report()
    assert report["by_kind"]["vite notify"]["total"] == seen + 2
    assert report["by_kind"]["vite notify"]["failed"] == 1
