"""The recovery policy, pure: a fake clock, no servers, no sleeps."""

from __future__ import annotations

import errno

import httpx
import pytest

from farmbuild.devclient import BackendError, BackendUnavailable
from farmbuild.errors import ConfigError, MigrationError, SchemaError, UserCodeError
from farmbuild.recovery import Action, Key, Recovery, Settings, Verdict, classify, classify_status
from farmbuild.runtime.errors import PluginLoadError, ProviderError, ProviderUnavailable

VITE = Key("vite", "notify")
SWAP = Key("backend", "ai-swap")
PULL = Key("ollama:local", "pull")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, s: float) -> None:
        self.now += s


def policy(clock: FakeClock, *, servers: dict[str, str] | None = None, **kw: object) -> Recovery:
    settings = Settings(**{"max_retries": 3, "cooldown_s": 5.0, **kw})  # type: ignore[arg-type]
    return Recovery(settings, servers=servers, clock=clock)


@pytest.mark.parametrize("retries", [0, 1, 3, 5])
def test_transient_failures_retry_then_give_up(retries: int) -> None:
    clock = FakeClock()
    r = policy(clock, max_retries=retries)
    actions = []
    for _ in range(retries + 2):
        d = r.failed(PULL, Verdict.TRANSIENT, "HTTP 503")
        actions.append(d.action)
        if d.action is Action.RETRY:
            assert d.at == clock.now + 5.0 and d.delay_s == 5.0 and d.retries == retries
            assert d.attempt == len(actions)
            assert r.take_due() == []  # not before its time
            clock.advance(5.0)
            assert r.take_due() == [PULL]
            assert r.take_due() == []  # once
    assert actions == [Action.RETRY] * retries + [Action.GIVE_UP, Action.GIVE_UP]
    assert r.given_up(PULL)


def test_give_up_is_said_once_and_a_success_ends_the_episode() -> None:
    clock = FakeClock()
    r = policy(clock, max_retries=1)
    assert r.failed(SWAP, Verdict.TRANSIENT, "HTTP 503").action is Action.RETRY
    first = r.failed(SWAP, Verdict.TRANSIENT, "HTTP 503")
    again = r.failed(SWAP, Verdict.TRANSIENT, "HTTP 503")
    assert (first.action, first.repeat, first.loud) == (Action.GIVE_UP, False, True)
    assert (again.action, again.repeat, again.loud) == (Action.GIVE_UP, True, False)
    assert "gave up after 1 retry: HTTP 503; the next save tries again" in first.describe()
    rec = r.succeeded(SWAP)
    assert rec is not None and rec.action is Action.RECOVERED and rec.loud
    assert r.succeeded(SWAP) is None  # nothing to recover from any more
    # a fresh episode: the counters were reset by the success (the original design never reset them)
    assert r.failed(SWAP, Verdict.TRANSIENT, "HTTP 503").action is Action.RETRY


def test_sporadic_failures_never_add_up() -> None:
    clock = FakeClock()
    r = policy(clock, max_retries=1)
    for _ in range(10):
        assert r.failed(VITE, Verdict.TRANSIENT, "reset").action is Action.RETRY
        assert r.succeeded(VITE) is not None
        clock.advance(3600)


@pytest.mark.parametrize("verdict", [Verdict.DETERMINISTIC])
def test_deterministic_failures_fail_fast_and_cancel_a_pending_retry(verdict: Verdict) -> None:
    clock = FakeClock()
    r = policy(clock)
    assert r.failed(SWAP, Verdict.TRANSIENT, "HTTP 503").action is Action.RETRY
    d = r.failed(SWAP, verdict, "HTTP 422: invalid AI configuration")
    assert d.action is Action.FAIL_FAST and not d.loud
    clock.advance(60)
    assert r.take_due() == []
    assert r.failing() == {}


def test_unreachable_is_absent_until_the_component_answered_once() -> None:
    clock = FakeClock()
    r = policy(clock)
    d = r.failed(VITE, Verdict.UNREACHABLE, "connection refused")
    assert d.action is Action.ABSENT and not d.loud
    assert r.take_due(clock.now + 999) == []
    assert r.succeeded(VITE) is None  # first contact: nothing was failing
    assert r.expected("vite")
    d = r.failed(VITE, Verdict.UNREACHABLE, "connection refused")
    assert d.action is Action.RETRY  # it was there and went away: that is a failure


def test_a_supervised_component_is_expected_from_the_start() -> None:
    r = policy(FakeClock(), servers={"vite": "web"})
    assert r.failed(VITE, Verdict.UNREACHABLE, "connection refused").action is Action.RETRY
    assert r.failed(SWAP, Verdict.UNREACHABLE, "connection refused").action is Action.ABSENT


def test_fallback_once_then_give_up() -> None:
    clock = FakeClock()
    r = policy(clock, servers={"vite": "web"}, max_retries=2)
    seq = [r.failed(VITE, Verdict.TRANSIENT, "ReadTimeout") for _ in range(3)]
    r.server_ready("web")  # the restarted server is up: the next failure is the try that counts
    seq.append(r.failed(VITE, Verdict.TRANSIENT, "ReadTimeout"))
    assert [d.action for d in seq] == [Action.RETRY, Action.RETRY, Action.FALLBACK, Action.GIVE_UP]
    fb = seq[2]
    assert fb.restart == "web" and fb.loud
    assert fb.describe() == "still failing after 2 retries (ReadTimeout) \u2192 restarting the web server"
    assert seq[3].describe() == ("gave up after 2 retries and a restart of the web server: ReadTimeout;"
                                 " the next save tries again")


def test_after_a_fallback_the_retry_waits_for_the_restarted_server() -> None:
    clock = FakeClock()
    r = policy(clock, servers={"vite": "web", "backend": "api"}, max_retries=0)
    assert r.failed(VITE, Verdict.TRANSIENT, "HTTP 500").action is Action.FALLBACK
    assert r.restarting(VITE)
    # failures while it restarts (a follow-up build knocking) do not count
    for _ in range(5):
        d = r.failed(VITE, Verdict.UNREACHABLE, "connection refused")
        assert (d.action, d.loud, d.restart) == (Action.WAIT, False, "web")
    clock.advance(3600)
    assert r.take_due() == []  # not by time: by readiness
    assert r.server_ready("api") == []
    assert r.server_ready("web") == [VITE] and not r.restarting(VITE)
    assert r.take_due() == [VITE]
    assert r.failed(VITE, Verdict.TRANSIENT, "HTTP 500").action is Action.GIVE_UP  # the try after the restart


def test_cooling_is_until_the_retry_time() -> None:
    clock = FakeClock()
    r = policy(clock)
    assert not r.cooling(VITE)
    r.failed(VITE, Verdict.TRANSIENT, "x")
    assert r.cooling(VITE)
    clock.advance(5)
    assert not r.cooling(VITE) and r.take_due() == [VITE]


def test_a_server_back_up_gets_one_more_try_even_after_a_give_up() -> None:
    clock = FakeClock()
    r = policy(clock, servers={"backend": "api"}, max_retries=0, fallback_to_restart=False)
    assert r.failed(SWAP, Verdict.TRANSIENT, "HTTP 503").action is Action.GIVE_UP
    assert r.server_ready("api") == [SWAP] and r.take_due() == [SWAP]
    again = r.failed(SWAP, Verdict.TRANSIENT, "HTTP 503")
    assert again.action is Action.GIVE_UP and again.repeat and not again.loud
    assert r.server_ready("web") == []
    r.configure(Settings(enabled=False))
    assert r.server_ready("api") == []


@pytest.mark.parametrize("settings,expect", [
    ({"fallback_to_restart": False}, Action.GIVE_UP),
    ({"fallback_to_restart": True}, Action.FALLBACK),
])
def test_fallback_to_restart_is_honoured(settings: dict, expect: Action) -> None:
    r = policy(FakeClock(), servers={"backend": "api"}, max_retries=0, **settings)
    assert r.failed(SWAP, Verdict.TRANSIENT, "HTTP 502").action is expect


def test_an_operation_that_is_a_restart_has_no_fallback() -> None:
    r = policy(FakeClock(), servers={"api": "api"}, max_retries=0)
    d = r.failed(Key("api", "process"), Verdict.TRANSIENT, "exited with status 1", schedule=False,
                 can_fall_back=False)
    assert d.action is Action.GIVE_UP


def test_disabled_recovery_reports_once_and_never_retries() -> None:
    clock = FakeClock()
    r = policy(clock, servers={"vite": "web"}, enabled=False)
    first = r.failed(VITE, Verdict.TRANSIENT, "HTTP 503")
    again = r.failed(VITE, Verdict.TRANSIENT, "HTTP 503")
    assert (first.action, first.loud, again.loud) == (Action.REPORT, True, False)
    assert "error_recovery.enabled = false" in first.describe()
    clock.advance(3600)
    assert r.take_due() == []


def test_log_errors_false_silences_retries_not_fallbacks_or_give_ups() -> None:
    r = policy(FakeClock(), servers={"vite": "web"}, max_retries=1, log_errors=False)
    retry, fallback = (r.failed(VITE, Verdict.TRANSIENT, "x") for _ in range(2))
    r.server_ready("web")
    give_up = r.failed(VITE, Verdict.TRANSIENT, "x")
    assert (retry.action, retry.loud) == (Action.RETRY, False)
    assert (fallback.action, fallback.loud) == (Action.FALLBACK, True)
    assert (give_up.action, give_up.loud) == (Action.GIVE_UP, True)
    rec = r.succeeded(VITE)
    assert rec is not None and rec.loud  # it was said to have given up: say it is back


def test_keys_are_independent() -> None:
    clock = FakeClock()
    r = policy(clock, max_retries=1)
    r.failed(VITE, Verdict.TRANSIENT, "x")
    assert r.failed(VITE, Verdict.TRANSIENT, "x").action is Action.GIVE_UP
    assert r.failed(Key("vite", "other"), Verdict.TRANSIENT, "x").action is Action.RETRY
    assert r.failed(SWAP, Verdict.TRANSIENT, "x").action is Action.RETRY
    clock.advance(5)
    assert r.take_due() == sorted([Key("vite", "other"), SWAP])


def test_new_limits_apply_to_episodes_in_progress() -> None:
    clock = FakeClock()
    r = policy(clock, max_retries=5)
    r.failed(SWAP, Verdict.TRANSIENT, "x")
    r.configure(Settings(max_retries=1, cooldown_s=0.5))
    assert r.failed(SWAP, Verdict.TRANSIENT, "x").action is Action.GIVE_UP
    d = r.failed(PULL, Verdict.TRANSIENT, "x")
    assert d.delay_s == 0.5 and d.describe() == "x \u2192 retry 1/1 in 500 ms"


def test_next_due_is_the_earliest_retry() -> None:
    clock = FakeClock()
    r = policy(clock)
    assert r.next_due() is None
    r.failed(SWAP, Verdict.TRANSIENT, "x")
    clock.advance(2)
    r.failed(PULL, Verdict.TRANSIENT, "x")
    assert r.next_due() == 1005.0


def test_settings_from_config() -> None:
    from farmbuild.config import FarmConfig

    cfg = FarmConfig.model_validate({"development": {"hot_reload": {
        "performance": {"max_retries": 2, "cooldown_ms": 250},
        "error_recovery": {"enabled": True, "fallback_to_restart": False, "log_errors": False}}}})
    assert Settings.from_config(cfg.development.hot_reload) == Settings(
        enabled=True, max_retries=2, cooldown_s=0.25, fallback_to_restart=False, log_errors=False)


def _req() -> httpx.Request:
    return httpx.Request("POST", "http://127.0.0.1:5173/__farm/event")


def _mongo(name: str, *args: object, **kw: object) -> BaseException:
    import pymongo.errors

    return getattr(pymongo.errors, name)(*args, **kw)


@pytest.mark.parametrize("exc,verdict", [
    (httpx.ConnectError("refused", request=_req()), Verdict.UNREACHABLE),
    (httpx.ConnectTimeout("slow", request=_req()), Verdict.TRANSIENT),
    (httpx.ReadTimeout("slow", request=_req()), Verdict.TRANSIENT),
    (httpx.RemoteProtocolError("closed mid-answer", request=_req()), Verdict.TRANSIENT),
    (httpx.HTTPStatusError("x", request=_req(), response=httpx.Response(503)), Verdict.TRANSIENT),
    (httpx.HTTPStatusError("x", request=_req(), response=httpx.Response(404)), Verdict.DETERMINISTIC),
    (BackendUnavailable("http://127.0.0.1:8000", "down", "is not running"), Verdict.UNREACHABLE),
    (BackendUnavailable("http://127.0.0.1:8000", "rejected", "rejected the token"), Verdict.DETERMINISTIC),
    (BackendUnavailable("http://127.0.0.1:8000", "no-dev-router", "no router"), Verdict.DETERMINISTIC),
    (BackendError("did not answer in time"), Verdict.TRANSIENT),
    (BackendError("x", status=500), Verdict.TRANSIENT),
    (BackendError("x", status=422), Verdict.DETERMINISTIC),
    (ProviderUnavailable("local", "http://127.0.0.1:11434", "connection refused"), Verdict.UNREACHABLE),
    (ProviderError("local", "pulling x failed: unexpected EOF"), Verdict.TRANSIENT),
    (ProviderError("local", "no space left on device", status=500), Verdict.TRANSIENT),
    (ProviderError("local", "unauthorized", status=401), Verdict.DETERMINISTIC),
    (ProviderError("local", "pulling nope failed: pull model manifest: file does not exist", permanent=True),
     Verdict.DETERMINISTIC),
    (PluginLoadError("wishlist", "SyntaxError", file="plugins/wishlist/api.py", line=3), Verdict.DETERMINISTIC),
    (UserCodeError("SyntaxError: invalid syntax", file="apps/api/src/models/x.py", line=3), Verdict.DETERMINISTIC),
    (SchemaError("cannot build a schema"), Verdict.DETERMINISTIC),
    (ConfigError("farm.toml", "ai", "bad"), Verdict.DETERMINISTIC),
    (MigrationError("apps/api/migrations/0001_x.json", "bad operation"), Verdict.DETERMINISTIC),
    (OSError(errno.ECONNREFUSED, "refused"), Verdict.UNREACHABLE),
    (FileNotFoundError(errno.ENOENT, "no such file"), Verdict.DETERMINISTIC),
    (OSError(errno.ECONNRESET, "reset"), Verdict.TRANSIENT),
    (ValueError("a bug"), Verdict.DETERMINISTIC),
])
def test_classify(exc: BaseException, verdict: Verdict) -> None:
    assert classify(exc) is verdict


@pytest.mark.parametrize("exc,verdict", [
    (("ServerSelectionTimeoutError", "localhost:27017: [Errno 111] Connection refused"), Verdict.UNREACHABLE),
    (("ServerSelectionTimeoutError", "No replica set members match selector"), Verdict.TRANSIENT),
    (("AutoReconnect", "connection closed"), Verdict.TRANSIENT),
    (("NetworkTimeout", "timed out"), Verdict.TRANSIENT),
    (("OperationFailure", "E11000 duplicate key error"), Verdict.DETERMINISTIC),
    (("OperationFailure", "not primary"), Verdict.DETERMINISTIC),
])
def test_classify_pymongo(exc: tuple, verdict: Verdict) -> None:
    assert classify(_mongo(*exc)) is verdict


def test_classify_pymongo_codes() -> None:
    assert classify(_mongo("OperationFailure", "shutting down", code=91)) is Verdict.TRANSIENT
    assert classify(_mongo("OperationFailure", "unauthorized", code=13)) is Verdict.DETERMINISTIC


def test_the_raiser_can_say_better() -> None:
    exc = SchemaError("x")
    exc.verdict = Verdict.TRANSIENT  # type: ignore[attr-defined]
    assert classify(exc) is Verdict.TRANSIENT


@pytest.mark.parametrize("text,permanent", [
    ("pull model manifest: file does not exist", True),
    ("pull model manifest: 412: The model you are attempting to pull requires a newer version of Ollama.", True),
    ("max retries exceeded: unexpected EOF", False),
    ("digest mismatch, file must be downloaded again", False),
])
def test_ollama_pull_errors(text: str, permanent: bool) -> None:
    from farmbuild.runtime.providers import permanent_pull_error

    assert permanent_pull_error(text) is permanent


@pytest.mark.parametrize("status,verdict", [
    (400, Verdict.DETERMINISTIC), (401, Verdict.DETERMINISTIC), (403, Verdict.DETERMINISTIC),
    (404, Verdict.DETERMINISTIC), (408, Verdict.TRANSIENT), (409, Verdict.DETERMINISTIC),
    (422, Verdict.DETERMINISTIC), (425, Verdict.TRANSIENT), (429, Verdict.TRANSIENT),
    (500, Verdict.TRANSIENT), (501, Verdict.DETERMINISTIC), (502, Verdict.TRANSIENT),
    (503, Verdict.TRANSIENT), (504, Verdict.TRANSIENT), (505, Verdict.DETERMINISTIC), (507, Verdict.TRANSIENT),
])
def test_classify_status(status: int, verdict: Verdict) -> None:
    assert classify_status(status) is verdict
