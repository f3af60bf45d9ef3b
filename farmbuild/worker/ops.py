"""Worker ops contributed by task kinds beyond ``schema``.

:mod:`farmbuild.worker.server` imports this module at start-up; each op registers itself
with ``@op("name")``. Keep imports here light: the worker imports this on every start.
"""

from __future__ import annotations

from .server import op  # noqa: F401  (re-exported for op modules)
