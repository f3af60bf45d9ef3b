"""The backend's dev endpoints, for ``farm build``/``farm watch`` (contract: :mod:`farmbuild.devtoken`).

- ``GET  /__farm/health``          → ``{"ok": true, "pid": ..., "ai": {...}, "plugins": {...}}``
- ``POST /__farm/ai/reload``       body: the ``[ai]`` section as :meth:`AIState.to_json` makes it;
  swaps the registry in process → ``{"pid", "changes": [...], "models": [...]}``
- ``POST /__farm/plugins/reload``  body: ``{"plugins": ["wishlist"]}`` (``null`` = all) →
  ``{"pid", "reloaded", "mounted", "removed", "routes", "errors"}``; 422 when a plugin failed
  (the last good version keeps serving).

Mount it only in development (``if is_development(): app.include_router(dev_router(...))``).
Every request must come from a loopback address, carry a ``Host`` header naming localhost,
127.0.0.1 or ::1 (a DNS-rebinding page's requests carry its own host name, as Vite's
``allowedHosts`` check assumes), and the project's token in ``X-Farm-Token``; anything else
gets 403. The routes are left out of the OpenAPI schema, so generated clients never see them.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..devtoken import HEADER, read_token

if TYPE_CHECKING:
    from .ai import AIRegistry
    from .plugins import PluginHost

ENV = "FARM_ENV"
ALLOWED_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def is_development() -> bool:
    """True when ``FARM_ENV`` is ``development`` (or ``dev``): ``farm watch --serve`` sets it."""
    return os.environ.get(ENV, "").strip().lower() in {"development", "dev"}


def _host_name(host_header: str) -> str:
    """``localhost:8000`` → ``localhost``; ``[::1]:8000`` → ``::1``."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1:].partition("]")[0]
    if h.count(":") == 1:
        return h.partition(":")[0]
    return h


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def check_dev_request(client_host: str | None, host_header: str | None, token: str | None,
                      expected: str | None) -> str | None:
    """Why a dev request must be refused, or None when it may go through. Pure, for tests.

    >>> check_dev_request("127.0.0.1", "localhost:8000", "t", "t") is None
    True
    >>> check_dev_request("127.0.0.1", "evil.example", "t", "t")
    'Host header not allowed: the dev endpoints answer only localhost, 127.0.0.1 or [::1]'
    """
    if not _is_loopback(client_host):
        return "the dev endpoints answer only loopback clients (127.0.0.1, ::1)"
    if not host_header or _host_name(host_header) not in ALLOWED_HOSTS:
        return "Host header not allowed: the dev endpoints answer only localhost, 127.0.0.1 or [::1]"
    if expected is None:
        return "no dev token: run `farm build` (it writes .farm/dev-token) before calling the dev endpoints"
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        return f"missing or wrong {HEADER} header"
    return None


def dev_router(*, ai: "AIRegistry | None" = None, plugins: "PluginHost | None" = None,
               project_root: str | Path | None = None, token: Callable[[], str | None] | None = None) -> APIRouter:
    """The ``/__farm`` router (see the module docstring).

    ``project_root`` locates ``.farm/dev-token`` (``$FARM_DEV_TOKEN_FILE`` wins); ``token`` replaces
    the lookup entirely (tests). The token is read per request, so a token written after the
    server started is honoured.
    """
    root = Path(project_root) if project_root is not None else None
    get_token = token or (lambda: read_token(root))

    def guard(request: Request) -> None:
        client = request.client.host if request.client else None
        reason = check_dev_request(client, request.headers.get("host"), request.headers.get(HEADER), get_token())
        if reason:
            raise HTTPException(status_code=403, detail=reason)

    router = APIRouter(prefix="/__farm", include_in_schema=False, dependencies=[Depends(guard)])

    @router.get("/health")
    def health() -> dict[str, Any]:
        out: dict[str, Any] = {"ok": True, "pid": os.getpid(), "ai": None, "plugins": None}
        if ai is not None:
            default = ai.default()
            out["ai"] = {"models": [m.to_json() for m in ai.models()], "default": default.id if default else None,
                         "generation": ai.generation}
        if plugins is not None:
            out["plugins"] = plugins.status()
        return out

    async def json_body(request: Request) -> Any:
        # parsed here, after the guard, so a stranger's request gets 403 whatever its body is
        raw = await request.body()
        if not raw.strip():
            return None
        try:
            import json

            return json.loads(raw)
        except ValueError:
            raise HTTPException(status_code=400, detail="the body is not JSON") from None

    @router.post("/ai/reload")
    async def ai_reload(request: Request) -> Any:
        from .ai import AIState

        body = await json_body(request)
        if ai is None:
            raise HTTPException(status_code=404, detail="this app has no AIRegistry: pass ai=... to dev_router()")
        if not isinstance(body, dict):
            raise HTTPException(status_code=422, detail='expected the AI configuration: {"providers": {...}}')
        try:
            state = AIState.from_json(body)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=f"invalid AI configuration: {exc}") from None
        changes = await run_in_threadpool(ai.apply, state)
        default = ai.default()
        return {"pid": os.getpid(), "changes": [c.to_json() for c in changes],
                "models": [m.to_json() for m in ai.models()], "default": default.id if default else None}

    @router.post("/plugins/reload")
    async def plugins_reload(request: Request) -> Any:
        body = await json_body(request)
        if plugins is None:
            raise HTTPException(status_code=404, detail="this app has no PluginHost: pass plugins=... to dev_router()")
        names = body.get("plugins") if isinstance(body, dict) else None
        if (body is not None and not isinstance(body, dict)) or (
                names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names))):
            raise HTTPException(status_code=422, detail='expected {"plugins": [names]} or {"plugins": null} for all')
        result = await run_in_threadpool(plugins.reload, names)
        payload = {"pid": os.getpid(), **result.to_json()}
        return JSONResponse(payload, status_code=422 if result.errors else 200)

    return router
