"""Applying migrations to MongoDB through pymongo: the one place that talks to a database.

Two halves:

* pure: :func:`calls_for` turns an operation into the pymongo calls it takes (:class:`Call`,
  printable by ``farm db plan``), and :func:`plan_apply` decides which pending migrations may
  run (in order; a destructive one is held unless allowed, and holds the later migrations of
  its collections);
* I/O, through a ``pymongo.database.Database``-like handle passed in (tests hand in
  mongomock's, the integration test a real server's): :func:`applied`, :func:`apply`.

Applied migrations are recorded in the ``schema_migrations`` collection (``_id`` = migration
id, plus the file's checksum). A migration is recorded only after all its operations succeed;
every operation is idempotent (``$exists`` guards, create-if-missing, drop-if-present), so
running a half-applied migration again is safe.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import DatabaseError, MigrationApplyError
from .operations import Migration, Operation, OpType, order
from .url import redact, scrub
from .validator import collmod_command

LEDGER = "schema_migrations"


@dataclass(frozen=True)
class Call:
    """One pymongo call: ``db.<method>(...)`` or ``db[collection].<method>(...)``."""

    method: str  # create_collection | update_many | create_index | drop_index | command
    collection: str | None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def render(self) -> str:
        """Python-ish text of the call, for ``farm db plan``."""
        target = "db" if self.method in ("create_collection", "command") else f"db[{self.collection!r}]"
        parts = [_show(a) for a in self.args] + [f"{k}={_show(v)}" for k, v in self.kwargs.items()]
        return f"{target}.{self.method}({', '.join(parts)})"


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= 160 else text[:150] + " ...}"
    return repr(value)


def bson_value(value: Any, field_type: str | None) -> Any:
    """A default from the schema file (JSON) as the BSON value pymongo should store.

    Dates and UUIDs travel as strings in JSON; stored as BSON ``date``/``binData`` they match
    the validator (and what Beanie writes).
    """
    if isinstance(value, str) and field_type:
        kinds = set(field_type.split("|"))
        if "date" in kinds:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return parsed
            except ValueError:
                pass
        if "binData" in kinds:
            try:
                return uuid.UUID(value)
            except ValueError:
                pass
    return value


def calls_for(op: Operation) -> list[Call]:
    """The pymongo calls that apply ``op`` (empty: the operation only records a fact)."""
    c = op.collection
    t = op.type
    if t is OpType.CREATE_COLLECTION:
        return [Call("create_collection", c, (c,))]
    if t is OpType.ADD_FIELD:
        if not op.has_default:
            return []
        value = bson_value(op.default_value, op.field_type)
        return [Call("update_many", c, ({op.field: {"$exists": False}}, {"$set": {op.field: value}}))]
    if t is OpType.REMOVE_FIELD:
        return [Call("update_many", c, ({op.field: {"$exists": True}}, {"$unset": {op.field: ""}}))]
    if t is OpType.RENAME_FIELD:
        return [Call("update_many", c, ({op.renamed_from: {"$exists": True}}, {"$rename": {op.renamed_from: op.field}}))]
    if t is OpType.CHANGE_TYPE:
        return []  # recorded, never converted: the validator (set in the same migration) reports misfits
    if t is OpType.CREATE_INDEX:
        assert op.index is not None
        kwargs: dict[str, Any] = {"name": op.index.name, "unique": op.index.unique}
        if op.index.sparse is not None:
            kwargs["sparse"] = op.index.sparse
        if op.index.expire_after_seconds is not None:
            kwargs["expireAfterSeconds"] = op.index.expire_after_seconds
        return [Call("create_index", c, ([list(k) for k in op.index.keys],), kwargs)]
    if t is OpType.DROP_INDEX:
        assert op.index is not None
        return [Call("drop_index", c, (op.index.name,))]
    return [Call("command", c, (collmod_command(c, op.validator or {}, level=op.validation_level,
                                                action=op.validation_action),))]


# -- deciding what runs ----------------------------------------------------------------------

@dataclass(frozen=True)
class Held:
    migration: Migration
    reason: str


@dataclass
class ApplyPlan:
    run: list[Migration] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)


def plan_apply(migrations: Iterable[Migration], applied_ids: Iterable[str], *, allow_destructive: bool) -> ApplyPlan:
    """Which pending migrations run now, in order, and which wait (and why). Pure."""
    done = set(applied_ids)
    plan = ApplyPlan()
    blocked: dict[str, str] = {}  # collection -> id of the held migration that blocks it
    for m in order(migrations):
        if m.id in done:
            continue
        waits_for = sorted({blocked[c] for c in m.collections if c in blocked})
        if waits_for:
            plan.held.append(Held(m, f"waits for {', '.join(waits_for)}"))
        elif m.destructive and not allow_destructive:
            what = "; ".join(op.describe() for op in m.operations if op.destructive)
            plan.held.append(Held(m, f"destructive ({what}): run `farm db apply --accept-data-loss`"
                                     " or set database.allow_destructive = true"))
        else:
            plan.run.append(m)
            continue
        for c in m.collections:
            blocked.setdefault(c, m.id)
    return plan


# -- I/O through a Database handle --------------------------------------------------------------

def applied(db: Any) -> dict[str, dict[str, Any]]:
    """The ``schema_migrations`` records, by migration id."""
    return {doc["_id"]: doc for doc in db[LEDGER].find({})}


def execute(db: Any, call: Call) -> None:
    from pymongo.errors import CollectionInvalid, OperationFailure

    if call.method == "create_collection":
        if call.collection in db.list_collection_names():
            return
        try:
            db.create_collection(call.collection)
        except CollectionInvalid:
            pass  # created meanwhile
    elif call.method == "update_many":
        db[call.collection].update_many(*call.args)
    elif call.method == "create_index":
        db[call.collection].create_index([tuple(k) for k in call.args[0]], **call.kwargs)
    elif call.method == "drop_index":
        try:
            db[call.collection].drop_index(call.args[0])
        except OperationFailure as exc:
            if exc.code != 27 and "index not found" not in str(exc):  # 27: IndexNotFound
                raise
    elif call.method == "command":
        db.command(call.args[0])
    else:  # pragma: no cover - calls_for makes only the methods above
        raise ValueError(f"unknown call {call.method}")


@dataclass
class ApplyReport:
    applied: list[Migration] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)


def apply(db: Any, migrations: Iterable[Migration], *, allow_destructive: bool,
          on_applied: Callable[[Migration], None] | None = None,
          redact_text: Callable[[str], str] = lambda s: s) -> ApplyReport:
    """Apply the pending migrations that may run, in order, recording each when it succeeds.

    A failing operation raises :class:`MigrationApplyError` naming the migration and the
    operation; that migration is not recorded, the ones before it stay recorded.
    """
    from pymongo.errors import DuplicateKeyError, PyMongoError

    migrations = list(migrations)
    try:
        done = applied(db)
    except PyMongoError as exc:
        raise _judged(DatabaseError(f"cannot read {LEDGER}: {redact_text(str(exc))}"), exc) from None
    plan = plan_apply(migrations, done, allow_destructive=allow_destructive)
    report = ApplyReport(held=plan.held)
    for m in plan.run:
        for i, op in enumerate(m.operations):
            try:
                for call in calls_for(op):
                    execute(db, call)
            except PyMongoError as exc:
                raise _judged(MigrationApplyError(m.id, m.file, i, op.describe(), redact_text(_error_text(exc))),
                              exc) from None
        try:
            db[LEDGER].insert_one({
                "_id": m.id, "checksum": m.checksum, "description": m.description,
                "operations": len(m.operations), "applied_at": datetime.now(UTC),
            })
        except DuplicateKeyError:
            pass  # applied by another process meanwhile: the operations were idempotent
        except PyMongoError as exc:
            raise _judged(DatabaseError(f"{m.where}: applied, but recording it in {LEDGER} failed:"
                                        f" {redact_text(_error_text(exc))}"), exc) from None
        report.applied.append(m)
        if on_applied:
            on_applied(m)
    return report


def _judged(error: DatabaseError, cause: Exception) -> DatabaseError:
    """``error`` with the verdict of the pymongo error behind it (the cause is not chained: its
    text may hold the URL), so farm watch retries a dropped connection but not a refused command."""
    from ..recovery import classify

    error.verdict = classify(cause)  # type: ignore[attr-defined]
    return error


def _error_text(exc: Exception) -> str:
    details = getattr(exc, "details", None)
    msg = str(exc)
    if isinstance(details, Mapping) and details.get("errmsg"):
        msg = str(details["errmsg"])
    # pymongo appends timeouts and a topology dump: the first clause says what happened
    for cut in (", full error:", " (configured timeouts", ", Timeout:"):
        msg = msg.split(cut)[0]
    return msg


# -- connecting ------------------------------------------------------------------------------

@contextmanager
def connect(url: str, env_name: str, *, timeout_ms: int = 5000) -> Iterator[Any]:
    """A pymongo client for ``url``, checked with a ``ping``. Errors never show the URL's secrets."""
    from pymongo import MongoClient
    from pymongo.errors import ConfigurationError, OperationFailure, PyMongoError

    try:
        client: Any = MongoClient(url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
                                  uuidRepresentation="standard", appname="farmbuild", connect=False)
    except (PyMongoError, ValueError, TypeError) as exc:
        raise DatabaseError(f"{env_name}: not a usable MongoDB URL: {scrub(str(exc), url)}") from None
    try:
        try:
            client.admin.command("ping")
        except PyMongoError as exc:
            text = scrub(_error_text(exc), url).rstrip(". ")
            if len(text) > 300:
                text = text[:300] + "..."
            if isinstance(exc, OperationFailure):  # the server answered: credentials or options
                raise DatabaseError(
                    f"MongoDB at {redact(url)} (from {env_name}) refused the connection: {text}."
                    f" Check the user, password and options in {env_name}") from None
            if isinstance(exc, ConfigurationError):
                raise DatabaseError(f"{env_name}: not a usable MongoDB URL: {text}") from None
            raise _judged(DatabaseError(
                f"cannot reach MongoDB at {redact(url)} (from {env_name}): {text}."
                f" Start the server, or unset {env_name} to only write migrations"), exc) from None
        yield client
    finally:
        client.close()


def status_rows(migrations: Iterable[Migration], done: Mapping[str, Mapping[str, Any]] | None,
                *, allow_destructive: bool) -> list[dict[str, Any]]:
    """One row per migration (and per recorded id without a file), for ``farm db status``. Pure."""
    ms = order(migrations)
    rows: list[dict[str, Any]] = []
    plan = plan_apply(ms, done or {}, allow_destructive=allow_destructive) if done is not None else None
    held = {h.migration.id: h.reason for h in plan.held} if plan else {}
    for m in ms:
        row: dict[str, Any] = {"id": m.id, "file": m.file, "destructive": m.destructive, "description": m.description}
        if done is None:
            row["status"] = "unknown"
        elif m.id in done:
            row["status"] = "applied"
            if done[m.id].get("checksum") and m.checksum and done[m.id]["checksum"] != m.checksum:
                row["note"] = "the file changed after it was applied"
        else:
            row["status"] = "pending"
            if m.id in held:
                row["note"] = held[m.id]
        rows.append(row)
    if done is not None:
        known = {m.id for m in ms}
        for mid in sorted(set(done) - known):
            rows.append({"id": mid, "file": None, "destructive": False, "description": "",
                         "status": "applied", "note": "recorded in the database, but no file has this id"})
    return rows
