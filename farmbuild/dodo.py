"""Plain ``doit`` drives the same task graph as ``farm build``.

In your app's root, a two-line ``dodo.py``::

    from farmbuild.dodo import doit_tasks
    DOIT_CONFIG, task_farm = doit_tasks(__file__)

then ``doit list``, ``doit``, ``doit -n 2``, ``doit info schema:catalog`` and ``doit forget``
work on farmbuild's tasks, with the same database (``.doit.db``, sqlite3), checker (MD5)
and lock as ``farm build``.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def doit_tasks(anchor: str | Path, project: str | Path = ".") -> tuple[dict[str, Any], Callable[[], Iterator[dict[str, Any]]]]:
    """``(DOIT_CONFIG, task_farm)`` for the project at ``project``, relative to ``anchor``'s directory."""
    anchor = Path(anchor).resolve()
    base = anchor.parent if anchor.is_file() or anchor.suffix == ".py" else anchor
    root = (base / project).resolve()

    from .runner import check_db, doit_config

    note = check_db(root)
    if note:
        log.warning("%s", note)
    config = doit_config(root)
    config["verbosity"] = 1

    def task_farm() -> Iterator[dict[str, Any]]:
        """farmbuild's tasks (see `farm list`)"""
        from .graph import BuildContext, make_graph
        from .lock import ProjectLock
        from .project import discover

        project_ = discover(root)
        lock = ProjectLock(project_.state_dir, what="doit")
        lock.acquire()  # held until this doit process exits
        atexit.register(lock.release)
        ctx = BuildContext(project_)
        graph = make_graph(ctx)
        if lock.interrupted:
            from .build import temp_dirs
            from .fsutil import sweep_temp_files

            sweep_temp_files(temp_dirs(project_, graph))
        for spec in graph.specs.values():
            yield spec.to_doit(ctx)

    return config, task_farm
