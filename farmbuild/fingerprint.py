"""What "the farmbuild version" means in a task's key: the release plus the generator code.

A task reruns when the code that shapes its output changes, not only when the version
number does: a development checkout, a patched install or an upgrade that forgot to bump the
version all get fresh outputs. The hash covers the Python sources, templates and shipped JS of
``farmbuild`` and ``codegen`` (a few hundred KB, hashed once per process).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from . import __version__

_SUFFIXES = {".py", ".j2", ".jinja2", ".mjs", ".js", ".ts", ".json"}


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    h = hashlib.md5(__version__.encode())
    here = Path(__file__).resolve().parent
    for pkg in (here, here.parent / "codegen"):
        if not pkg.is_dir():
            continue
        for path in sorted(pkg.rglob("*")):
            if path.suffix in _SUFFIXES and path.is_file() and "__pycache__" not in path.parts:
                h.update(path.relative_to(pkg.parent).as_posix().encode())
                h.update(b"\0")
                h.update(path.read_bytes())
    return f"{__version__}+{h.hexdigest()[:16]}"
