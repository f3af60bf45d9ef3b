"""The steps that tie the pure parts to a project: plan one collection, write its migration,
apply the pending ones. Shared by the ``db:*`` tasks and ``farm db``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DatabaseError, FarmbuildError
from ..fsutil import write_if_changed, write_internal
from ..project import Project
from .diff import Plan, diff
from .files import DocumentDecl, load_migrations
from .model import TargetCollection, document_models, target_from_schema
from .mongo import ApplyReport, apply, applied, connect
from .operations import Migration, filename, next_migration
from .state import SchemaState, replay
from .url import MongoTarget, URLProblem, is_local, parse_target, read_url, scrub

log = logging.getLogger(__name__)

STATE_FILE = "state/db.json"


def schema_file(project: Project, decl: DocumentDecl) -> Path:
    from ..tasks.schema import schema_path

    return schema_path(project, decl.module)


def find_target(project: Project, collection: str, decls: list[DocumentDecl]) -> TargetCollection | None:
    """The model behind ``collection``, read from the schema JSONs of the modules declaring it."""
    targets: list[TargetCollection] = []
    for path in sorted({schema_file(project, d) for d in decls}):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise FarmbuildError(f"{project.rel(path)}: cannot read the model schema ({exc}); run `farm build`") from None
        for name, _definition in document_models(data):
            t = target_from_schema(data, name)
            if t.collection == collection:
                targets.append(t)
    if len(targets) > 1:
        listed = " and ".join(f"{t.model} ({t.where})" for t in targets)
        raise FarmbuildError(f"collection '{collection}' is declared by two models, {listed};"
                             " give one of them another Settings.name")
    return targets[0] if targets else None


@dataclass
class CollectionPlan:
    collection: str
    target: TargetCollection | None
    migrations: list[Migration]
    state: SchemaState
    plan: Plan | None

    def next_migration(self) -> Migration | None:
        if self.plan is None or self.plan.empty:
            return None
        return next_migration(self.collection, self.migrations, self.plan.operations)


def plan_collection(project: Project, collection: str, decls: list[DocumentDecl],
                    migrations: list[Migration] | None = None) -> CollectionPlan:
    """Diff the model of ``collection`` against the state replayed from its migrations."""
    if migrations is None:
        migrations = load_migrations(project)
    relevant = [m for m in migrations if collection in m.collections]
    state = replay(relevant)
    target = find_target(project, collection, decls)
    plan = diff(target, state.collections.get(collection)) if target else None
    return CollectionPlan(collection, target, migrations, state, plan)


def write_migration(project: Project, cp: CollectionPlan) -> Path | None:
    """Write the migration that brings ``cp.collection`` in line with its model, if one is needed."""
    migration = cp.next_migration()
    if migration is None:
        return None
    path = project.migrations_dir / filename(migration)
    write_if_changed(project.root, path, migration.render())
    rel = project.rel(path)
    ops = migration.operations
    what = "; ".join(op.describe() for op in ops) if len(ops) <= 3 else f"{ops[0].describe()} and {len(ops) - 1} more operations"
    log.info("wrote %s: %s", rel, what)
    assert cp.plan is not None
    for warning in cp.plan.warnings:
        log.warning("%s: %s", rel, warning)
    return path


# -- applying ------------------------------------------------------------------------------------

def database_name(project: Project, target: MongoTarget) -> str:
    """``database.name``, else the URL's database, else the project's name."""
    return project.config.database.name or target.database or project.loaded.database_name


def target_of(url: str, env_name: str) -> MongoTarget:
    try:
        return parse_target(url)
    except URLProblem as exc:
        raise DatabaseError(f"{env_name}: {exc}") from None


def _timeout_ms(project: Project) -> int:
    return int(project.config.database.timeout_s * 1000)


def _state(project: Project) -> dict[str, Any]:
    try:
        data = json.loads((project.state_dir / STATE_FILE).read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_state(project: Project, data: dict[str, Any]) -> None:
    write_internal(project.state_dir / STATE_FILE, json.dumps(data, indent=1, sort_keys=True) + "\n")


def note_no_url(project: Project) -> bool:
    """Say once (per project state, not per build) that nothing is applied without a URL."""
    state = _state(project)
    if state.get("no_url_noticed"):
        return False
    cfg = project.config.database
    log.info("%s is not set: migrations are written to %s and nothing is applied. Set it to a MongoDB on"
             " this machine to apply them in development (or set database.apply = \"never\" in farm.toml)",
             cfg.url_env, project.rel(project.migrations_dir))
    state["no_url_noticed"] = True
    _save_state(project, state)
    return True


def _forget_no_url(project: Project) -> None:
    state = _state(project)
    if state.pop("no_url_noticed", None):
        _save_state(project, state)


def apply_pending(project: Project, url: str, *, allow_destructive: bool, timeout_ms: int | None = None,
                  on_applied: Callable[[Migration], None] | None = None) -> ApplyReport:
    """Apply the project's pending migrations to the database at ``url`` (any host)."""
    env = project.config.database.url_env
    target = target_of(url, env)
    migrations = load_migrations(project)
    replay(migrations)  # a history that does not replay is not applied either
    with connect(url, env, timeout_ms=timeout_ms or _timeout_ms(project)) as client:
        db = client[database_name(project, target)]
        return apply(db, migrations, allow_destructive=allow_destructive, on_applied=on_applied,
                     redact_text=lambda s: scrub(s, url))


def read_applied(project: Project, url: str) -> tuple[str, dict[str, Any]]:
    """(where, the ``schema_migrations`` records) of the database at ``url``."""
    from pymongo.errors import PyMongoError

    env = project.config.database.url_env
    target = target_of(url, env)
    name = database_name(project, target)
    with connect(url, env, timeout_ms=_timeout_ms(project)) as client:
        try:
            done = applied(client[name])
        except PyMongoError as exc:
            raise DatabaseError(f"cannot read schema_migrations: {scrub(str(exc), url)}") from None
    return f"{target.display.rsplit('/', 1)[0]}/{name}", done


def apply_in_development(project: Project) -> bool:
    """What ``db-apply`` does in ``farm build``/``farm watch`` with ``database.apply = "dev"``.
    True when it talked to a database (False: no URL, or not this machine's)."""
    cfg = project.config.database
    url = read_url(cfg.url_env)
    if url is None:
        note_no_url(project)
        return False
    _forget_no_url(project)
    target = target_of(url, cfg.url_env)
    if not is_local(target):
        log.warning("%s points at %s, which is not this machine: database.apply = \"dev\" applies only to a"
                    " local MongoDB, so nothing was applied (run `farm db apply` to apply there on purpose)",
                    cfg.url_env, ", ".join(target.hosts))
        return False
    where = f"{target.display.rsplit('/', 1)[0]}/{database_name(project, target)}"
    report = apply_pending(project, url, allow_destructive=cfg.allow_destructive,
                           timeout_ms=min(_timeout_ms(project), 2000),
                           on_applied=lambda m: log.info("applied %s to %s", m.id, where))
    for held in report.held:
        log.warning("%s not applied: %s", held.migration.where, held.reason)
    return True


def check_history(project: Project) -> list[Migration]:
    """Load and replay every migration (raises :class:`MigrationError` on the first problem)."""
    migrations = load_migrations(project)
    replay(migrations)
    return migrations


__all__ = ["CollectionPlan", "apply_in_development", "apply_pending", "check_history",
           "database_name", "find_target", "note_no_url", "plan_collection", "target_of", "write_migration"]
