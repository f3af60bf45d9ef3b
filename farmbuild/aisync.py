"""Apply farm.toml's ``[ai]`` section to the world: Ollama servers and the running backend.

The ``ai`` task's engine. State lives in ``.farm/state/ai.json`` (no secrets: env var names only)::

    {"format": 1,
     "desired":  <the [ai] section, resolved>,          what farm.toml asked for last run
     "baseline": <the [ai] section, resolved>,          what is applied everywhere
     "components": {"ollama:<provider>": {...}, "backend": {...}},   what each one has applied
     "pending": ["backend"], "pending_changes": ["add model ollama/llama3.2"]}

Each *component* is synced on its own: every Ollama provider (pull added models unless present
— ``/api/tags``, names normalised to ``:latest`` —, unload removed ones with ``keep_alive: 0``,
load the default model with ``preload_models``) and the backend (POST the whole new set to
``/__farm/ai/reload``, which swaps its registry in process). A component that cannot be reached
stays *pending* and the next build tries again; one that answers with an error fails the task
(the state is then not written at all). Nothing reachable at all — a bare machine — is one line
of report, not a failure.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .devclient import BackendDevClient, BackendError, BackendUnavailable
from .errors import TaskError
from .runtime.ai import AIState, Change, diff
from .runtime.errors import ProviderError, ProviderUnavailable
from .runtime.names import canonical_ollama_name
from .runtime.providers import OllamaAPI, PullProgress

log = logging.getLogger(__name__)

STATE_FORMAT = 1
BACKEND = "backend"
OP_SWAP = "ai-swap"  # the backend's in-process registry swap (farmbuild.recovery key: backend ai-swap)
OP_PULL = "pull"  # an Ollama server's models: pull, unload, preload (key: ollama:<provider> pull)

# one try of one component: (component, operation, error or None, seconds)
EffectHook = Callable[[str, str, "BaseException | None", float], None]


def component_op(comp: str) -> str:
    return OP_SWAP if comp == BACKEND else OP_PULL


def state_path(state_dir: Path) -> Path:
    return state_dir / "state" / "ai.json"


def read_state(path: Path) -> dict[str, Any] | None:
    """The last state written, or None (missing, unreadable or from another format: start over)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("%s is unreadable; treating every AI model as new", path.name)
        return None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        return None
    return data


def dumps_state(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _state_from(data: Any) -> AIState:
    try:
        return AIState.from_json(data) if isinstance(data, dict) else AIState()
    except ValueError:
        return AIState()


def component_views(state: AIState, *, hot_swap: bool) -> dict[str, dict[str, Any]]:
    """What each component must have applied for ``state``."""
    views: dict[str, dict[str, Any]] = {}
    for name, p in state.providers.items():
        if p.type == "ollama":
            views[f"ollama:{name}"] = {"url": p.url, "models": list(p.models), "default_model": p.default_model,
                                       "auto_pull": p.auto_pull, "timeout_s": p.timeout_s}
    if hot_swap:
        views[BACKEND] = state.to_json()
    return views


def _component_label(comp: str, view: dict[str, Any] | None, backend: str) -> str:
    if comp == BACKEND:
        return f"the backend at {backend}"
    return f"Ollama at {view['url']}" if view else comp


@dataclass
class SyncOptions:
    hot_swap: bool = True
    preload_models: bool = False
    side_effects: bool = True  # False: report what would happen, touch nothing (farm build --check)


@dataclass
class SyncResult:
    state: dict[str, Any]
    changes: list[Change]
    applied: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)  # component -> reason


class _ProgressLog:
    """Pull progress as log lines: each layer when it starts, every 10 %, and when it completes."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self._last: dict[str, int] = {}
        self._status: str | None = None

    def __call__(self, p: PullProgress) -> None:
        if p.digest and p.total:
            done = p.completed or 0
            step = min(10, done * 10 // p.total) if p.total > 0 else 10
            if self._last.get(p.digest) == step:
                return
            self._last[p.digest] = step
            short = p.digest.removeprefix("sha256:")[:12]
            log.info("ai: %s/%s: %s %s/%s (%d%%)", self.provider, p.model, short, _size(done), _size(p.total),
                     step * 10)
        elif p.status and p.status != self._status and p.status != "success":
            self._status = p.status
            log.info("ai: %s/%s: %s", self.provider, p.model, p.status)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


class AISync:
    """One sync run (see the module docstring). ``http`` is the seam for Ollama calls."""

    def __init__(self, project_root: Path, desired: AIState, previous: dict[str, Any] | None, *,
                 backend_url: str, options: SyncOptions, http: httpx.Client | None = None,
                 on_progress: Callable[[str], Callable[[PullProgress], None]] | None = None,
                 on_effect: EffectHook | None = None) -> None:
        self.root = project_root
        self.desired = desired
        self.previous = previous or {}
        self.backend_url = backend_url
        self.options = options
        self._http = http
        self._progress = on_progress or _ProgressLog
        self._effect = on_effect or (lambda comp, op, exc, secs: None)

    def run(self) -> SyncResult:
        baseline = _state_from(self.previous.get("baseline"))
        applied: dict[str, Any] = dict(self.previous.get("components") or {})
        want = component_views(self.desired, hot_swap=self.options.hot_swap)
        changes = diff(baseline, self.desired)
        result = SyncResult({}, changes)
        comps = sorted(set(want) | {c for c in applied if c.startswith("ollama:")})
        # Ollama first (a model is pulled before the backend is told it exists), the backend last
        comps = [c for c in comps if c != BACKEND] + ([BACKEND] if BACKEND in comps else [])
        http = self._http or httpx.Client()
        try:
            for comp in comps:
                old, new = applied.get(comp), want.get(comp)
                if old == new or (old is None and comp == BACKEND and not self.desired.providers):
                    continue  # in sync (or nothing configured and nothing ever applied: nothing to tell)
                if not self.options.side_effects:
                    result.pending.append(comp)
                    continue
                # one try: a failure is reported (on_effect) and left pending; retrying is farm
                # watch's job, after a cooldown that must not hold up the rest of the build
                started = time.perf_counter()
                try:
                    if comp == BACKEND:
                        self._sync_backend(new or {})
                    else:
                        self._sync_ollama(comp, old, new, http)
                except (ProviderUnavailable, BackendUnavailable) as exc:
                    self._effect(comp, component_op(comp), exc, time.perf_counter() - started)
                    result.pending.append(comp)
                    result.unreachable[comp] = _reason(exc)
                    continue
                except ProviderError as exc:
                    self._effect(comp, component_op(comp), exc, time.perf_counter() - started)
                    raise TaskError(f"{exc} (farm.toml [ai.providers.{comp.partition(':')[2]}]);"
                                    " the change stays pending and the next build retries") from None
                except BackendError as exc:
                    self._effect(comp, component_op(comp), exc, time.perf_counter() - started)
                    raise TaskError(f"{exc}; the change stays pending and the next build retries") from None
                self._effect(comp, component_op(comp), None, time.perf_counter() - started)
                result.applied.append(comp)
                if new is None:
                    applied.pop(comp, None)
                else:
                    applied[comp] = new
        finally:
            if self._http is None:
                http.close()
        pending_changes = [c.describe() for c in changes] if result.pending else []
        result.state = {
            "format": STATE_FORMAT,
            "desired": self.desired.to_json(),
            "baseline": (self.desired if not result.pending else baseline).to_json(),
            "components": applied,
            "pending": sorted(result.pending),
            "pending_changes": pending_changes,
        }
        self._report(result, want, applied)
        return result

    # -- components -------------------------------------------------------------------

    def _sync_ollama(self, comp: str, old: dict[str, Any] | None, new: dict[str, Any] | None,
                     http: httpx.Client) -> None:
        provider = comp.partition(":")[2]
        if new is None:  # the provider is gone: free its models' memory (deleting is `farm ai delete`)
            assert old is not None
            api = OllamaAPI(old["url"], http, name=provider, timeout_s=old.get("timeout_s", 60.0))
            for m in old.get("models", []):
                if api.unload(m):
                    log.info("ai: %s/%s unloaded (provider removed from farm.toml)", provider, m)
            return
        api = OllamaAPI(new["url"], http, name=provider, timeout_s=new.get("timeout_s", 60.0))
        same_server = old is not None and old.get("url") == new["url"]
        before = {canonical_ollama_name(m): m for m in (old or {}).get("models", [])} if same_server else {}
        after = {canonical_ollama_name(m): m for m in new["models"]}
        if old is not None and not same_server:
            self._unload_elsewhere(provider, old, http)
        for canon, m in before.items():
            if canon not in after:
                found = api.unload(m)
                log.info("ai: %s/%s %s", provider, m, "unloaded" if found else "removed (Ollama did not have it)")
        added = [m for canon, m in after.items() if canon not in before]
        if added:
            present = set(api.tags())
            for m in added:
                if canonical_ollama_name(m) in present:
                    log.info("ai: %s/%s already present in Ollama", provider, m)
                elif new.get("auto_pull", True):
                    log.info("ai: %s/%s: pulling from Ollama at %s", provider, m, new["url"])
                    api.pull(m, self._progress(provider))
                    log.info("ai: %s/%s pulled", provider, m)
                else:
                    log.warning("ai: %s/%s is not in Ollama at %s and auto_pull is off: run `ollama pull %s`",
                                provider, m, new["url"], m)
        default = new.get("default_model")
        if (self.options.preload_models and default
                and (old is None or not same_server or old.get("default_model") != default or default in added)):
            api.load(default)
            log.info("ai: %s/%s loaded (preload_models)", provider, default)

    def _unload_elsewhere(self, provider: str, old: dict[str, Any], http: httpx.Client) -> None:
        """The provider moved to another server: free the old one's memory, best effort."""
        api = OllamaAPI(old["url"], http, name=provider, timeout_s=old.get("timeout_s", 60.0))
        for m in old.get("models", []):
            try:
                api.unload(m)
            except (ProviderUnavailable, ProviderError) as exc:
                log.debug("ai: could not unload %s from the old server %s: %s", m, old["url"], exc)
                return

    def _sync_backend(self, payload: dict[str, Any]) -> None:
        with BackendDevClient(self.backend_url, self.root) as client:
            answer = client.ai_reload(payload)
        changed = answer.get("changes") or []
        models = ", ".join(f"{m['provider']}/{m['name']}" + (" (default)" if m.get("default") else "")
                           for m in answer.get("models") or []) or "no models"
        log.info("ai: the backend (pid %s) swapped its models in process: %s; serving %s",
                 answer.get("pid"), ", ".join(Change(**c).describe() for c in changed) or "already current", models)

    # -- report -----------------------------------------------------------------------

    def _report(self, result: SyncResult, want: dict[str, Any], applied: dict[str, Any]) -> None:
        if not result.pending:
            return
        what = "; ".join(result.state["pending_changes"]) or "resync"
        n = len(result.changes)
        summary = f"{n} change{'s' if n != 1 else ''} pending ({what})" if n else f"pending ({what})"
        if not self.options.side_effects:
            log.debug("ai: %s (not applied: --check builds touch no server)", summary)
            return
        why = [f"{_component_label(c, want.get(c) or applied.get(c), self.backend_url)} {result.unreachable.get(c, 'is not reachable')}"
               for c in result.pending]
        # nothing reached at all (a bare machine): one line, no failure; else a warning
        emit = log.info if not result.applied else log.warning
        emit("ai: %s; %s; the next build retries", summary, ", ".join(why))


def probe(project_root: Path, state: dict[str, Any], *, backend_url: str, timeout_s: float = 1.0) -> dict[str, bool]:
    """Which pending components answer now (cheap: one short request each)."""
    out: dict[str, bool] = {}
    views = state.get("components") or {}
    desired = _state_from(state.get("desired"))
    want = component_views(desired, hot_swap=True)
    with httpx.Client() as http:
        for comp in state.get("pending") or []:
            if comp == BACKEND:
                try:
                    with BackendDevClient(backend_url, project_root, connect_timeout_s=timeout_s) as c:
                        c.health(timeout=httpx.Timeout(timeout_s * 3, connect=timeout_s))
                    out[comp] = True
                except (BackendUnavailable, TaskError):
                    out[comp] = False
                continue
            view = want.get(comp) or views.get(comp)
            if not view:
                out[comp] = True  # nothing to reach: let the task settle it
                continue
            try:
                OllamaAPI(view["url"], http, name=comp).tags(timeout=timeout_s)
                out[comp] = True
            except (ProviderUnavailable, ProviderError):
                out[comp] = False
    return out


def _reason(exc: Exception) -> str:
    if isinstance(exc, BackendUnavailable):
        return exc.reason
    if isinstance(exc, ProviderUnavailable):
        return "is not running" if exc.reason.startswith("connection refused") else f"is not reachable ({exc.reason})"
    return str(exc)
