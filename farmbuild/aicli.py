"""``farm ai status`` and ``farm ai delete``: look at and manage what the ``ai`` task applies.

``status`` shows the configured providers and models, what Ollama has, what the running backend
serves and what is still pending. ``delete`` is the *explicit request* to remove a model's files
from Ollama (a model dropped from farm.toml is only unloaded from memory by ``farm build``).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import httpx

from . import cli
from .errors import FarmbuildError, UsageError


def _project(args: argparse.Namespace) -> tuple[Path, Any]:
    from .config import load_config

    root = cli._root(args)
    return root, load_config(root)


def status_data(root: Path, loaded: Any, *, timeout_s: float = 2.0) -> dict[str, Any]:
    """Everything ``farm ai status`` shows, as data (no secrets: key variables are named, never read out)."""
    from .aisync import read_state, state_path
    from .devclient import BackendDevClient, BackendUnavailable, backend_url
    from .runtime.ai import AIState
    from .runtime.errors import ProviderError, ProviderUnavailable
    from .runtime.names import canonical_ollama_name
    from .runtime.providers import OllamaAPI

    desired = AIState.from_config(loaded.config.ai)
    default = desired.default()
    providers = []
    with httpx.Client() as http:
        for name, p in desired.providers.items():
            entry: dict[str, Any] = {"name": name, "type": p.type, "url": p.url, "models": list(p.models),
                                     "default_model": p.default_model}
            if p.api_key_env:
                entry["api_key_env"] = p.api_key_env
                entry["api_key_set"] = bool(os.environ.get(p.api_key_env))
            if p.type == "ollama":
                try:
                    have = set(OllamaAPI(p.url, http, name=name).tags(timeout=timeout_s))
                    entry["reachable"] = True
                    entry["present"] = {m: canonical_ollama_name(m) in have for m in p.models}
                except (ProviderUnavailable, ProviderError) as exc:
                    entry["reachable"] = False
                    entry["problem"] = str(exc)
            providers.append(entry)
    url = backend_url(loaded.config)
    backend: dict[str, Any] = {"url": url}
    try:
        with BackendDevClient(url, root, connect_timeout_s=timeout_s) as client:
            health = client.health()
        backend.update(running=True, pid=health.get("pid"), serving=health.get("ai"))
    except (BackendUnavailable, FarmbuildError) as exc:
        backend.update(running=False, problem=str(exc))
    state = read_state(state_path(loaded.root / ".farm")) or {}
    in_sync = state.get("desired") == desired.to_json() and not state.get("pending")
    return {"default": f"{default[0]}/{default[1]}" if default else None, "providers": providers, "backend": backend,
            "applied": in_sync, "pending": state.get("pending") or ([] if in_sync else ["not built yet"]),
            "pending_changes": state.get("pending_changes") or []}


def cmd_status(args: argparse.Namespace) -> int:
    root, loaded = _project(args)
    data = status_data(root, loaded)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    if not data["providers"]:
        print("ai: no providers configured (add [ai.providers.<name>] to farm.toml)")
    for p in data["providers"]:
        models = ", ".join(m + ("*" if m == p["default_model"] else "") for m in p["models"]) or "no models"
        key = ""
        if "api_key_env" in p:
            key = f", key in ${p['api_key_env']} ({'set' if p['api_key_set'] else 'NOT SET'})"
        line = f"{p['name']}: {p['type']} at {p['url']}{key}: {models}"
        if p["type"] == "ollama":
            if p.get("reachable"):
                missing = [m for m, ok in p["present"].items() if not ok]
                line += f" — Ollama has {'all of them' if not missing else 'all but ' + ', '.join(missing)}"
            else:
                line += " — Ollama is not reachable"
        print(line)
    b = data["backend"]
    if b["running"]:
        serving = b.get("serving") or {}
        names = ", ".join(f"{m['provider']}/{m['name']}" + ("*" if m.get("default") else "")
                          for m in serving.get("models", [])) or "no models"
        print(f"backend: {b['url']} (pid {b['pid']}) serves {names}")
    else:
        print(f"backend: {b['problem']}")
    if data["applied"]:
        print("state: applied (farm.toml and .farm/state/ai.json agree)")
    else:
        changes = "; ".join(data["pending_changes"])
        print(f"state: pending {', '.join(data['pending'])}" + (f" ({changes})" if changes else "")
              + " — the next `farm build` applies it once they answer")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from .runtime.ai import AIState
    from .runtime.errors import ProviderError, ProviderUnavailable
    from .runtime.providers import OllamaAPI

    _root, loaded = _project(args)
    state = AIState.from_config(loaded.config.ai)
    ollamas = {n: p for n, p in state.providers.items() if p.type == "ollama"}
    if args.provider:
        if args.provider not in ollamas:
            raise UsageError(f"--provider {args.provider}: not an Ollama provider in farm.toml"
                             f" (Ollama providers: {', '.join(ollamas) or 'none'})")
        name = args.provider
    elif len(ollamas) == 1:
        name = next(iter(ollamas))
    else:
        raise UsageError("several Ollama providers are configured: name one with --provider" if ollamas
                         else "no Ollama provider in farm.toml [ai.providers]")
    spec = ollamas[name]
    if spec.find(args.model) and not args.force:
        raise UsageError(f"{name}/{args.model} is still in farm.toml [ai.providers.{name}] models: remove it there"
                         " first (farm build then unloads it), or pass --force")
    try:
        with httpx.Client() as http:
            deleted = OllamaAPI(spec.url, http, name=name, timeout_s=spec.timeout_s).delete(args.model)
    except (ProviderUnavailable, ProviderError) as exc:
        raise FarmbuildError(f"farm ai delete: {exc}") from None
    print(f"deleted {args.model} from Ollama at {spec.url}" if deleted
          else f"{args.model}: Ollama at {spec.url} does not have it; nothing deleted")
    return 0


def add(sub: Any) -> None:
    p = sub.add_parser("ai", help="the AI models: what is configured, pulled, served and pending")
    ai_sub = p.add_subparsers(dest="ai_command", metavar="COMMAND")
    ai_sub.required = True
    s = ai_sub.add_parser("status", help="providers, models, what Ollama has and the backend serves, what is pending")
    cli._common(s)
    s.add_argument("--json", action="store_true")
    s.set_defaults(handler=cmd_status)
    d = ai_sub.add_parser("delete", help="delete a model's files from Ollama (farm build only unloads removed models)")
    cli._common(d)
    d.add_argument("model", metavar="MODEL")
    d.add_argument("--provider", metavar="NAME", help="the Ollama provider (needed when several are configured)")
    d.add_argument("--force", action="store_true", help="delete even though farm.toml still lists the model")
    d.set_defaults(handler=cmd_delete)


cli.EXTRA_COMMANDS.append(add)
