"""Plugin manifests: ``plugins/<name>/plugin.json``, validated before anything is generated from them.

FARM's format::

    {"name": "wishlist", "version": "0.1.0", "description": "...",
     "frontend": {"components": {"WishlistButton": {"path": "frontend/WishlistButton.tsx"}}},
     "backend": {"router": "plugins.wishlist.backend.router:router", "prefix": "/api/plugins/wishlist"}}

Rules (each violation is a :class:`PluginError` naming the manifest, the key and what to do):
the name is an identifier and matches its folder; component names are PascalCase identifiers,
unique across plugins; every path — component files, the router's module — stays inside the
plugin's folder: no absolute paths, no ``..``, no symlink that leads out; the router is
``module:attr`` with the module inside the plugin's package; unknown keys are refused (a typo
fails loudly). ``backend.prefix`` defaults to ``/api/plugins/<name>``; a component's ``export``
defaults to the module's default export (what ``React.lazy`` wants).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ConfigError

MANIFEST = "plugin.json"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMPONENT = re.compile(r"^[A-Z][A-Za-z0-9_]*$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+\-]*$")
_PREFIX = re.compile(r"^(/[A-Za-z0-9_\-.~]+)+$")
_ROUTER = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
COMPONENT_EXT = (".tsx", ".ts", ".jsx", ".js")
_TOP_KEYS = {"name", "version", "description", "author", "license", "homepage", "keywords", "frontend", "backend"}
_JS_RESERVED = frozenset("""break case catch class const continue debugger default delete do else enum export extends
false finally for function if import in instanceof new null return super switch this throw true try typeof var void
while with yield let static implements interface package private protected public await""".split())


class PluginError(ConfigError):
    """A manifest is invalid: ``plugins/wishlist/plugin.json:7: frontend.components.X.path: ...``."""


@dataclass(frozen=True)
class Component:
    name: str
    path: str  # project-relative POSIX path of the component's file
    export: str = "default"


@dataclass(frozen=True)
class Plugin:
    name: str
    version: str
    manifest: str  # project-relative
    directory: str  # project-relative
    package: str  # dotted import name of the plugin's folder, e.g. plugins.wishlist
    description: str | None = None
    router: str | None = None  # module:attr
    router_file: str | None = None  # project-relative file of the router's module
    prefix: str | None = None
    components: tuple[Component, ...] = field(default_factory=tuple)

    @property
    def router_module(self) -> str | None:
        return self.router.partition(":")[0] if self.router else None


def find_manifests(plugin_dirs: list[Path]) -> list[tuple[Path, Path]]:
    """``(plugins_dir/<name>/plugin.json, plugins_dir)`` for every plugin folder, paths *not* resolved
    (so a symlinked folder is still seen as one, and refused)."""
    out = []
    for d in plugin_dirs:
        if not d.is_dir():
            continue
        for sub in sorted(d.iterdir(), key=lambda p: p.name):
            if (sub / MANIFEST).is_file():
                out.append((sub / MANIFEST, d))
    return out


def load_plugins(root: Path, plugin_dirs: list[Path]) -> list[Plugin]:
    """Validate every manifest; the plugins sorted by name. Raises :class:`PluginError`."""
    plugins: list[Plugin] = []
    seen: dict[str, str] = {}
    components: dict[str, str] = {}
    root = root.resolve()
    for d in plugin_dirs:
        if d.exists() and not d.resolve().is_relative_to(root):
            raise PluginError("farm.toml", "plugins.dirs", f"{d} leads outside the project (a symlink?);"
                              " plugins must live inside the project")
    for manifest, base in find_manifests(plugin_dirs):
        plugin = load_manifest(root, manifest, base)
        if plugin.name in seen:
            raise PluginError(plugin.manifest, "name", f"plugin {plugin.name!r} is also defined by {seen[plugin.name]};"
                              " rename one of the folders")
        seen[plugin.name] = plugin.manifest
        for c in plugin.components:
            if c.name in components:
                raise PluginError(plugin.manifest, f"frontend.components.{c.name}",
                                  f"component {c.name!r} is also defined by {components[c.name]}; rename one (the"
                                  " generated index exports every component by name)",
                                  line=_line(manifest, f"frontend.components.{c.name}"))
            components[c.name] = plugin.manifest
        plugins.append(plugin)
    return sorted(plugins, key=lambda p: p.name)


def _rel(root: Path, path: Path) -> str:
    try:
        return PurePosixPath(path.relative_to(root)).as_posix()
    except ValueError:
        return str(path)


def _line(manifest: Path, key: str) -> int | None:
    """Best-effort line of a dotted key in the manifest: each part searched after the previous one."""
    try:
        lines = manifest.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    found: int | None = None
    start = 0
    for part in key.split("."):
        hit = next((i for i in range(start, len(lines)) if f'"{part}"' in lines[i]), None)
        if hit is None:
            return found + 1 if found is not None else None
        found, start = hit, hit + 1
    return found + 1 if found is not None else None


def load_manifest(root: Path, manifest: Path, plugins_dir: Path) -> Plugin:
    """One ``plugin.json`` (see the module docstring)."""
    root = root.resolve()
    folder = manifest.parent
    rel_manifest = _rel(root, folder.absolute() / MANIFEST)

    def err(key: str | None, problem: str, line_key: str | None = None) -> PluginError:
        lk = line_key or key
        return PluginError(rel_manifest, key, problem, line=_line(manifest, lk) if lk else None)

    # the folder (and its manifest) must not be a symlink leading out of the plugins directory
    real_dir = folder.resolve()
    if real_dir.parent != plugins_dir.resolve() or not manifest.resolve().is_relative_to(real_dir):
        raise err(None, f"{_rel(root, folder.absolute())} leads outside {_rel(root, plugins_dir.absolute())} (a symlink?);"
                  " a plugin's files must live in its folder")
    try:
        raw = manifest.read_bytes()
    except OSError as exc:
        raise err(None, f"cannot read the file: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise PluginError(rel_manifest, None, "the file is not UTF-8 text; save it as UTF-8",
                          line=raw[: exc.start].count(b"\n") + 1) from None
    except json.JSONDecodeError as exc:
        raise PluginError(rel_manifest, None, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise err(None, "expected a JSON object")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise err(unknown[0], f"unknown key; expected one of: {', '.join(sorted(_TOP_KEYS))}")

    name = data.get("name")
    if not isinstance(name, str) or not _IDENT.match(name):
        raise err("name", f"expected an identifier (letters, digits, '_'), got {name!r}")
    if name != folder.name:
        raise err("name", f"{name!r} does not match its folder {folder.name!r}; rename one so they agree")
    version = data.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise err("version", f"expected a version string such as \"0.1.0\", got {version!r}")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise err("description", "expected a string")
    for key in ("author", "license", "homepage"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise err(key, "expected a string")
    if data.get("keywords") is not None and not (
            isinstance(data["keywords"], list) and all(isinstance(k, str) for k in data["keywords"])):
        raise err("keywords", "expected an array of strings")

    package_parts = list(PurePosixPath(_rel(root, folder.absolute())).parts)
    if not all(_IDENT.match(p) for p in package_parts):
        raise err(None, f"{'/'.join(package_parts)} is not importable as a Python package (every folder name must be"
                  " an identifier)")
    package = ".".join(package_parts)

    components: list[Component] = []
    frontend = data.get("frontend")
    if frontend is not None:
        if not isinstance(frontend, dict):
            raise err("frontend", "expected an object with \"components\"")
        extra = sorted(set(frontend) - {"components"})
        if extra:
            raise err(f"frontend.{extra[0]}", "unknown key; expected: components")
        comps = frontend.get("components") or {}
        if not isinstance(comps, dict):
            raise err("frontend.components", "expected an object {\"ComponentName\": {\"path\": \"...\"}}")
        for cname, spec in comps.items():
            key = f"frontend.components.{cname}"
            if not _COMPONENT.match(cname) or cname in _JS_RESERVED:
                raise err(key, "a component name must be a PascalCase identifier (React renders lower-case names as"
                          " HTML tags), e.g. WishlistButton")
            if not isinstance(spec, dict):
                raise err(key, "expected an object {\"path\": \"...\"}")
            extra = sorted(set(spec) - {"path", "export"})
            if extra:
                raise err(f"{key}.{extra[0]}", "unknown key; expected: path, export")
            path = _inside(root, folder, spec.get("path"), lambda p: err(f"{key}.path", p))
            if not path.name.endswith(COMPONENT_EXT):
                raise err(f"{key}.path", f"expected a {', '.join(COMPONENT_EXT)} file, got {path.name!r}")
            export = spec.get("export", "default")
            if not isinstance(export, str) or not (export == "default" or _IDENT.match(export)):
                raise err(f"{key}.export", "expected the name of the module's export (default: its default export)")
            components.append(Component(cname, _rel(root, path), export))

    router = prefix = router_file = None
    backend = data.get("backend")
    if backend is not None:
        if not isinstance(backend, dict):
            raise err("backend", "expected an object with \"router\"")
        extra = sorted(set(backend) - {"router", "prefix"})
        if extra:
            raise err(f"backend.{extra[0]}", "unknown key; expected: router, prefix")
        router = backend.get("router")
        if not isinstance(router, str) or not _ROUTER.match(router):
            raise err("backend.router", f'Import string {router!r} must be in format "<module>:<attribute>",'
                      f' e.g. "{package}.backend.router:router"')
        module = router.partition(":")[0]
        if not module.startswith(package + "."):
            raise err("backend.router", f"the module {module!r} is not inside the plugin's package {package!r}"
                      f" (a plugin's code lives in its folder: {package}.<module>)")
        sub = module[len(package) + 1:].split(".")
        candidates = [PurePosixPath(*sub).as_posix() + ".py", PurePosixPath(*sub, "__init__.py").as_posix()]
        found = None
        for cand in candidates:
            full = folder / cand
            if full.is_file() or full.is_symlink():
                found = _inside(root, folder, cand, lambda p: err("backend.router", p))
                break
        if found is None:
            raise err("backend.router", f"module {module!r} not found: expected {_rel(root, folder.absolute())}/"
                      f"{candidates[0]}")
        router_file = _rel(root, found)
        prefix = backend.get("prefix", f"/api/plugins/{name}")
        if not isinstance(prefix, str) or not _PREFIX.match(prefix) or "/../" in prefix + "/" or "/./" in prefix + "/":
            raise err("backend.prefix", f"expected a URL path such as /api/plugins/{name} (no trailing slash), got {prefix!r}")
    return Plugin(name=name, version=version, manifest=rel_manifest, directory=_rel(root, folder.absolute()),
                  package=package, description=description, router=router, router_file=router_file, prefix=prefix,
                  components=tuple(components))


def _inside(root: Path, folder: Path, value: Any, fail: Any) -> Path:
    """``value`` as a file inside the plugin ``folder`` (symlinks resolved), or raise ``fail(problem)``."""
    if not isinstance(value, str) or not value.strip():
        raise fail("expected a path relative to the plugin's folder")
    if "\x00" in value:
        raise fail("a path cannot contain NUL")
    if "\\" in value:
        raise fail(f"use '/' in paths, got {value!r}")
    p = PurePosixPath(value)
    if p.is_absolute() or re.match(r"^[A-Za-z]:", value):
        raise fail(f"expected a path relative to the plugin's folder, got the absolute path {value!r}")
    if ".." in p.parts:
        raise fail(f"{value!r} climbs out of the plugin's folder with '..'; keep the plugin's files inside it")
    full = folder.absolute().joinpath(*p.parts)
    real = full.resolve()
    if not real.is_relative_to(folder.resolve()):
        raise fail(f"{value!r} is a symlink that leads outside the plugin's folder; copy the file into it")
    if not real.is_file():
        raise fail(f"{value!r} does not exist in {_rel(root, folder.absolute())}")
    return full
