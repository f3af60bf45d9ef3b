"""The local import graph of the user's Python code, from the AST (never by importing it).

A module's tasks depend on the module file plus everything it imports locally,
transitively, plus the ``__init__.py`` of every package on the way (importing ``a.b.c``
executes ``a/__init__.py`` and ``a/b/__init__.py``). Imports inside functions and under
``if TYPE_CHECKING:`` count too: over-approximating costs a spurious rebuild, missing one
costs a stale output.

Parsing is cached on disk by (mtime_ns, size) so a no-op build re-reads nothing.
"""

from __future__ import annotations

import ast
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# directories never scanned for local modules
SKIP_DIRS = frozenset(
    {"__pycache__", "node_modules", ".venv", "venv", ".git", ".farm", ".mypy_cache", ".pytest_cache",
     ".hypothesis", "build", "dist", ".tox", ".eggs", "site-packages"}
)


@dataclass(frozen=True)
class ImportRef:
    """One import statement, unresolved: ``from <module> import <names>`` or ``import <module>``."""

    module: str  # absolute dotted name after resolving relative dots ('' if unresolvable)
    names: tuple[str, ...]  # imported names for ``from`` imports, () for ``import``
    line: int


def parse_imports(source: bytes, module: str, is_package: bool) -> list[ImportRef]:
    """Imports of one module, relative ones resolved against ``module``.

    Raises ``SyntaxError``/``ValueError`` for code that does not parse.

    >>> [r.module for r in parse_imports(b"from .common import Money", "src.models.catalog", False)]
    ['src.models.common']
    """
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    refs: list[ImportRef] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                refs.append(ImportRef(alias.name, (), node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                up = node.level - 1
                if up > len(parts):
                    continue  # beyond the top-level package: Python raises at import time
                base = ".".join(parts[: len(parts) - up] if up else parts)
                target = f"{base}.{node.module}" if node.module and base else (node.module or base)
            else:
                target = node.module or ""
            if target:
                refs.append(ImportRef(target, tuple(a.name for a in node.names), node.lineno))
    refs.sort(key=lambda r: r.line)
    return refs


@dataclass
class _Node:
    path: Path
    module: str
    mtime_ns: int
    size: int
    refs: list[ImportRef] = field(default_factory=list)
    error: str | None = None  # the module does not parse; its import will report it properly
    too_large: bool = False  # larger than max_source_bytes: not read (the worker refuses to import it)


class ImportGraph:
    """Local modules under some source roots and who imports whom.

    ``roots`` are sys.path entries (the backend root, the project root for plugins);
    ``scan`` lists the directories actually indexed below them.
    """

    def __init__(self, roots: list[Path], scan: list[Path], cache_file: Path | None = None,
                 max_source_bytes: int | None = None) -> None:
        self.roots = [r.resolve() for r in roots]
        # a larger file is not read at all: parsing 50 MB of Python takes over a GB of memory
        self.max_source_bytes = max_source_bytes
        self.scan = [s.resolve() for s in scan]
        self.cache_file = cache_file
        self.nodes: dict[str, _Node] = {}  # module name -> node
        self.by_path: dict[Path, str] = {}
        self._deps: dict[str, list[str]] = {}
        self._rdeps: dict[str, set[str]] | None = None
        self._closure: dict[str, frozenset[str]] = {}
        self._cache_dirty = False
        self.refresh()

    # -- building -------------------------------------------------------------------

    def module_name(self, path: Path, *, resolved: bool = False) -> str | None:
        """Dotted module name of ``path`` relative to the first root containing it."""
        text = str(path if resolved else path.resolve())
        for root in self.roots:
            prefix = str(root) + os.sep
            if not text.startswith(prefix):
                continue
            rel = text[len(prefix):]
            parts = rel[:-3].split(os.sep) if rel.endswith(".py") else rel.split(os.sep)
            if parts and parts[-1] == "__init__":
                parts = parts[:-1]
            if parts and all(p.isidentifier() for p in parts):
                return ".".join(parts)
        return None

    def _files(self) -> Iterator[Path]:
        seen: set[Path] = set()
        for base in self.scan:
            if base.is_file() and base.suffix == ".py":
                if base not in seen:
                    seen.add(base)
                    yield base
                continue
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
                for fn in sorted(filenames):
                    if fn.endswith(".py"):
                        p = Path(dirpath, fn)
                        if p not in seen:
                            seen.add(p)
                            yield p

    def refresh(self) -> bool:
        """Re-scan the files; re-parse only those whose (mtime, size) moved. Returns True if anything changed."""
        cache = self._load_cache()
        old = self.nodes
        nodes: dict[str, _Node] = {}
        changed = False
        for path in self._files():
            name = self.module_name(path, resolved=True)  # walked from resolved scan dirs
            if name is None:
                continue
            try:
                st = path.stat()
            except OSError:
                continue
            if self.max_source_bytes is not None and st.st_size > self.max_source_bytes:
                prev = old.get(name)
                if prev is None or prev.size != st.st_size or prev.mtime_ns != st.st_mtime_ns or not prev.too_large:
                    changed = self._cache_dirty = True
                nodes[name] = _Node(path, name, st.st_mtime_ns, st.st_size, error="file too large", too_large=True)
                continue
            prev = old.get(name) or cache.get(name)
            if (prev is not None and not prev.too_large and prev.path == path
                    and prev.mtime_ns == st.st_mtime_ns and prev.size == st.st_size):
                nodes[name] = prev
                if name not in old:
                    changed = True
                continue
            node = _Node(path, name, st.st_mtime_ns, st.st_size)
            try:
                node.refs = parse_imports(path.read_bytes(), name, path.name == "__init__.py")
            except (SyntaxError, ValueError, UnicodeDecodeError) as exc:
                node.error = f"{type(exc).__name__}: {exc}"
            except OSError as exc:
                node.error = str(exc)
            nodes[name] = node
            changed = True
            self._cache_dirty = True
        if set(nodes) != set(old):
            changed = True
            self._cache_dirty = True
        self.nodes = nodes
        if changed or not self._deps:
            self.by_path = {n.path: m for m, n in nodes.items()}
            self._deps = {m: self._resolve(n) for m, n in nodes.items()}
            self._rdeps = None
            self._closure = {}
        self._save_cache()
        return changed

    def _resolve(self, node: _Node) -> list[str]:
        """Local modules one module imports (including the packages executed on the way)."""
        out: list[str] = []

        def add(mod: str) -> None:
            # importing a.b.c runs a/__init__, a/b/__init__ too
            parts = mod.split(".")
            for i in range(1, len(parts) + 1):
                cand = ".".join(parts[:i])
                if cand in self.nodes and cand != node.module and cand not in out:
                    out.append(cand)

        for ref in node.refs:
            add(ref.module)  # a third-party module adds nothing; a local one adds itself and its packages
            for name in ref.names:
                sub = f"{ref.module}.{name}"
                if sub in self.nodes:
                    add(sub)
        # the module's own packages are executed before it
        parts = node.module.split(".")
        for i in range(1, len(parts)):
            cand = ".".join(parts[:i])
            if cand in self.nodes and cand not in out:
                out.append(cand)
        return out

    # -- cache ----------------------------------------------------------------------

    def _load_cache(self) -> dict[str, _Node]:
        if self.nodes or self.cache_file is None:
            return {}
        try:
            data = json.loads(self.cache_file.read_text("utf-8"))
            if data.get("version") != 1:
                return {}
            out = {}
            for name, d in data["nodes"].items():
                out[name] = _Node(
                    Path(d["path"]), name, d["mtime_ns"], d["size"],
                    [ImportRef(r[0], tuple(r[1]), r[2]) for r in d["refs"]], d.get("error"),
                )
            return out
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def _save_cache(self) -> None:
        if self.cache_file is None or not self._cache_dirty:
            return
        data = {
            "version": 1,
            "nodes": {
                name: {
                    "path": str(n.path), "mtime_ns": n.mtime_ns, "size": n.size,
                    "refs": [[r.module, list(r.names), r.line] for r in n.refs], "error": n.error,
                }
                for name, n in sorted(self.nodes.items()) if not n.too_large  # never parsed: nothing to keep
            },
        }
        from .fsutil import write_internal  # local import: fsutil imports nothing from here

        write_internal(self.cache_file, json.dumps(data, sort_keys=True))
        self._cache_dirty = False

    # -- queries --------------------------------------------------------------------

    def imports(self, module: str) -> list[str]:
        return list(self._deps.get(module, ()))

    def closure(self, module: str) -> frozenset[str]:
        """``module`` and every local module it imports, transitively (cycles allowed)."""
        hit = self._closure.get(module)
        if hit is not None:
            return hit
        seen = {module}
        stack = [module]
        while stack:
            for dep in self._deps.get(stack.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        result = frozenset(x for x in seen if x in self.nodes)
        self._closure[module] = result
        return result

    def files(self, modules: Iterable[str]) -> list[Path]:
        return sorted({self.nodes[m].path for m in modules if m in self.nodes})

    def dependents(self, modules: Iterable[str]) -> set[str]:
        """Every local module that imports any of ``modules``, transitively (including them)."""
        if self._rdeps is None:
            rd: dict[str, set[str]] = {}
            for m, deps in self._deps.items():
                for d in deps:
                    rd.setdefault(d, set()).add(m)
            self._rdeps = rd
        seen = set(modules)
        stack = list(seen)
        while stack:
            for r in self._rdeps.get(stack.pop(), ()):
                if r not in seen:
                    seen.add(r)
                    stack.append(r)
        return seen

    def find_cycle(self, module: str) -> list[str] | None:
        """A cycle of local imports through ``module`` (first found), e.g. ``[a, b, a]``."""
        path: list[str] = []
        on_path: set[str] = set()
        visited: set[str] = set()

        def dfs(m: str) -> list[str] | None:
            path.append(m)
            on_path.add(m)
            for d in self._deps.get(m, ()):
                if d == module:
                    return path + [module]
                if d not in visited and d not in on_path:
                    visited.add(d)
                    found = dfs(d)
                    if found:
                        return found
            path.pop()
            on_path.discard(m)
            return None

        return dfs(module)

    def parse_error(self, module: str) -> str | None:
        node = self.nodes.get(module)
        return node.error if node else None
