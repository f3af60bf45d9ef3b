"""Which file events ``farm watch`` cares about. Pure predicates: a path in, a verdict out.

Two layers, as in watchfiles: the *roots* passed to the watcher are narrow (the backend
sources, plugin dirs, migrations, the config file), because watchfiles applies its filter
only after events are collected; this filter then drops what is inside those roots but is
never a source: editor swap, backup and temp files, caches, farmbuild's own state and every
file a task generates (a build writing its outputs must never trigger a build).

>>> f = WatchFilter(Path("/p"))
>>> f.accepts(Path("/p/apps/api/src/models/catalog.py"))
True
>>> f.accepts(Path("/p/apps/api/src/models/.catalog.py.swp"))
False
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..importgraph import SKIP_DIRS

# Directory names that never hold sources (any depth).
IGNORED_DIRS = frozenset(SKIP_DIRS | {".idea", ".vscode", ".ruff_cache", ".svn", ".hg", "coverage", "htmlcov"})

# File names editors and tools create next to the file being saved.
_IGNORED_NAME_RE = re.compile(
    r"""(
        ^\.                       # hidden: vim .x.swp, emacs .#x lock, gedit .goutputstream-*, our .x.farmtmp
      | ~$                        # vim/emacs/kate backup: x.py~
      | ^\#.*\#$                  # emacs autosave: #x.py#
      | ___jb_(tmp|old|bak)___$   # JetBrains safe write: x.py___jb_tmp___, x.py___jb_old___
      | \.(sw[a-p]|swpx|swx)$     # vim swap files when not hidden
      | \.(tmp|temp|bak|orig|rej|pyc|pyo|farmtmp|crdownload|part|kate-swp|dpkg-new|dpkg-old)$
      | ^\d+$                     # vim's write test file: 4913 (then 5036, 5159, ...)
      | ^sed[A-Za-z0-9]{6}$       # sed -i's temp file
      | ^flycheck_                # emacs flycheck copies
      | ^\.~lock\..*\#$           # LibreOffice lock
    )""",
    re.VERBOSE,
)


def is_editor_artifact(name: str) -> bool:
    """A swap, backup or temp file an editor or tool writes beside the real one.

    >>> [is_editor_artifact(n) for n in ("catalog.py", "catalog.py~", "4913", "catalog.py___jb_tmp___")]
    [False, True, True, True]
    """
    return bool(_IGNORED_NAME_RE.search(name))


class WatchFilter:
    """The verdict for one path (absolute) below the project ``root``.

    ``generated`` are the targets of the task graph; ``ignore_globs`` are project-relative
    globs from ``development.hot_reload.watch[].ignore``.
    """

    def __init__(self, root: Path, *, generated: Iterable[Path] = (), ignore_globs: Iterable[str] = (),
                 state_dir: str = ".farm") -> None:
        self.root = Path(root)
        self.generated = frozenset(Path(p) for p in generated)
        self.ignore_globs = tuple(ignore_globs)
        self.state_dir = state_dir

    def rel(self, path: Path) -> PurePosixPath | None:
        try:
            return PurePosixPath(Path(path).relative_to(self.root).as_posix())
        except ValueError:
            return None

    def accepts(self, path: Path) -> bool:
        path = Path(path)
        rel = self.rel(path)
        if rel is None or not rel.parts:
            return False  # outside the project, or the root itself
        *dirs, name = rel.parts
        if dirs and dirs[0] == self.state_dir:
            return False
        if any(d in IGNORED_DIRS or d.startswith(".") for d in dirs):
            return False
        if name.startswith(".doit.db") or is_editor_artifact(name):
            return False
        if path in self.generated:
            return False
        text = rel.as_posix()
        return not any(fnmatch.fnmatchcase(text, g) or _glob_dir_match(text, g) for g in self.ignore_globs)

    def __call__(self, change: object, path: str) -> bool:
        """watchfiles' filter signature (``Change``, ``str``)."""
        return self.accepts(Path(path))


def _glob_dir_match(text: str, glob: str) -> bool:
    """``**/x/**`` style globs also match when the path starts inside ``x``."""
    if glob.startswith("**/"):
        return fnmatch.fnmatchcase(text, glob[3:])
    return False
