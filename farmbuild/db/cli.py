"""``farm db plan|apply|status``: what would change, apply it, what is applied.

* ``plan`` builds the model schemas, then shows the migrations a build would write (nothing
  is written) and, when the database URL is set, the migrations the database has not applied
  with the pymongo calls they make.
* ``apply`` runs the ``db`` tasks (writing any new migration), then applies every pending
  migration to the database at the URL — any host: this is the explicit command. Destructive
  operations need ``--accept-data-loss`` (or ``database.allow_destructive = true``).
* ``status`` lists every migration as applied, pending or unknown (no URL).

The URL comes only from the environment variable named by ``database.url_env``; output shows
it redacted (``mongodb://***@localhost:27017/shop``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..cli import EXTRA_COMMANDS, _common, _root
from ..errors import FarmbuildError, UsageError


def _session(args: argparse.Namespace) -> Any:
    from ..build import Session

    return Session(_root(args), lock_what="farm db")


def _build(session: Any, tasks: list[str]) -> None:
    from ..build import BuildOptions

    if not any(s.split(":", 1)[0] in tasks for s in session.graph.specs):
        return
    report = session.build(BuildOptions(tasks=tasks))
    if not report.ok:
        for r in report.results:
            if r.status == "failed":
                print(f"FAILED {r.id}: {r.error}", file=sys.stderr)
        for e in report.errors:
            print(f"error: {e}", file=sys.stderr)
        raise FarmbuildError("the models could not be read; fix the errors above and run the command again")


def _declarations(project: Any) -> dict[str, list[Any]]:
    from .files import find_documents

    decls, _dynamic = find_documents(project.models, project.graph.max_source_bytes)
    out: dict[str, list[Any]] = {}
    for d in decls:
        out.setdefault(d.collection, []).append(d)
    return out


def _url(project: Any) -> str | None:
    from .url import read_url

    return read_url(project.config.database.url_env)


def _applied(project: Any, url: str) -> tuple[str, dict[str, Any]]:
    from .workflow import read_applied

    return read_applied(project, url)


# -- plan --------------------------------------------------------------------------------------

def cmd_plan(args: argparse.Namespace) -> int:
    from .files import load_migrations
    from .mongo import calls_for, plan_apply
    from .state import replay
    from .workflow import plan_collection

    session = _session(args)
    try:
        project = session.project
        _build(session, ["schema"])
        migrations = load_migrations(project)
        state = replay(migrations)
        declared = _declarations(project)
        new: list[dict[str, Any]] = []
        would_write = []
        for collection in sorted(declared):
            cp = plan_collection(project, collection, declared[collection], migrations)
            m = cp.next_migration()
            if m is None:
                continue
            would_write.append(m)
            new.append({"id": m.id, "file": project.rel(project.migrations_dir / f"{m.id}.json"),
                        "operations": [op.to_json() | {"destructive": op.destructive} for op in m.operations],
                        "warnings": list(cp.plan.warnings if cp.plan else ())})
        orphans = sorted(set(state.collections) - set(declared))
        url = _url(project)
        db_part: dict[str, Any] = {"url_env": project.config.database.url_env, "target": None}
        allow = bool(getattr(args, "accept_data_loss", False)) or project.config.database.allow_destructive
        if url is not None:
            where, done = _applied(project, url)
            plan = plan_apply([*migrations, *would_write], done, allow_destructive=allow)
            db_part.update(target=where, applied=len([m for m in migrations if m.id in done]),
                           run=[m.id for m in plan.run], held=[{"id": h.migration.id, "reason": h.reason} for h in plan.held])
            pending = [*plan.run, *(h.migration for h in plan.held)]
        else:
            pending = []
        if args.json:
            print(json.dumps({"new_migrations": new, "database": db_part, "collections_without_model": orphans}, indent=2,
                             default=str))
            return 0
        if new:
            print("Model changes not yet in migrations (`farm build` writes them):")
            for item, m in zip(new, would_write):
                print(f"  {item['file']}")
                for op in m.operations:
                    print(f"    {'! ' if op.destructive else '+ '}{op.describe()}")
                for w in item["warnings"]:
                    print(f"    warning: {w}")
        else:
            print("The migrations match the models.")
        for c in orphans:
            print(f"Collection '{c}' is in the migrations but no model declares it any more (nothing is dropped).")
        if url is None:
            print(f"{db_part['url_env']} is not set: which migrations a database has applied is unknown"
                  f" ({len(migrations)} migration file{'s' if len(migrations) != 1 else ''}; `farm db status` lists them).")
            return 0
        held = {h["id"]: h["reason"] for h in db_part["held"]}
        if not pending:
            print(f"{db_part['target']}: up to date ({db_part['applied']} migrations applied).")
            return 0
        print(f"{db_part['target']}: `farm db apply` would apply:")
        for m in pending:
            flag = "  (held: " + held[m.id] + ")" if m.id in held else ""
            print(f"  {m.id}{flag}")
            for op in m.operations:
                calls = calls_for(op)
                print(f"    {'! ' if op.destructive else '+ '}{op.describe()}")
                for call in calls:
                    print(f"        {call.render()}")
        return 0
    finally:
        session.close()


# -- apply -------------------------------------------------------------------------------------

def cmd_apply(args: argparse.Namespace) -> int:
    from .workflow import apply_pending

    session = _session(args)
    try:
        project = session.project
        cfg = project.config.database
        url = _url(project)
        if url is None:
            raise UsageError(f"{cfg.url_env} is not set: set it to the MongoDB to apply the migrations to"
                             f" (config key database.url_env names the variable)")
        _build(session, ["db"])
        allow = args.accept_data_loss or cfg.allow_destructive
        applied: list[str] = []

        def on_applied(m: Any) -> None:
            applied.append(m.id)
            if not args.json:
                print(f"applied {m.id}")

        with session.lock:
            report = apply_pending(project, url, allow_destructive=allow, on_applied=on_applied)
        if args.json:
            print(json.dumps({"applied": applied,
                              "held": [{"id": h.migration.id, "reason": h.reason} for h in report.held]}, indent=2))
        else:
            for h in report.held:
                print(f"not applied {h.migration.id}: {h.reason}", file=sys.stderr)
            if not applied and not report.held:
                print("nothing to apply: the database is up to date")
        return 1 if report.held else 0
    finally:
        session.close()


# -- status ------------------------------------------------------------------------------------

def cmd_status(args: argparse.Namespace) -> int:
    from .files import load_migrations
    from .mongo import status_rows
    from .state import replay

    session = _session(args)
    try:
        project = session.project
        migrations = load_migrations(project)
        state = replay(migrations)
        url = _url(project)
        where, done = _applied(project, url) if url is not None else (None, None)
        rows = status_rows(migrations, done, allow_destructive=project.config.database.allow_destructive)
        orphans = sorted(set(state.collections) - set(_declarations(project)))
        if args.json:
            print(json.dumps({"target": where, "migrations": rows, "collections_without_model": orphans}, indent=2))
            return 0
        if where:
            print(f"{where}:")
        else:
            print(f"{project.config.database.url_env} is not set: showing the migration files;"
                  " whether a database applied them is unknown")
        width = max((len(r["id"]) for r in rows), default=0)
        for r in rows:
            note = f"  ({r['note']})" if r.get("note") else ""
            mark = " destructive" if r["destructive"] and r["status"] != "applied" else ""
            print(f"  {r['id']:<{width}}  {r['status']}{mark}{note}")
        if not rows:
            print(f"  no migrations in {project.rel(project.migrations_dir)}")
        pending = sum(1 for r in rows if r["status"] == "pending")
        if where:
            print(f"{sum(1 for r in rows if r['status'] == 'applied')} applied, {pending} pending")
        for c in orphans:
            print(f"collection '{c}' is in the migrations but no model declares it any more (nothing is dropped)")
        return 0
    finally:
        session.close()


def add(subparsers: Any) -> None:
    p = subparsers.add_parser("db", help="MongoDB migrations: plan, apply, status")
    sub = p.add_subparsers(dest="db_command", metavar="ACTION")
    sub.required = True
    q = sub.add_parser("plan", help="show the migrations a build would write and what the database has not applied")
    _common(q)
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_plan)
    q = sub.add_parser("apply", help="write pending migrations, then apply them to the database in the URL")
    _common(q)
    q.add_argument("--accept-data-loss", action="store_true",
                   help="also apply destructive operations (remove_field, drop_index, narrowing change_type)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_apply)
    q = sub.add_parser("status", help="list migrations as applied or pending")
    _common(q)
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_status)


EXTRA_COMMANDS.append(add)
