"""``db:<collection>`` (write a migration when a document model diverges from its migrations)
and ``db-apply`` (apply pending migrations to a local MongoDB, with ``database.apply = "dev"``).

Migration files are *source*: committed, reviewed, never deleted by a build. So a ``db`` task
declares no targets; it writes a new file only when the model and the state replayed from the
existing files differ, which makes it converge by construction (a second build, or a clean
one after deleting ``.farm`` and ``.doit.db*``, finds nothing to write).

Its ``file_dep`` is the schema JSON of the module declaring the collection plus the migration
files that touch the collection. A file the task writes is not known when the graph is made,
so :class:`AdoptMigrations` (a doit uptodate object) adds it to the task's recorded
dependencies after the run: the next build is up to date instead of re-running to notice it.

Ordering: ``db`` tasks come right after ``schema`` in :data:`farmbuild.tasks.KINDS`, ahead of
type generation, as the original design orders "database schema update" before "type
generation"; doit runs tasks in that order whenever their dependencies allow.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..db.files import DocumentDecl, collections_of, find_documents, migration_names, migration_paths
from ..db.url import URLProblem, is_local, parse_target, read_url
from ..db.workflow import apply_in_development, plan_collection, schema_file, write_migration
from ..errors import FarmbuildError
from ..project import Project
from .spec import UPTODATE_SIGNATURE, TaskKind, TaskSpec

if TYPE_CHECKING:
    from ..graph import BuildContext

log = logging.getLogger(__name__)

OP_APPLY = "apply"  # farmbuild.recovery key: mongodb apply


class AdoptMigrations:
    """doit uptodate object for tasks that depend on "every migration file (of a collection)".

    At check time it says "not up to date" when a relevant migration file exists that is not
    among the task's file_dep (written by an earlier task of this build, or pulled in). After a
    successful run it adds such files to the task's file_dep, so doit records their signatures.

    Files that were there when the task graph was made (``seen``) were sorted into the tasks'
    file_dep then, by their content; only files that appeared since are read here. (A later
    edit of a migration changes what it concerns, so ``farm watch`` remakes the graph for it.)
    Checking 500 collections must not parse 500 migration files 500 times.
    """

    __signature__ = UPTODATE_SIGNATURE

    def __init__(self, project: Project, collection: str | None, seen: frozenset[str] = frozenset()) -> None:
        self.project = project
        self.collection = collection
        self.seen = seen  # file names

    def _relevant(self, path: Path) -> bool:
        if self.collection is None:
            return True
        cols = collections_of(self.project, path)
        return cols is None or self.collection in cols

    def _new(self, task: Any) -> list[str]:
        known = task.file_dep
        directory = self.project.migrations_dir
        out = []
        for name in sorted(set(migration_names(directory)) - self.seen):
            p = directory / name
            if str(p) not in known and self._relevant(p):
                out.append(str(p))
        return out

    def configure_task(self, task: Any) -> None:
        def adopt() -> dict[str, Any]:
            for p in self._new(task):
                task.file_dep.add(p)
            return {}

        task.value_savers.append(adopt)

    def __call__(self, task: Any, values: Any) -> bool | None:
        return False if self._new(task) else None


def task_name(collection: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", collection)


def _apply_fingerprint(project: Project) -> str:
    """database config + where the URL points (never its credentials)."""
    cfg = project.config.database
    url = read_url(cfg.url_env)
    where = "unset"
    if url is not None:
        try:
            target = parse_target(url)
            where = f"{target.fingerprint()}:{is_local(target)}"
        except URLProblem:
            where = "malformed"
    blob = project.loaded.section_fingerprint("database") + where
    return hashlib.md5(blob.encode()).hexdigest()


def tasks(ctx: "BuildContext") -> Iterator[TaskSpec]:
    project = ctx.project
    decls, dynamic = find_documents(project.models, project.graph.max_source_bytes)
    for dyn in dynamic:
        log.warning("%s:%d: %s.Settings.name is not a string literal, so farmbuild cannot plan its"
                    " migrations; write it as name = \"<collection>\"", dyn.module.rel, dyn.line, dyn.class_name)
    by_collection: dict[str, list[DocumentDecl]] = {}
    for d in decls:
        by_collection.setdefault(d.collection, []).append(d)
    files = [(p, collections_of(project, p)) for p in migration_paths(project.migrations_dir)]
    seen = frozenset(p.name for p, _ in files)
    names: list[str] = []
    for collection in sorted(by_collection):
        these = by_collection[collection]
        schema_files = tuple(sorted({schema_file(project, d) for d in these}))
        migrations = tuple(p for p, cols in files if cols is None or collection in cols)

        name = task_name(collection)

        def action(collection: str = collection, these: list[DocumentDecl] = these,
                   task_id: str = f"{TaskKind.DB.value}:{name}") -> None:
            written = write_migration(project, plan_collection(project, collection, these))
            if written is not None:
                ctx.note_written(task_id, written)
            return None

        names.append(f"{TaskKind.DB.value}:{name}")
        models = ", ".join(f"{d.class_name} ({d.module.rel})" for d in these)
        yield TaskSpec(
            kind=TaskKind.DB,
            name=name,
            action=action,
            file_dep=(*schema_files, *migrations),
            config=project.loaded.section_fingerprint("database.migrations"),
            config_sections=("database",),
            uptodate=(AdoptMigrations(project, collection, seen),),
            doc=f"migration for the '{collection}' collection when {models} diverges from the migrations",
            meta={"collection": collection, "models": [f"{d.module.name}:{d.class_name}" for d in these]},
        )

    if project.config.database.apply == "dev" and (names or files):
        def apply_action() -> None:
            if not ctx.side_effects:
                log.debug("db-apply: not applying in a scratch build (farm build --check)")
                return None
            started = time.perf_counter()
            try:
                reached = apply_in_development(project)
            except FarmbuildError as exc:
                # one try: the task fails and the next build applies again (farm watch retries a
                # dropped connection after the cooldown; a refused operation waits for a new migration)
                ctx.effect(TaskKind.DB_APPLY.value, "mongodb", OP_APPLY, exc, duration_s=time.perf_counter() - started)
                raise
            if reached:
                ctx.effect(TaskKind.DB_APPLY.value, "mongodb", OP_APPLY, None, duration_s=time.perf_counter() - started)
            return None

        yield TaskSpec(
            kind=TaskKind.DB_APPLY,
            name=None,
            action=apply_action,
            file_dep=tuple(p for p, _ in files),
            task_dep=tuple(names),
            config=_apply_fingerprint(project),
            config_sections=("database",),
            uptodate=(AdoptMigrations(project, None),),
            doc="apply pending migrations to the local MongoDB in database.url_env (database.apply = \"dev\")",
        )
