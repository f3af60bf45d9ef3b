"""The shared secret between ``farm`` and the dev servers it talks to.

``farm`` writes a random token to ``.farm/dev-token`` (mode 0600) on first use and sends it in
the :data:`HEADER` header to the backend's dev router (``/__farm/...``) and to the Vite plugin's
endpoint. A web page in the developer's browser cannot read the file, so it cannot forge
requests to those endpoints (together with the loopback and Host checks on their side).

Contract (used by farmbuild.runtime, the Vite plugin and the notify tasks):
- backend: ``GET /__farm/health``, ``POST /__farm/ai/reload``, ``POST /__farm/plugins/reload``;
- Vite: ``POST /__farm/event``;
- header ``X-Farm-Token: <token>``; the token file is found from the project root, or through
  the ``FARM_DEV_TOKEN_FILE`` environment variable that ``farm watch --serve`` sets for the
  servers it starts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

HEADER = "X-Farm-Token"
ENV_FILE = "FARM_DEV_TOKEN_FILE"
TOKEN_FILE = "dev-token"


def token_path(project_root: Path) -> Path:
    return project_root / ".farm" / TOKEN_FILE


def ensure_token(project_root: Path) -> str:
    """Return the project's dev token, creating it (0600) if needed."""
    path = token_path(project_root)
    try:
        token = path.read_text("utf-8").strip()
        if token:
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)
            return token
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.replace(tmp, path)
    return token


def read_token(project_root: Path | None = None) -> str | None:
    """The token for a server process: from ``$FARM_DEV_TOKEN_FILE`` or ``<root>/.farm/dev-token``."""
    env = os.environ.get(ENV_FILE)
    candidates = [Path(env)] if env else []
    if project_root is not None:
        candidates.append(token_path(project_root))
    for path in candidates:
        try:
            token = path.read_text("utf-8").strip()
        except OSError:
            continue
        if token:
            return token
    return None
