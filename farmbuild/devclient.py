"""farm's side of the backend dev endpoints (``/__farm/...``, served by :func:`farmbuild.runtime.dev_router`).

One client, used by the ``ai`` and ``plugins-reload`` tasks and by ``farm ai status`` (and by the
watch loop's ``notify-backend``). It sends the project's dev token (``.farm/dev-token``), and only
to a loopback URL: the dev router refuses everyone else anyway, and the token must not travel.

A backend that cannot take the call is :class:`BackendUnavailable` (not running, not this
project's — it rejected our token —, or without the dev router); callers decide whether that
is a failure. A backend that took the call and failed is :class:`BackendError`.
"""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .devtoken import HEADER, ensure_token
from .errors import TaskError

log = logging.getLogger(__name__)


class BackendUnavailable(Exception):
    """The backend cannot take dev calls now. ``kind``: down, rejected, no-dev-router, not-loopback."""

    def __init__(self, url: str, kind: str, reason: str) -> None:
        self.url = url
        self.kind = kind
        self.reason = reason
        super().__init__(f"the backend at {url} {reason}")


class BackendError(TaskError):
    """The backend took the call and failed. ``status``: its HTTP status (None: no answer in time),
    which tells :func:`farmbuild.recovery.classify` whether trying again can help."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def backend_url(config: Any) -> str:
    """``ai.backend_url``, else ``development.servers.backend_url``."""
    return (config.ai.backend_url or config.development.servers.backend_url).rstrip("/")


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BackendDevClient:
    def __init__(self, url: str, project_root: Path, *, client: httpx.Client | None = None,
                 timeout_s: float = 30.0, connect_timeout_s: float = 2.0) -> None:
        self.url = url.rstrip("/")
        self.project_root = project_root
        self._client = client or httpx.Client(trust_env=False)
        self._owns_client = client is None
        self.timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> "BackendDevClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None, *, timeout: httpx.Timeout | None = None) -> httpx.Response:
        if not is_loopback_url(self.url):
            raise BackendUnavailable(self.url, "not-loopback",
                                     "is not a loopback address (development.servers.backend_url); farm sends its dev"
                                     " token only to localhost")
        token = ensure_token(self.project_root)
        try:
            r = self._client.request(method, self.url + path, json=body, headers={HEADER: token},
                                     timeout=timeout or self.timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise BackendUnavailable(self.url, "down", "is not running") from None
        except httpx.TimeoutException:
            raise BackendError(f"the backend at {self.url} did not answer {method} {path} in time"
                               f" ({(timeout or self.timeout).read:g} s)") from None
        except httpx.TransportError as exc:
            raise BackendUnavailable(self.url, "down", f"broke the connection ({type(exc).__name__})") from None
        if r.status_code == 403:
            raise BackendUnavailable(self.url, "rejected",
                                     "rejected this project's dev token (is it another project's backend?)")
        if r.status_code == 404 and path == "/__farm/health":
            raise BackendUnavailable(self.url, "no-dev-router",
                                     "has no farmbuild dev router (mount farmbuild.runtime.dev_router() and start it"
                                     " with FARM_ENV=development)")
        return r

    def health(self, *, timeout: httpx.Timeout | None = None) -> dict[str, Any]:
        r = self._call("GET", "/__farm/health", timeout=timeout)
        if r.status_code != 200:
            raise BackendError(f"the backend at {self.url}: GET /__farm/health answered HTTP {r.status_code}",
                               status=r.status_code)
        return _json(r)

    def ai_reload(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.health()
        r = self._call("POST", "/__farm/ai/reload", payload)
        if r.status_code == 404:
            raise BackendUnavailable(self.url, "no-dev-router", "has no AI registry (pass ai=... to dev_router())")
        if r.status_code != 200:
            raise BackendError(f"the backend at {self.url} could not swap the AI models: {_detail(r)}",
                               status=r.status_code)
        return _json(r)

    def plugins_reload(self, names: list[str] | None) -> dict[str, Any]:
        """Reload plugins; a plugin that failed raises BackendError with its file:line."""
        self.health()
        r = self._call("POST", "/__farm/plugins/reload", {"plugins": names})
        if r.status_code == 404:
            raise BackendUnavailable(self.url, "no-dev-router", "has no plugin host (pass plugins=... to dev_router())")
        if r.status_code == 422:
            data = _json(r)
            errors = data.get("errors") if isinstance(data, dict) else None
            if errors:
                msgs = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
                raise BackendError(f"{msgs} (the backend at {self.url} keeps serving the previous version)",
                                   status=422)
        if r.status_code != 200:
            raise BackendError(f"the backend at {self.url} could not reload plugins: {_detail(r)}",
                               status=r.status_code)
        return _json(r)


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        data = r.json()
    except ValueError:
        raise BackendError(f"{r.request.method} {r.request.url.path}: the backend's answer is not JSON",
                           status=r.status_code) from None
    if not isinstance(data, dict):
        raise BackendError(f"{r.request.method} {r.request.url.path}: unexpected answer from the backend",
                           status=r.status_code)
    return data


def _detail(r: httpx.Response) -> str:
    try:
        d = r.json().get("detail")
    except (ValueError, AttributeError):
        d = None
    return f"HTTP {r.status_code}: {d}" if d else f"HTTP {r.status_code}"
