"""The ``farm`` command line. The only module that prints, configures logging and exits.

Exit codes: 0 success; 1 a build failed (or ``--check`` found stale files); 2 a usage,
configuration or project-layout error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import FarmbuildError, UsageError

log = logging.getLogger("farmbuild")

Handler = Callable[[argparse.Namespace], int]

# Other modules add subcommands here: (name, add_parser(subparsers) -> handler)
EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def _setup_logging(verbose: int, quiet: bool = False) -> None:
    level = logging.DEBUG if verbose > 0 else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s" if verbose == 0 else "%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("farmbuild").setLevel(level)
    if verbose > 1:
        root.setLevel(logging.DEBUG)


def _root(args: argparse.Namespace) -> Path:
    from .project import find_root

    path = Path(args.directory) if args.directory else Path.cwd()
    if not path.is_dir():
        raise UsageError(f"-C {args.directory}: no such directory")
    return find_root(path)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-C", "--directory", metavar="DIR", help="run in the project at DIR (default: the current directory)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more detail; tracebacks for unexpected errors")


# -- farm build ----------------------------------------------------------------------

class _Printer:
    """Prints task results as they arrive: failures always; what ran, unless there is a lot of it."""

    def __init__(self, verbose: int, stream: Any = None) -> None:
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.ran: list[Any] = []
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.count = 0

    def __call__(self, result: Any) -> None:
        self.count += 1
        if result.status == "failed":
            self._clear()
            print(f"FAILED {result.id}: {result.error}", file=self.stream)
        elif result.status == "ran":
            self.ran.append(result)
            if self.verbose or len(self.ran) <= 20:
                self._clear()
                wrote = f"  wrote {', '.join(result.written)}" if result.written and self.verbose else (
                    f"  ({len(result.written)} file{'s' if len(result.written) != 1 else ''} written)" if result.written else "")
                print(f"ran {result.id} {result.duration_s * 1000:.0f} ms{wrote}", file=self.stream)
            elif self.tty:
                self.stream.write(f"\r{self.count} tasks done...")
                self.stream.flush()
        elif result.status == "skipped":
            if self.verbose:
                print(f"skipped {result.id}: {result.error}", file=self.stream)
        elif self.verbose > 1:
            print(f"up to date {result.id}", file=self.stream)

    def _clear(self) -> None:
        if self.tty and len(self.ran) > 20:
            self.stream.write("\r\x1b[K")

    def finish(self) -> None:
        self._clear()
        if len(self.ran) > 20 and not self.verbose:
            by_kind = Counter(r.id.split(":", 1)[0] for r in self.ran)
            secs: Counter[str] = Counter()
            for r in self.ran:
                secs[r.id.split(":", 1)[0]] += r.duration_s
            print("ran " + ", ".join(f"{k} \u00d7{n} ({secs[k]:.2f} s)" for k, n in sorted(by_kind.items())),
                  file=self.stream)


def cmd_build(args: argparse.Namespace) -> int:
    from .build import BuildOptions, build
    from .check import check

    root = _root(args)
    opts = BuildOptions(tasks=list(args.tasks), jobs=args.jobs, always=args.always, lock_timeout_s=args.lock_timeout)
    printer = None if args.json else _Printer(args.verbose)
    if args.check:
        res = check(root, opts, printer)
        if printer:
            printer.finish()
        if args.json:
            print(json.dumps({**res.report.to_json(), "check": {"ok": res.ok, "stale": res.stale}}, indent=2))
        else:
            if res.stale:
                sys.stdout.write(res.diff)
                print(f"farm build --check: {len(res.stale)} generated file{'s are' if len(res.stale) != 1 else ' is'}"
                      f" stale; run `farm build` and commit the result:", file=sys.stderr)
                for rel in res.stale:
                    print(f"  {rel}", file=sys.stderr)
            elif res.report.ok:
                print(f"farm build --check: generated files are up to date ({res.report.summary()})")
        if not res.report.ok:
            for e in res.report.errors:
                print(f"error: {e}", file=sys.stderr)
            if not args.json:
                print(res.report.summary(), file=sys.stderr)
        return 0 if res.ok else 1
    report = build(root, opts, printer)
    if printer:
        printer.finish()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for rel in report.removed:
            print(f"removed {rel} (no task generates it any more)")
        for e in report.errors:
            print(f"error: {e}", file=sys.stderr)
        print(report.summary())
    return 0 if report.ok else 1


# -- farm list / explain / clean -----------------------------------------------------

def cmd_list(args: argparse.Namespace) -> int:
    from .build import Session

    session = Session(_root(args))
    if args.json:
        print(json.dumps([
            {"id": s.id, "kind": s.kind.value, "doc": s.doc,
             "file_dep": [session.project.rel(p) for p in s.file_dep],
             "targets": [session.project.rel(p) for p in s.targets],
             "task_dep": list(s.task_dep)}
            for s in session.graph.specs.values()], indent=2))
        return 0
    width = max((len(s) for s in session.graph.specs), default=0)
    for sid, spec in session.graph.specs.items():
        print(f"{sid:<{width}}  {spec.doc}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .build import Session
    from .changes import Layout, classify

    session = Session(_root(args))
    project = session.project
    target = Path(args.path)
    full = (target if target.is_absolute() else Path.cwd() / target).resolve()
    if not full.is_relative_to(project.root) and not target.is_absolute():
        full = (project.root / target).resolve()
    rel = project.rel(full)
    cfg_name = project.config_file.name if project.config_file else None
    kind = classify(rel, Layout.from_config(project.config, cfg_name))
    print(f"{rel}: {kind.value}")
    producer = session.graph.producer(full)
    if producer:
        print(f"  generated by {producer} (do not edit: the next build restores it)")
    direct = session.graph.direct([full])
    if kind.value == "farm-config":
        direct |= {s for s, spec in session.graph.specs.items() if spec.config_sections}
        print("  a config change re-reads the task graph; tasks rerun when the sections they read change")
    if not direct:
        print("  affects no task")
        return 0
    downstream = session.graph.downstream(direct) - direct
    print("  directly: " + ", ".join(session.graph.ordered(direct)))
    if downstream:
        print("  then:     " + ", ".join(session.graph.ordered(downstream)))
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    import shutil

    from .build import MANIFEST, Session
    from .fsutil import remove_inside
    from .runner import DB_NAME

    session = Session(_root(args))
    project = session.project
    removed = 0
    targets = {project.rel(t) for t in session.graph.targets}
    try:
        targets |= set(json.loads((project.state_dir / MANIFEST).read_text("utf-8")).get("targets", []))
    except (OSError, ValueError):
        pass
    with session.lock:
        for rel in sorted(targets):
            if remove_inside(project.root, project.root / rel):
                removed += 1
        for p in project.root.glob(DB_NAME + "*"):
            p.unlink()
    shutil.rmtree(project.state_dir, ignore_errors=True)
    print(f"removed {removed} generated file{'s' if removed != 1 else ''}, {DB_NAME} and .farm/")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from .metrics import PerformanceMonitor
    from .project import discover

    project = discover(_root(args))
    monitor = PerformanceMonitor(project.state_dir,
                                 project.config.development.hot_reload.performance.slow_reload_threshold_ms)
    rep = monitor.report()
    if args.json:
        print(json.dumps(rep, indent=2))
        return 0
    if not rep["total"]:
        print("no task executions recorded in the last 24 h (run `farm build` or `farm watch`)")
        return 0
    print(f"last 24 h: {rep['total']} task executions, {rep['succeeded']} succeeded, {rep['failed']} failed, "
          f"success rate {rep['success_rate']:.1f}%, {rep['slow']} slow (> {rep['slow_threshold_ms']} ms)")
    rows = [("kind", "runs", "failed", "avg ms", "p50 ms", "p95 ms", "slow")]
    for kind, st in rep["by_kind"].items():
        rows.append((kind, str(st["total"]), str(st["failed"]), f"{st['average_ms']:.1f}", f"{st['p50_ms']:.1f}",
                     f"{st['p95_ms']:.1f}", str(st["slow"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="farm",
        description="Keep the generated half of a FARM-stack app in step with the hand-written half.",
    )
    parser.add_argument("--version", action="version", version=f"farmbuild {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("build", help="run an incremental build (all tasks, or the ones named)")
    _common(p)
    p.add_argument("tasks", nargs="*", metavar="TASK", help="task names or globs (see `farm list`)")
    p.add_argument("-n", "--jobs", type=int, default=0, metavar="N", help="run N tasks in parallel (processes)")
    p.add_argument("--check", action="store_true",
                   help="build a scratch copy; exit 1 with a diff if committed generated files are stale")
    p.add_argument("--json", action="store_true", help="print a machine-readable report")
    p.add_argument("--always", action="store_true", help="run tasks even when up to date")
    p.add_argument("--lock-timeout", type=_seconds, default=None, metavar="SECONDS",
                   help="how long to wait for another farm build/watch/doit building this project"
                        " (default 120; 0: fail at once, exit 1)")
    p.set_defaults(handler=cmd_build)

    p = sub.add_parser("list", help="list the tasks of this project")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)

    p = sub.add_parser("explain", help="what kind of change PATH is and which tasks it affects")
    _common(p)
    p.add_argument("path", metavar="PATH")
    p.set_defaults(handler=cmd_explain)

    p = sub.add_parser("clean", help="delete generated files, .farm/ and the doit database")
    _common(p)
    p.set_defaults(handler=cmd_clean)

    p = sub.add_parser("stats", help="task timings and failures over the last 24 h (the performance monitor)")
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_stats)

    for add in EXTRA_COMMANDS:
        add(sub)
    return parser


def _load_extra_commands() -> None:
    import importlib

    for mod in ("farmbuild.commands",):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise


def main(argv: Sequence[str] | None = None) -> int:
    from .secrets import ScrubbingStream

    _load_extra_commands()
    parser = build_parser()
    args = parser.parse_args(argv)
    # every line farm prints (its own, logging's, a library's) goes through a secret mask
    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, ScrubbingStream):
        sys.stdout = ScrubbingStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, ScrubbingStream):
        sys.stderr = ScrubbingStream(sys.stderr)  # type: ignore[assignment]
    try:
        return _main(args)
    finally:
        sys.stdout, sys.stderr = saved


def _main(args: argparse.Namespace) -> int:
    _setup_logging(getattr(args, "verbose", 0))
    try:
        return int(args.handler(args))
    except FarmbuildError as exc:
        if getattr(args, "verbose", 0):
            log.debug("traceback", exc_info=True)
        print(f"farm: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("farm: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `farm stats | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug in farmbuild: one line, the traceback with -v
        if getattr(args, "verbose", 0):
            log.error("internal error", exc_info=True)
        print(f"farm: internal error: {type(exc).__name__}: {exc} (run with -v for the traceback, and please report it)",
              file=sys.stderr)
        return 1


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
