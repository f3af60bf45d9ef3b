"""Subcommands beyond build/list/explain/clean.

Each feature module appends an ``add(subparsers)`` function to
:data:`farmbuild.cli.EXTRA_COMMANDS` when imported; this module imports them (one line each),
and the CLI imports this module before it builds its parser.
"""

from __future__ import annotations

from .db import cli as _db_cli  # noqa: F401,E402 - farm db plan|apply|status
from . import aicli  # noqa: F401,E402  farm ai status|delete
from .watch import cli as _watch  # noqa: E402,F401  (farm watch)
