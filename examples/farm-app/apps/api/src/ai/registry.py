"""The assistant's models: farm.toml's ``[ai.providers.*]``, as a registry the routes ask for a client.

In development (``FARM_ENV=development``) ``farm build`` hot-swaps this registry through the dev
router when farm.toml's ``[ai]`` section changes: models appear and disappear without a restart.
"""

from pathlib import Path

from farmbuild.runtime import AIRegistry

# apps/api/src/ai/registry.py -> the project root, where farm.toml is
PROJECT_ROOT = Path(__file__).resolve().parents[4]

registry = AIRegistry.from_project(PROJECT_ROOT)
