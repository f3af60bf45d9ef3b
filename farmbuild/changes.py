"""The change analyzer: a path in, a :class:`ChangeKind` out. Pure: no disk, no clock.

Rules are ordered most-specific-first. The original design checked ``apps/api/src/*.py``
before ``src/ai/``, so its ai-config kind could never fire; here the AI directory, the model
and route directories are all tested before the generic backend-source rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePosixPath
from typing import Any


class ChangeKind(str, Enum):
    BACKEND_MODEL = "backend-model"
    BACKEND_ROUTE = "backend-route"
    BACKEND_SOURCE = "backend-source"
    AI_CONFIG = "ai-config"
    FRONTEND_COMPONENT = "frontend-component"
    FRONTEND_PAGE = "frontend-page"
    FRONTEND_HOOK = "frontend-hook"
    FRONTEND_SOURCE = "frontend-source"
    FARM_CONFIG = "farm-config"
    VITE_CONFIG = "vite-config"
    DATABASE_MIGRATION = "database-migration"
    PLUGIN_CONFIG = "plugin-config"
    STYLE = "style"
    ASSET = "asset"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


STYLE_EXT = frozenset({".css", ".scss", ".sass", ".less", ".styl", ".pcss"})
ASSET_EXT = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".avif", ".woff", ".woff2", ".ttf", ".mp4"})
FRONTEND_EXT = frozenset({".ts", ".tsx", ".js", ".jsx", ".mts", ".mjs", ".cts", ".cjs", ".vue", ".svelte"})
VITE_CONFIGS = frozenset(f"vite.config.{e}" for e in ("ts", "js", "mjs", "mts", "cjs", "cts"))


@dataclass(frozen=True)
class Layout:
    """Project-relative POSIX directories that the rules look at (made from the config)."""

    backend_root: str = "apps/api"
    model_dirs: tuple[str, ...] = ("apps/api/src/models",)
    route_dirs: tuple[str, ...] = ("apps/api/src/routes",)
    ai_dir: str = "apps/api/src/ai"
    frontend_root: str = "apps/web"
    frontend_src: str = "apps/web/src"
    migrations_dir: str = "apps/api/migrations"
    plugin_dirs: tuple[str, ...] = ("plugins",)
    config_files: tuple[str, ...] = ("farm.toml", "pyproject.toml")

    @classmethod
    def from_config(cls, config: Any, config_file: str | None = None) -> "Layout":
        """Build from a :class:`farmbuild.config.FarmConfig`."""
        b = config.backend
        root = PurePosixPath(b.root)
        fe = PurePosixPath(config.frontend.root)
        files = ("farm.toml", "pyproject.toml") if config_file is None else (config_file,)
        return cls(
            backend_root=str(root),
            model_dirs=tuple(str(root / d) for d in b.models),
            route_dirs=tuple(str(root / d) for d in b.routes),
            ai_dir=str(root / b.ai),
            frontend_root=str(fe),
            frontend_src=str(fe / config.frontend.src),
            migrations_dir=str(PurePosixPath(config.database.migrations)),
            plugin_dirs=tuple(str(PurePosixPath(d)) for d in config.plugins.dirs),
            config_files=files,
        )


def _under(path: PurePosixPath, directory: str) -> bool:
    d = PurePosixPath(directory)
    return d == PurePosixPath(".") or (path != d and path.is_relative_to(d))


def classify(rel_path: str, layout: Layout = Layout()) -> ChangeKind:
    """Kind of a change to ``rel_path`` (project-relative, POSIX).

    >>> classify("apps/api/src/ai/providers.py")
    <ChangeKind.AI_CONFIG: 'ai-config'>
    >>> classify("apps/api/src/models/catalog.py")
    <ChangeKind.BACKEND_MODEL: 'backend-model'>
    """
    p = PurePosixPath(rel_path.replace("\\", "/"))
    ext = p.suffix.lower()
    if str(p) in layout.config_files:
        return ChangeKind.FARM_CONFIG
    if p.name in VITE_CONFIGS and str(p.parent) == layout.frontend_root:
        return ChangeKind.VITE_CONFIG
    if _under(p, layout.migrations_dir) and ext == ".json":
        return ChangeKind.DATABASE_MIGRATION
    if any(_under(p, d) for d in layout.plugin_dirs):
        return ChangeKind.PLUGIN_CONFIG
    if ext == ".py":
        if _under(p, layout.ai_dir):
            return ChangeKind.AI_CONFIG
        if any(_under(p, d) for d in layout.model_dirs):
            return ChangeKind.BACKEND_MODEL
        if any(_under(p, d) for d in layout.route_dirs):
            return ChangeKind.BACKEND_ROUTE
        if _under(p, layout.backend_root):
            return ChangeKind.BACKEND_SOURCE
    if _under(p, layout.frontend_src) and ext in FRONTEND_EXT:
        parts = p.relative_to(layout.frontend_src).parts[:-1]
        if "components" in parts:
            return ChangeKind.FRONTEND_COMPONENT
        if "pages" in parts:
            return ChangeKind.FRONTEND_PAGE
        if "hooks" in parts:
            return ChangeKind.FRONTEND_HOOK
        return ChangeKind.FRONTEND_SOURCE
    if ext in STYLE_EXT:
        return ChangeKind.STYLE
    if ext in ASSET_EXT:
        return ChangeKind.ASSET
    return ChangeKind.UNKNOWN


def changed_sections(old: Mapping[str, Any], new: Mapping[str, Any], *, depth: int = 2) -> set[str]:
    """Dotted config sections that differ between two raw config tables.

    Reports at most ``depth`` levels deep: ``{"development.hot_reload", "ai"}``.

    >>> sorted(changed_sections({"ai": {"providers": {}}}, {"ai": {"providers": {"x": {}}}}, depth=1))
    ['ai']
    """
    out: set[str] = set()

    def walk(a: Any, b: Any, prefix: str, level: int) -> None:
        if a == b:
            return
        if level >= depth or not isinstance(a, Mapping) or not isinstance(b, Mapping):
            out.add(prefix)
            return
        for key in sorted(set(a) | set(b)):
            walk(a.get(key), b.get(key), f"{prefix}.{key}" if prefix else key, level + 1)

    walk(old, new, "", 0)
    out.discard("")
    return out
