"""Running the task graph through doit, in process.

Same engine as plain ``doit`` (``DoitMain`` with a loader), with farmbuild's settings:
the sqlite3 backend (dbm cannot be opened by two processes: doit issues 121/248/380, and
``farm watch`` plus a manual ``doit`` is normal), the MD5 checker, ``--continue`` so one
broken module does not stop unrelated tasks, and a collecting reporter.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from doit.cmd_base import TaskLoader2
from doit.doit_cmd import DoitMain
from doit.loader import generate_tasks

from .fsutil import write_internal
from .graph import BuildContext, TaskGraph
from .report import CollectingReporter

log = logging.getLogger(__name__)

DB_NAME = ".doit.db"


def doit_config(root: Path) -> dict[str, Any]:
    return {
        "dep_file": str(root / DB_NAME),
        "backend": "sqlite3",
        "check_file_uptodate": "md5",
        "verbosity": 0,
    }


STAMP = Path(".farm") / "cache" / "doit-db.json"


def _stamp(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def remember_db(root: Path) -> None:
    """Record the doit DB as farmbuild just left it (after a build, under the lock): the next
    :func:`check_db` trusts a DB nobody else has touched since and skips reading it whole."""
    stamp = _stamp(root / DB_NAME)
    if stamp is not None:
        write_internal(root / STAMP, json.dumps(stamp) + "\n")


def check_db(root: Path) -> str | None:
    """Set aside a doit DB that is not a readable sqlite database; return a message if so.

    A truncated or garbage ``.doit.db`` would otherwise stop every build with doit's error;
    losing it only costs one full (still incremental-by-content) rebuild. A DB exactly as the
    last farmbuild build left it (:func:`remember_db`) is trusted without being read.
    """
    path = root / DB_NAME
    if not path.exists():
        return None
    stamp = _stamp(path)
    try:
        if stamp is not None and json.loads((root / STAMP).read_text("utf-8")) == stamp:
            return None
    except (OSError, ValueError):
        pass
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            conn.execute("select count(*) from doit").fetchone()
            row = conn.execute("pragma quick_check").fetchone()
            if row and row[0] != "ok":
                raise sqlite3.DatabaseError(row[0])
            # doit decodes a task's record only when it checks that task, and a record that is not
            # a JSON object stops the whole run with a traceback: look at them all now (in C)
            bad = _bad_records(conn)
            if bad:
                raise sqlite3.DatabaseError(f"{bad} task record{'s are' if bad != 1 else ' is'} not doit's")
        finally:
            conn.close()
        return None
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc) and path.stat().st_size == 0:
            return None  # an empty file: sqlite makes it a fresh database
        bad = exc
    except sqlite3.DatabaseError as exc:
        bad = exc
    n = 1
    while (aside := path.with_name(f"{DB_NAME}.corrupt-{n}")).exists():
        n += 1
    shutil.move(str(path), aside)
    for suffix in ("-journal", "-wal", "-shm"):
        extra = path.with_name(DB_NAME + suffix)
        if extra.exists():
            extra.unlink()
    return f"{DB_NAME} was unreadable ({bad}); moved it to {aside.name} and rebuilding from the sources"


# What doit reads from a task's record without checking: a file dependency's [mtime, size, md5]
# (unpacked), the saved values (a dict), the previous dependencies (a list).
_BAD_ENTRIES = """
select count(distinct doit.task_id) from doit, json_each(doit.task_data) as e
 where (e.key like '/%' and (e.type != 'array' or json_array_length(e.value) != 3
        or json_type(e.value, '$[0]') not in ('integer', 'real')
        or json_type(e.value, '$[1]') not in ('integer', 'real')
        or json_type(e.value, '$[2]') != 'text'))
    or (e.key = '_values_:' and e.type != 'object')
    or (e.key = 'deps:' and e.type != 'array')
"""


def _bad_records(conn: sqlite3.Connection) -> int:
    """How many task records doit would choke on (0 when they all look like doit's own)."""
    try:
        row = conn.execute("select count(*) from doit where json_valid(task_data) = 0"
                           " or json_type(task_data) != 'object'").fetchone()
        if row and row[0]:
            return int(row[0])
        row = conn.execute(_BAD_ENTRIES).fetchone()
        return int(row[0]) if row else 0
    except sqlite3.OperationalError:  # a SQLite built without JSON functions: records are checked
        bad = 0  # records are checked for being JSON objects only
        for (data,) in conn.execute("select task_data from doit"):
            try:
                if not isinstance(json.loads(data), dict):
                    bad += 1
            except (TypeError, ValueError):
                bad += 1
        return bad


class _Loader(TaskLoader2):
    def __init__(self, dicts: list[dict[str, Any]], config: dict[str, Any]) -> None:
        super().__init__()
        self._dicts = dicts
        self._config = config

    def setup(self, opt_values: Any) -> None:
        pass

    def load_doit_config(self) -> dict[str, Any]:
        return dict(self._config)

    def load_tasks(self, cmd: Any, pos_args: Any) -> list[Any]:
        return list(generate_tasks("farm", (d for d in self._dicts)))


def run(
    graph: TaskGraph,
    ctx: BuildContext,
    selected: list[str] | None,
    reporter: CollectingReporter,
    *,
    jobs: int = 0,
    always: bool = False,
    load: set[str] | None = None,
) -> int:
    """Run ``selected`` tasks (all when None) and their dependencies. Returns doit's exit code.

    ``load`` restricts the tasks doit is given (it must hold ``selected`` and everything they
    consume, :meth:`TaskGraph.upstream`); None gives it all.
    """
    specs = graph.specs.values() if load is None else [s for sid, s in graph.specs.items() if sid in load]
    dicts = [spec.to_doit(ctx) for spec in specs]
    config = doit_config(ctx.project.root)
    config["reporter"] = reporter
    config["outfile"] = io.StringIO()
    args = ["run", "--continue"]
    if jobs > 1:
        args += ["-n", str(jobs), "-P", "process"]
    if always:
        args.append("--always-execute")
    args += list(selected or [])
    main = DoitMain(_Loader(dicts, config), config_filenames=())
    code = main.run(args)
    out = config["outfile"].getvalue().strip()
    if out:
        log.debug("doit: %s", out)
    return int(code)


def forget(root: Path, task_ids: list[str]) -> None:
    """Drop what doit remembers about ``task_ids`` (as ``doit forget``), so they run next time.

    Used by ``farm watch`` when a task's input changed while the task ran: doit hashes the
    inputs *after* running a task (doit issue 119), so it would record the new content as
    built from the old one.
    """
    if not task_ids:
        return
    from doit.dependency import Dependency, MD5Checker, SqliteDB

    dep = Dependency(SqliteDB, str(root / DB_NAME), checker_cls=MD5Checker)
    try:
        for tid in task_ids:
            dep.remove(tid)
    finally:
        dep.close()
    remember_db(root)
