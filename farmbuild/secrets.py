"""The secrets farmbuild knows of, and what keeps them out of everything it writes.

Secrets reach farmbuild only through environment variables whose *names* the config gives:
``database.url_env`` (a MongoDB URL, usually with a password) and
``ai.providers.<name>.api_key_env`` (``OPENAI_API_KEY`` for an OpenAI provider without one).
farmbuild's own messages never include them (see :mod:`farmbuild.db.url`). What it cannot
control is text that *passes through* it: user code whose import error quotes the input it
rejected (pydantic-settings prints ``input_value='mongodb://user:pw@...'``), a model whose
default is read from the environment, a server that echoes the key it refused. So:

- :func:`remember` is called whenever a config is loaded; it reads the current values of those
  variables (every form a URL's password can take, see :func:`farmbuild.db.url.secrets_of`);
- :func:`scrub` replaces each of them by ``***`` — applied to every task error at the source
  (:meth:`farmbuild.graph.BuildContext.record`), to events sent to Vite, and to everything the
  command line prints (:class:`ScrubbingStream` around stdout and stderr);
- :func:`found_in` lets the write helper refuse a generated file that would contain one: a
  secret baked into committed code must be fixed at its source, not masked.

Values shorter than :data:`MIN_LENGTH` are not treated as secrets (masking every ``test`` in
the output would make it unreadable; such a password protects nothing anyway).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import FarmConfig

MIN_LENGTH = 6
MASK = "***"

_lock = threading.Lock()
_scrub: dict[str, str] = {}  # secret text (every variant) -> the variable it came from
_strong: dict[str, str] = {}  # the variants that would be a leak in a generated file


def sources(config: "FarmConfig") -> dict[str, str]:
    """``{environment variable: config key naming it}`` for every secret the config refers to."""
    from .config import OPENAI_DEFAULT_KEY_ENV

    out = {config.database.url_env: "database.url_env"}
    for name, p in config.ai.providers.items():
        env = p.api_key_env or (OPENAI_DEFAULT_KEY_ENV if config.ai.provider_type(name) == "openai" else None)
        if env:
            out.setdefault(env, f"ai.providers.{name}.api_key_env")
    return out


def _variants(value: str, *, url: bool) -> tuple[set[str], set[str]]:
    """(every form to mask in messages, the forms whose presence in a file is a leak)."""
    from urllib.parse import quote, unquote

    from .db.url import URLProblem, _split, secrets_of

    value = value.strip()
    masked, strong = {value}, {value}
    if url:
        # a URL without credentials (mongodb://127.0.0.1:27017) is shown: it says where farm applied
        # migrations; its parts that are secret, and the whole of one that has any, are masked
        masked = set(secrets_of(value))
        try:
            password = _split(value)[1].partition(":")[2]
        except URLProblem:
            password = ""
        if password:
            strong |= {password, unquote(password), quote(unquote(password), safe="")}
    # the same text as it appears inside a JSON string (--json output, events, state files)
    masked |= {json.dumps(s)[1:-1] for s in masked}
    keep = {s for s in masked if len(s) >= MIN_LENGTH}
    return keep, {s for s in strong if len(s) >= MIN_LENGTH}


def remember(config: "FarmConfig", environ: Mapping[str, str] | None = None) -> None:
    """Learn the current values of the secrets ``config`` names (called by :func:`load_config`)."""
    env = os.environ if environ is None else environ
    found_scrub: dict[str, str] = {}
    found_strong: dict[str, str] = {}
    for var, key in sources(config).items():
        value = env.get(var, "")
        if len(value.strip()) < MIN_LENGTH:
            continue
        masked, strong = _variants(value, url=key == "database.url_env")
        for s in masked:
            found_scrub.setdefault(s, var)
        for s in strong:
            found_strong.setdefault(s, var)
    with _lock:
        _scrub.update(found_scrub)
        _strong.update(found_strong)


def forget_all() -> None:
    """Forget every remembered secret (tests)."""
    with _lock:
        _scrub.clear()
        _strong.clear()


def scrub(text: str) -> str:
    """``text`` with every known secret replaced by ``***``."""
    if not _scrub or not text:
        return text
    with _lock:
        known = sorted(_scrub, key=len, reverse=True)  # the URL before its parts
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def scrub_error(exc: BaseException) -> None:
    """Mask known secrets in a :class:`~farmbuild.errors.FarmbuildError`'s message and fields, in place."""
    if not _scrub:
        return
    for attr in ("message", "problem", "hint", "detail"):
        value = getattr(exc, attr, None)
        if isinstance(value, str):
            setattr(exc, attr, scrub(value))
    exc.args = tuple(scrub(a) if isinstance(a, str) else a for a in exc.args)


def found_in(data: str | bytes) -> str | None:
    """The environment variable whose secret value ``data`` contains, if any."""
    if not _strong:
        return None
    with _lock:
        known = list(_strong.items())
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    for secret, var in known:
        if secret.encode("utf-8", "surrogatepass") in raw:
            return var
    return None


class ScrubbingStream:
    """A text stream that masks known secrets in everything written through it (the CLI wraps
    stdout and stderr in one, so no print or log line can carry a secret out)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(scrub(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    @property
    def wrapped(self) -> IO[str]:
        return self._stream
