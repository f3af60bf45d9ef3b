"""Subcommands beyond build/list/explain/clean.

Each feature module appends an ``add(subparsers)`` function to
:data:`farmbuild.cli.EXTRA_COMMANDS` when imported; this module imports them (one line each),
and the CLI imports this module before it builds its parser.
"""

from __future__ import annotations
from .watch import cli as _watch  # noqa: E402,F401  (farm watch)
