"""Plugin registries: validated plugin manifests in, two generated files out (pure).

- the frontend index (``apps/web/src/plugins/components/index.ts``): every plugin component as a
  ``React.lazy`` component with a relative import, plus a ``plugins`` list;
- the backend registry module (``apps/api/src/farm_plugins.py``): plain data that
  :class:`farmbuild.runtime.PluginHost` mounts, with ``TYPE_CHECKING`` imports of each router so
  an AST import graph sees which code a plugin runs (nothing is imported at run time).
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import jinja2

TEMPLATES = Path(__file__).parent / "templates" / "plugins"
INDEX_TEMPLATE = TEMPLATES / "components_index.ts.j2"
REGISTRY_TEMPLATE = TEMPLATES / "registry.py.j2"
_TS_EXT = (".tsx", ".ts", ".jsx", ".js")


@dataclass(frozen=True)
class ComponentInfo:
    name: str  # a PascalCase identifier
    path: PurePosixPath  # project-relative file
    export: str = "default"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    package: str
    manifest: PurePosixPath
    description: str | None = None
    router: str | None = None  # module:attr
    prefix: str | None = None
    components: tuple[ComponentInfo, ...] = field(default_factory=tuple)


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    # JSON with every non-ASCII character escaped: a valid TS *and* Python string literal, never a raw
    # line break (U+2028) or quote that could end the literal early
    env.filters["js"] = lambda v: json.dumps(v, ensure_ascii=True)
    return env


def import_specifier(from_file: PurePosixPath, target: PurePosixPath) -> str:
    """The relative import of ``target`` from ``from_file`` (both project-relative), without the extension.

    >>> import_specifier(PurePosixPath("apps/web/src/plugins/components/index.ts"),
    ...                  PurePosixPath("plugins/wishlist/frontend/WishlistButton.tsx"))
    '../../../../../plugins/wishlist/frontend/WishlistButton'
    """
    rel = posixpath.relpath(str(target), str(from_file.parent))
    for ext in _TS_EXT:
        if rel.endswith(ext):
            rel = rel[: -len(ext)]
            break
    return rel if rel.startswith("../") else "./" + rel


def render_plugins(plugins: list[PluginInfo], *, components_index: PurePosixPath,
                   registry: PurePosixPath) -> dict[PurePosixPath, str]:
    """``{components_index: ts, registry: py}`` for ``plugins`` (sorted by name; same input, same bytes)."""
    ordered = sorted(plugins, key=lambda p: p.name)
    components = [
        {"name": c.name, "plugin": p.name, "export": c.export, "specifier": import_specifier(components_index, c.path)}
        for p in ordered for c in sorted(p.components, key=lambda c: c.name)
    ]
    env = _env()
    ts = env.get_template(INDEX_TEMPLATE.name).render(plugins=ordered, components=components)
    py = env.get_template(REGISTRY_TEMPLATE.name).render(
        plugins=ordered, project_root=posixpath.relpath(".", str(registry.parent)))
    return {components_index: ts, registry: py}
