"""Worker ops contributed by task kinds beyond ``schema``.

:mod:`farmbuild.worker.server` imports this module at start-up; each op registers itself
with ``@op("name")``. Keep imports here light: the worker imports this on every start.
"""

from __future__ import annotations

from .server import op  # noqa: F401  (re-exported for op modules)


@op("openapi_fragment")
def _openapi_fragment(**kwargs):  # noqa: ANN003, ANN202 - arguments as documented in openapi_op.fragment
    from .openapi_op import fragment

    return fragment(**kwargs)


@op("openapi_occurrences")
def _openapi_occurrences(**kwargs):  # noqa: ANN003, ANN202
    from .openapi_op import occurrences

    return occurrences(**kwargs)
