"""farmbuild's runtime half: small pieces that run *inside* the user's FastAPI app.

- :class:`AIRegistry` — the configured AI providers and models, swapped in process
  (``register_model``/``update_model``/``unload_model``, or :meth:`AIRegistry.apply` with a whole
  new set); ``registry.get(model)`` returns a small chat/generate client for Ollama or any
  OpenAI-compatible API.
- :class:`PluginHost` — mounts the plugins listed in the generated registry module and reloads
  one in a running process (unregister its routes, purge its modules, import, register, reset
  ``app.openapi_schema``).
- :func:`dev_router` — ``GET /__farm/health``, ``POST /__farm/ai/reload``,
  ``POST /__farm/plugins/reload`` for ``farm build``/``farm watch``; mount it only when
  :func:`is_development` (``FARM_ENV=development``). Loopback clients, a loopback ``Host``
  header and the project's dev token only; anything else gets 403.

Importing this package is cheap: it never imports doit, watchfiles or farmbuild's build
machinery, and the names below are loaded on first use.

>>> from farmbuild.runtime import AIRegistry, PluginHost, dev_router, is_development
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ai import AIRegistry, ChatClient, ChatReply, ModelEntry, ProviderSpec
    from .dev import dev_router, is_development
    from .errors import AIError, ModelNotFound, PluginLoadError, ProviderError, ProviderUnavailable
    from .plugins import PluginHost
    from .providers import OllamaAPI, OpenAIAPI

_EXPORTS = {
    "AIRegistry": "ai",
    "ChatClient": "ai",
    "ChatReply": "ai",
    "ModelEntry": "ai",
    "ProviderSpec": "ai",
    "dev_router": "dev",
    "is_development": "dev",
    "AIError": "errors",
    "ModelNotFound": "errors",
    "PluginLoadError": "errors",
    "ProviderError": "errors",
    "ProviderUnavailable": "errors",
    "PluginHost": "plugins",
    "OllamaAPI": "providers",
    "OpenAIAPI": "providers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
