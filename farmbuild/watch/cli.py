"""``farm watch``: the command line around :class:`~farmbuild.watch.loop.WatchLoop`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

log = logging.getLogger("farmbuild")


def add(sub: Any) -> None:
    from ..cli import _common

    p = sub.add_parser(
        "watch",
        help="rebuild what each save affects and tell Vite (Ctrl-C to stop); --serve also runs the dev servers",
        description="Watch the backend sources, plugins, migrations and farm.toml; on every save rebuild "
        "exactly the tasks whose inputs changed, in process, with a warm worker, and tell farmbuild's Vite "
        "plugin (the farm:update event, build errors in Vite's overlay).",
    )
    _common(p)
    p.add_argument("--serve", action="store_true",
                   help="also start the backend (uvicorn --reload) and the Vite dev server, and supervise them")
    p.add_argument("--isolated", action="store_true",
                   help="import user code in a fresh process for every build (if you suspect stale state)")
    p.add_argument("--poll", action="store_true", help="poll the file system instead of OS notifications")
    p.add_argument("--json", action="store_true", help="print one JSON object per build on stdout")
    p.set_defaults(handler=cmd_watch)


class _Output:
    """Serialises lines from the loop and the servers' output threads."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def line(self, text: str) -> None:
        with self._lock:
            try:
                print(text, file=self.stream, flush=True)
            except (BrokenPipeError, ValueError):
                pass

    def server(self, name: str, text: str) -> None:
        prefix = {"api": "\x1b[36mapi \u2502\x1b[0m ", "web": "\x1b[35mweb \u2502\x1b[0m "}.get(name) if self.tty else None
        self.line(f"{prefix or name + ' | '}{text}")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_watch(args: argparse.Namespace) -> int:
    import httpx

    from ..build import Session
    from ..cli import _root
    from ..devtoken import ensure_token
    from ..errors import UsageError
    from ..recovery import Recovery, Settings
    from .loop import BuildEvent, WatchLoop
    from .notify import Notifier
    from .servers import ServerGroup, server_specs
    from .source import WatchfilesSource
    from .terminal import event_json, event_line

    root = _root(args)
    session = Session(root, isolated=args.isolated, lock_what="farm watch")
    project = session.project
    hr = project.config.development.hot_reload
    if not hr.enabled and not args.serve:
        raise UsageError(
            f"{project.rel(project.config_file) if project.config_file else 'farm.toml'}: development.hot_reload.enabled"
            " is false, so there is nothing to watch; set it to true, or run `farm watch --serve` for the servers alone"
        )
    out = _Output()
    slow_ms = hr.performance.slow_reload_threshold_ms

    def on_event(event: Any) -> None:
        line = event_json(event, project.rel) if args.json else event_line(event, project.rel)
        if line:
            out.line(line)
        if isinstance(event, BuildEvent) and slow_ms and (event.finished_at - event.started_at) * 1000 > slow_ms:
            log.warning("that build took %.1f s (development.hot_reload.performance.slow_reload_threshold_ms = %d)",
                        event.finished_at - event.started_at, slow_ms)

    ensure_token(root)
    servers_cfg = project.config.development.servers
    client = httpx.Client(timeout=httpx.Timeout(2.0, connect=0.5), trust_env=False)
    notifier = Notifier(client, frontend_url=servers_cfg.frontend_url, token=lambda: ensure_token(root))
    source = WatchfilesSource(step_ms=hr.debounce_ms, cap_ms=hr.max_batch_ms, polling=hr.use_polling or args.poll)
    # one retry policy for every side effect: notifications, AI swaps, pulls, migrations, the servers
    recovery = Recovery(Settings.from_config(hr))
    group: ServerGroup | None = None
    if args.serve:
        group = ServerGroup(server_specs(project), out=out.server, recovery=recovery,
                            on_ready=lambda s: loop.server_ready(s.spec.name),
                            record=lambda m: None if session.monitor.record([m]) else None)
        recovery.supervise("vite", "web")  # Vite and the backend are farm's: a failure can restart them
        recovery.supervise("backend", "api")
    loop = WatchLoop(session, source=source, notifier=notifier, on_event=on_event, recovery=recovery,
                     restart=group.restart if group else None, on_save=group.revive if group else None)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # `kill` stops us as cleanly as Ctrl-C
    try:
        if group is not None:
            group.start(root)
        if hr.enabled:
            loop.run()
        else:
            out.line("development.hot_reload.enabled is false: serving without watching (Ctrl-C to stop)")
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        # Fast first: a worker stuck in user code and the servers must not hold Ctrl-C up.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if session.ctx.has_worker:
                session.ctx.worker().kill()
            if group is not None:
                group.stop()
            source.stop()
            client.close()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, previous)
    out.line("farm watch: stopped")
    return 0


def _register() -> None:
    from ..cli import EXTRA_COMMANDS

    if add not in EXTRA_COMMANDS:
        EXTRA_COMMANDS.append(add)


_register()
