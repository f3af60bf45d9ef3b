"""Error recovery for side effects: retry what may work on a second try, fall back to restarting a
supervised server, give up clearly — and never retry what will fail the same way again.

This is the original design's ``HotReloadErrorRecovery``, done right. What that sketch got wrong,
and what this module does instead:

- it slept out the cooldown *inside* the error handler, so every reload behind it waited; here a
  failure is *scheduled* for a retry at T and the build moves on (``farm watch`` runs the retry when
  T comes and nothing else is waiting; a one-shot ``farm build`` leaves the change pending for the
  next build);
- it retried everything — a syntax error in a model, three times, 15 s; here only a transient
  failure is retried, a deterministic one fails fast and waits for the next save;
- a success never reset its counters, so three failures spread over a day made the fourth trigger a
  full restart; here a success ends the episode;
- after a fallback it cleared the counter and started over, forever; here an episode has at most one
  fallback, then it gives up (until a success, or the next save makes one more attempt);
- two failures of the same key during a cooldown retried twice; here a key has one retry scheduled;
- it "restarted" things that have no process (type generation, "the AI service") and ignored its own
  configuration; here a restart happens only where farm supervises a process (``farm watch
  --serve``), and ``development.hot_reload.performance.max_retries``/``cooldown_ms`` and
  ``error_recovery.{enabled,fallback_to_restart,log_errors}`` decide.

Pure: no I/O, no threads, an injectable clock; thread-safe (supervised servers report from their
own threads). :func:`classify` sorts an exception into a :class:`Verdict`; :class:`Recovery` keeps
one episode per :class:`Key` (component, operation) and answers each failure with a
:class:`Decision`::

    failure ─► classify ─► TRANSIENT ──► attempt ≤ max_retries ─► RETRY at now + cooldown
                            │                       else ─► FALLBACK (restart the supervised server, once;
                            │                                   failures until it is up are WAIT: not counted)
                            │                       else ─► GIVE_UP (quiet until a success or the next save)
                            ├─ UNREACHABLE ─► as TRANSIENT if the component answered before or farm supervises it,
                            │                 else ABSENT (nobody is running there: not a failure)
                            └─ DETERMINISTIC ─► FAIL_FAST (the next save tries again)
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    """Whether trying again, unchanged, can succeed."""

    TRANSIENT = "transient"  # a timeout, a reset connection, HTTP 5xx/429, a server restarting
    UNREACHABLE = "unreachable"  # nobody is listening (connection refused)
    DETERMINISTIC = "deterministic"  # HTTP 4xx, broken user code, an invalid manifest or migration


class Action(str, Enum):
    RETRY = "retry"  # try again at ``Decision.at``
    FALLBACK = "fallback"  # restart ``Decision.restart``; try again once it is up
    GIVE_UP = "give-up"  # no more automatic tries until a success or the next save
    FAIL_FAST = "fail-fast"  # deterministic: not retried
    ABSENT = "absent"  # nobody there and nobody ever was: not a failure
    REPORT = "report"  # error_recovery.enabled = false: reported, not retried
    RECOVERED = "recovered"  # a success after failures
    WAIT = "wait"  # failed while its server is being restarted: does not count, the try comes when it is up


@dataclass(frozen=True, order=True)
class Key:
    """What failed: a component (``vite``, ``backend``, ``ollama:local``, ``mongodb``, ``api``) and
    the operation on it (``notify``, ``ai-swap``, ``plugins-reload``, ``pull``, ``apply``, ``process``)."""

    component: str
    op: str

    def __str__(self) -> str:
        return f"{self.component} {self.op}"


@dataclass(frozen=True)
class Effect:
    """One try of a side effect, as a task reports it (``BuildContext.effect``) and a build report
    carries it; ``farm watch`` turns the failed ones into decisions."""

    task: str  # the task that tried ("ai", "db-apply"), or "" for the watch loop's own
    key: Key
    ok: bool
    verdict: Verdict | None = None  # None when ok
    message: str = ""
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"task": self.task, "component": self.key.component, "op": self.key.op, "ok": self.ok,
                             "ms": round(self.duration_s * 1000, 1)}
        if not self.ok:
            d["verdict"] = self.verdict.value if self.verdict else None
            d["message"] = self.message
        return d


@dataclass(frozen=True)
class Settings:
    enabled: bool = True
    max_retries: int = 3
    cooldown_s: float = 5.0
    fallback_to_restart: bool = True
    log_errors: bool = True

    @classmethod
    def from_config(cls, hot_reload: Any) -> "Settings":
        """From ``development.hot_reload`` (:class:`farmbuild.config.HotReload`)."""
        er, perf = hot_reload.error_recovery, hot_reload.performance
        return cls(enabled=er.enabled, max_retries=perf.max_retries, cooldown_s=perf.cooldown_ms / 1000,
                   fallback_to_restart=er.fallback_to_restart, log_errors=er.log_errors)


@dataclass(frozen=True)
class Decision:
    key: Key
    action: Action
    message: str = ""  # the failure (or, for RECOVERED, empty)
    attempt: int = 0  # failed tries in this episode, this one included
    retries: int = 0  # max_retries when decided
    at: float | None = None  # RETRY: when (clock time)
    delay_s: float = 0.0  # RETRY: at - now
    restart: str | None = None  # FALLBACK: the supervised server to restart; GIVE_UP: the one restarted
    repeat: bool = False  # GIVE_UP/REPORT again, already said
    loud: bool = False  # deserves a terminal line: one per retry/fallback/give-up, none per repeat

    def describe(self) -> str:
        """The decision in words (without the key), e.g.
        ``HTTP 503 → retry 1/3 in 5 s``, ``gave up after 3 retries: HTTP 503; the next save tries again``."""
        msg = self.message
        if self.action is Action.RETRY:
            return f"{msg} \u2192 retry {self.attempt}/{self.retries} in {_secs(self.delay_s)}"
        if self.action is Action.FALLBACK:
            tried = f"still failing after {_retries(self.retries)}" if self.retries else "failed"
            return f"{tried} ({msg}) \u2192 restarting the {self.restart} server"
        if self.action is Action.GIVE_UP:
            if self.repeat:
                return f"failed again ({msg}); waiting for the next save"
            after = f"after {_retries(self.retries)}" if self.retries else "without retrying (max_retries = 0)"
            if self.restart:
                after += f"{' and' if self.retries else ','} a restart of the {self.restart} server"
            return f"gave up {after}: {msg}; the next save tries again"
        if self.action is Action.REPORT:
            return f"{msg} (not retried: development.hot_reload.error_recovery.enabled = false)"
        if self.action is Action.WAIT:
            return f"{msg} (while the {self.restart} server restarts: tried again once it is up)"
        if self.action is Action.FAIL_FAST:
            return f"{msg}; not retried (another try would get the same answer): the next save tries again"
        if self.action is Action.RECOVERED:
            n = self.attempt - 1
            return f"recovered after {_retries(n)}" if n > 0 else "recovered"
        return msg


def _retries(n: int) -> str:
    return f"{n} retr{'y' if n == 1 else 'ies'}"


def _secs(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:g} s"


@dataclass
class _Episode:
    failures: int = 0
    fell_back: bool = False
    restarting: bool = False  # fell back; the server has not said it is up again yet
    gave_up: bool = False
    at: float | None = None  # a retry the caller asked us to schedule
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Recovery:
    """Per-(component, operation) retry state and the decisions it leads to.

    ``servers`` maps a component to the supervised server that serves it (``{"vite": "web",
    "backend": "api"}`` under ``farm watch --serve``): only those can fall back to a restart.

    >>> clock = iter([0.0, 0.0, 5.0]).__next__
    >>> r = Recovery(Settings(max_retries=1, cooldown_s=5.0), clock=clock)
    >>> r.failed(Key("vite", "notify"), Verdict.TRANSIENT, "HTTP 503", expected=True).describe()
    'HTTP 503 → retry 1/1 in 5 s'
    >>> r.failed(Key("vite", "notify"), Verdict.TRANSIENT, "HTTP 503", expected=True).action
    <Action.GIVE_UP: 'give-up'>
    """

    def __init__(self, settings: Settings | None = None, *, servers: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings or Settings()
        self.servers: dict[str, str] = dict(servers or {})
        self.clock = clock
        self._episodes: dict[Key, _Episode] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    # -- configuration ---------------------------------------------------------------------

    def configure(self, settings: Settings) -> None:
        """New limits (farm.toml changed); episodes in progress keep their counts."""
        with self._lock:
            self.settings = settings

    def supervise(self, component: str, server: str) -> None:
        with self._lock:
            self.servers[component] = server

    def expected(self, component: str) -> bool:
        """Answered before in this session, or supervised by farm: its absence is a failure."""
        with self._lock:
            return component in self._seen or component in self.servers

    def seen(self, component: str) -> None:
        with self._lock:
            self._seen.add(component)

    # -- outcomes --------------------------------------------------------------------------

    def failed(self, key: Key, verdict: Verdict, message: str, *, expected: bool | None = None,
               schedule: bool = True, can_fall_back: bool = True) -> Decision:
        """One failed try of ``key``. ``schedule``: remember ``at`` for :meth:`take_due` (the watch
        loop's retries); a supervised server waits out its own cooldown and passes False.
        ``can_fall_back``: False for an operation that is itself a restart."""
        now = self.clock()
        with self._lock:
            s = self.settings
            # ABSENT and FAIL_FAST are said elsewhere (the notifier's once-line, the task's FAILED line)
            base = Decision(key, Action.FAIL_FAST, message, retries=s.max_retries)
            ep = self._episodes.get(key)
            if verdict is Verdict.UNREACHABLE:
                if expected is None:
                    expected = key.component in self._seen or key.component in self.servers
                if not expected:
                    return replace(base, action=Action.ABSENT)
            if verdict is Verdict.DETERMINISTIC:
                self._episodes.pop(key, None)  # a new kind of failure: a retry in flight is moot
                return base
            if ep is None:
                ep = self._episodes[key] = _Episode()
            ep.message = message
            if not s.enabled:
                repeat = ep.gave_up
                ep.gave_up, ep.at = True, None
                return replace(base, action=Action.REPORT, repeat=repeat, loud=not repeat)
            if ep.gave_up:
                return replace(base, action=Action.GIVE_UP, attempt=ep.failures, repeat=True)
            if ep.restarting:
                # of course it fails while its server restarts: the try that counts comes when it is up
                return replace(base, action=Action.WAIT, attempt=ep.failures, restart=self.servers.get(key.component))
            ep.failures += 1
            if ep.failures <= s.max_retries:
                ep.at = now + s.cooldown_s if schedule else None
                # log_errors = false: retries are silent; fallbacks and give-ups are always said
                return replace(base, action=Action.RETRY, attempt=ep.failures, at=now + s.cooldown_s,
                               delay_s=s.cooldown_s, loud=s.log_errors)
            server = self.servers.get(key.component)
            if s.fallback_to_restart and can_fall_back and server and not ep.fell_back:
                ep.fell_back = ep.restarting = True
                ep.at = None  # the retry comes when the restarted server is up (:meth:`server_ready`)
                return replace(base, action=Action.FALLBACK, attempt=ep.failures, restart=server, loud=True)
            ep.gave_up, ep.at = True, None
            return replace(base, action=Action.GIVE_UP, attempt=ep.failures, loud=True,
                           restart=server if ep.fell_back else None)

    def succeeded(self, key: Key) -> Decision | None:
        """A try of ``key`` worked: the episode ends. RECOVERED if it had failed before."""
        with self._lock:
            self._seen.add(key.component)
            ep = self._episodes.pop(key, None)
            s = self.settings
        if ep is None or ep.failures == 0 and not ep.gave_up:
            return None
        # said when its failures were: the retries (log_errors), a fallback or a give-up
        loud = s.log_errors or ep.fell_back or ep.gave_up
        return Decision(key, Action.RECOVERED, attempt=ep.failures + 1, retries=s.max_retries, loud=loud)

    def forget(self, key: Key) -> None:
        """Drop the episode without a verdict (the thing it was about went away)."""
        with self._lock:
            self._episodes.pop(key, None)

    # -- scheduling (the watch loop) -------------------------------------------------------

    def next_due(self) -> float | None:
        with self._lock:
            times = [ep.at for ep in self._episodes.values() if ep.at is not None]
        return min(times) if times else None

    def cooling(self, key: Key) -> bool:
        """A retry of ``key`` is scheduled and its cooldown has not passed."""
        now = self.clock()
        with self._lock:
            ep = self._episodes.get(key)
            return bool(ep and ep.at is not None and ep.at > now)

    def restarting(self, key: Key) -> bool:
        """``key`` fell back to restarting its server, which is not up again yet."""
        with self._lock:
            ep = self._episodes.get(key)
            return bool(ep and ep.restarting)

    def take_due(self, now: float | None = None) -> list[Key]:
        """Keys whose retry time has come; each is returned once (its outcome is the next
        :meth:`failed`/:meth:`succeeded`)."""
        now = self.clock() if now is None else now
        with self._lock:
            due = sorted(k for k, ep in self._episodes.items() if ep.at is not None and ep.at <= now)
            for k in due:
                self._episodes[k].at = None
        return due

    def server_ready(self, server: str) -> list[Key]:
        """A supervised server is (back) up: what failed against it is due now (after a fallback,
        a retry cooling down, or even a give-up: a fresh process is worth one more try). Returns
        those keys."""
        now = self.clock()
        with self._lock:
            if not self.settings.enabled:
                return []
            comps = {c for c, s in self.servers.items() if s == server}
            keys = sorted(k for k, ep in self._episodes.items() if k.component in comps and ep.failures)
            for k in keys:
                self._episodes[k].at = now
                self._episodes[k].restarting = False
        return keys

    def failing(self) -> dict[Key, int]:
        """Keys in an episode and their failed tries (``farm watch --json`` status, tests)."""
        with self._lock:
            return {k: ep.failures for k, ep in self._episodes.items()}

    def given_up(self, key: Key) -> bool:
        with self._lock:
            ep = self._episodes.get(key)
            return bool(ep and ep.gave_up)


# -- classification --------------------------------------------------------------------------

_TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def classify_status(status: int) -> Verdict:
    """HTTP status → verdict: 5xx (but 501/505), 408, 425 and 429 may change by waiting; any other
    4xx will be the same answer next time."""
    if status in _TRANSIENT_STATUS or (status >= 500 and status not in (501, 505)):
        return Verdict.TRANSIENT
    return Verdict.DETERMINISTIC


# MongoDB error codes that mean "the server is busy or changing state", not "your command is wrong"
# (the set pymongo's retryable-writes logic uses, plus ExceededTimeLimit)
_MONGO_TRANSIENT_CODES = frozenset({6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436})


def classify(exc: BaseException) -> Verdict:
    """Sort a failure: ``exc.verdict`` when the raiser knew better, else by type.

    >>> import httpx
    >>> classify(httpx.ConnectError("refused")).value, classify(httpx.ReadTimeout("slow")).value
    ('unreachable', 'transient')
    """
    explicit = getattr(exc, "verdict", None)
    if isinstance(explicit, Verdict):
        return explicit
    for klass in type(exc).__mro__:
        rule = _RULES.get(f"{klass.__module__}.{klass.__qualname__}")
        if rule is not None:
            return rule(exc)
    if isinstance(exc, OSError):
        if exc.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH):
            return Verdict.UNREACHABLE
        if exc.errno in (errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOEXEC, errno.ENOTDIR, errno.EISDIR):
            return Verdict.DETERMINISTIC
        return Verdict.TRANSIENT
    if isinstance(exc, TimeoutError):
        return Verdict.TRANSIENT
    # user code, schemas, templates, config, manifests, migrations: nothing changes by waiting
    return Verdict.DETERMINISTIC


def _mongo(exc: BaseException) -> Verdict:
    name = type(exc).__name__
    if name in ("ServerSelectionTimeoutError",):
        text = str(exc)
        return Verdict.UNREACHABLE if "refused" in text.lower() else Verdict.TRANSIENT
    if name in ("AutoReconnect", "NetworkTimeout", "ConnectionFailure", "NotPrimaryError", "WaitQueueTimeoutError",
                "ExecutionTimeout", "WTimeoutError"):
        return Verdict.TRANSIENT
    has_label = getattr(exc, "has_error_label", None)
    if callable(has_label) and (has_label("RetryableWriteError") or has_label("TransientTransactionError")):
        return Verdict.TRANSIENT
    if getattr(exc, "code", None) in _MONGO_TRANSIENT_CODES:
        return Verdict.TRANSIENT
    return Verdict.DETERMINISTIC


def _status_of(exc: BaseException) -> Verdict:
    status = getattr(exc, "status", None)
    if status is None:
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    return classify_status(status) if isinstance(status, int) else Verdict.TRANSIENT


def _backend_unavailable(exc: BaseException) -> Verdict:
    return Verdict.UNREACHABLE if getattr(exc, "kind", None) == "down" else Verdict.DETERMINISTIC


_RULES: dict[str, Callable[[BaseException], Verdict]] = {
    "httpx.ConnectError": lambda e: Verdict.UNREACHABLE,
    "httpx.ConnectTimeout": lambda e: Verdict.TRANSIENT,
    "httpx.TimeoutException": lambda e: Verdict.TRANSIENT,
    "httpx.TransportError": lambda e: Verdict.TRANSIENT,  # reset, broken pipe, a protocol error mid-answer
    "httpx.HTTPStatusError": _status_of,
    "farmbuild.devclient.BackendUnavailable": _backend_unavailable,
    "farmbuild.devclient.BackendError": _status_of,  # no status: a timeout
    "farmbuild.runtime.errors.ProviderUnavailable": lambda e: Verdict.UNREACHABLE,
    "farmbuild.runtime.errors.ProviderError":  # no status: a timeout, a cut stream, an error line
        lambda e: Verdict.DETERMINISTIC if getattr(e, "permanent", False) else _status_of(e),
    "farmbuild.runtime.errors.PluginLoadError": lambda e: Verdict.DETERMINISTIC,
    "pymongo.errors.PyMongoError": _mongo,
}

