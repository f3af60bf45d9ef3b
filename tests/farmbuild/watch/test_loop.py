"""The watch loop on real projects and a real worker, driven by a scripted change source."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from farmbuild.lock import ProjectLock
from farmbuild.watch.changes import ChangeType, FileChange
from farmbuild.watch.loop import BuildEvent, ErrorEvent

from .conftest import LoopHarness, RecordingNotifier, failed_ids, model, ran_ids


def schemas(event: BuildEvent) -> set[str]:
    """The schema tasks that ran (the types tasks downstream of them are not the point here)."""
    return {t for t in ran_ids(event) if t.startswith("schema:")}

MODELS = "apps/api/src/models"


def schema(root: Path, key: str) -> dict:
    return json.loads((root / ".farm/schema" / f"{key}.json").read_text())


def fields(root: Path, key: str, cls: str) -> set[str]:
    """Properties of model ``cls`` as the schema of module ``key`` sees it (its own or an imported one)."""
    data = schema(root, key)
    if cls in data["definitions"]:
        return set(data["definitions"][cls]["validation"]["properties"])
    return set(next(d for ref, d in data["defs"]["validation"].items() if ref.endswith(":" + cls))["properties"])


def wait_for_file(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout} s"
        time.sleep(0.005)


def gated(cls: str, field: str, gate: Path, started: Path) -> str:
    """A model module whose import announces itself, then waits until ``gate`` exists."""
    return (
        "import pathlib, time\nfrom pydantic import BaseModel\n"
        f"pathlib.Path({str(started)!r}).write_text('importing')\n"
        "_deadline = time.monotonic() + 60\n"
        f"while not pathlib.Path({str(gate)!r}).exists() and time.monotonic() < _deadline:\n"
        "    time.sleep(0.005)\n\n\n"
        f"class {cls}(BaseModel):\n    {field}\n"
    )


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project({
        f"{MODELS}/a.py": model("A"),
        f"{MODELS}/b.py": model("B", "y: int"),
        f"{MODELS}/c.py": "from .a import A\n" + model("C", "a: A"),
    })


def test_initial_build_then_only_affected_tasks(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    initial = set().union(*(ran_ids(e) for e in h.builds() if e.cycle == 0))
    assert {"schema:a", "schema:b", "schema:c", "vite-plugin"} <= initial

    mark = h.edit(project / MODELS / "a.py", model("A", "x: int; z: str = ''"))
    event = h.next_build(mark)
    assert schemas(event) == {"schema:a", "schema:c"}  # a and its importer c; b untouched
    assert event.changes == [FileChange(project / MODELS / "a.py", ChangeType.MODIFIED)]
    assert not event.reloaded
    assert fields(project, "a", "A") == {"x", "z"}


def test_comment_only_edit_rewrites_nothing_and_tells_nobody(harness: Callable[..., LoopHarness], project: Path) -> None:
    notifier = RecordingNotifier()
    h = harness(project, notifier=notifier)
    before = len(notifier.requests)
    out = project / ".farm/schema/a.json"
    mtime = out.stat().st_mtime_ns
    mark = h.edit(project / MODELS / "a.py", model("A") + "# only a comment\n")
    event = h.next_build(mark)
    assert "schema:a" in ran_ids(event)
    assert event.written == [] and event.notified == []
    assert len(notifier.requests) == before  # no farm:update for an edit that changes no output
    assert out.stat().st_mtime_ns == mtime


def test_touch_and_identical_rewrite_build_nothing(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    a, b = project / MODELS / "a.py", project / MODELS / "b.py"
    mark = h.mark()
    os.utime(a)  # touch
    h.emit(a)
    a.write_bytes(a.read_bytes())  # an editor saving unchanged text
    h.emit(a)
    h.edit(b, model("B", "y: int; w: int = 0"))  # a sentinel that does change
    event = h.next_build(mark)
    assert event.changes == [FileChange(b, ChangeType.MODIFIED)]
    assert schemas(event) == {"schema:b"}
    assert len(h.builds(mark)) == 1


def _vim_save(path: Path, text: str) -> list[Path]:
    """vim (backupcopy=no): write test file 4913, rename to backup, write new, delete backup."""
    probe = path.with_name("4913")
    probe.write_text("")
    probe.unlink()
    backup = path.with_name(path.name + "~")
    os.rename(path, backup)
    swap = path.with_name(f".{path.name}.swp")
    swap.write_text("swap")
    path.write_text(text)
    backup.unlink()
    swap.unlink()
    return [probe, backup, swap, path]


def _jetbrains_save(path: Path, text: str) -> list[Path]:
    tmp = path.with_name(path.name + "___jb_tmp___")
    old = path.with_name(path.name + "___jb_old___")
    tmp.write_text(text)
    os.rename(path, old)
    os.rename(tmp, path)
    old.unlink()
    return [tmp, old, path]


def _temp_rename_save(path: Path, text: str) -> list[Path]:
    tmp = path.with_name(f".{path.name}.tmp.8f3a")
    tmp.write_text(text)
    os.replace(tmp, path)
    return [tmp, path]


@pytest.mark.parametrize("save", [_vim_save, _jetbrains_save, _temp_rename_save], ids=["vim", "jetbrains", "rename"])
def test_atomic_save_is_one_modification(harness: Callable[..., LoopHarness], project: Path, save: Callable) -> None:
    h = harness(project)
    a = project / MODELS / "a.py"
    mark = h.mark()
    touched = save(a, model("A", "x: int; saved: bool = True"))
    h.emit(*touched)  # every path the editor touched, through the loop's filter like a watcher
    event = h.next_build(mark)
    assert event.changes == [FileChange(a, ChangeType.MODIFIED)]
    assert not event.reloaded  # not an add/remove: the task graph is not rebuilt
    assert schemas(event) == {"schema:a", "schema:c"}
    assert "saved" in fields(project, "a", "A")


def test_a_save_split_across_batches_is_still_one_modification(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    a = project / MODELS / "a.py"
    old = a.with_name("a.py___jb_old___")
    mark = h.mark()
    os.rename(a, old)
    h.emit(a)  # a batch that ends while the file is gone...
    a.write_text(model("A", "x: int; later: int = 1"))
    h.emit(a)  # ...and the rename into place lands in the next one
    old.unlink()
    event = h.next_build(mark)
    assert event.changes == [FileChange(a, ChangeType.MODIFIED)]
    assert (project / ".farm/schema/a.json").exists()  # never deleted in between
    assert "later" in fields(project, "a", "A")


def test_edits_during_a_build_are_queued_and_coalesced(harness: Callable[..., LoopHarness], project: Path,
                                                        tmp_path: Path) -> None:
    gate, started = tmp_path / "gate", tmp_path / "started"
    a = project / MODELS / "a.py"
    a.write_text(gated("A", "x: int", gate, started))
    gate.write_text("open")
    h = harness(project)
    gate.unlink()
    started.unlink()
    mark = h.edit(a, gated("A", "x: int\n    v2: int = 2", gate, started))
    wait_for_file(started)  # schema:a is running now, and waits for the gate
    h.edit(project / MODELS / "b.py", model("B", "y: int; during: int = 1"))
    h.edit(project / MODELS / "c.py", "from .a import A\n" + model("C", "a: A; during: int = 1"))
    gate.write_text("open")
    first = h.next_build(mark)
    assert [c.path.name for c in first.changes] == ["a.py"]
    follow = h.next_build(mark, lambda e: e is not first)
    assert {c.path.name for c in follow.changes} == {"b.py", "c.py"}  # both edits, one build
    assert {"schema:b", "schema:c"} <= ran_ids(follow)
    assert "during" in fields(project, "b", "B") and "during" in fields(project, "c", "C")
    assert "v2" in fields(project, "a", "A")


def test_an_input_edited_while_its_task_runs_is_rebuilt(harness: Callable[..., LoopHarness], project: Path,
                                                        tmp_path: Path) -> None:
    """doit records a file_dep's hash *after* the task ran (doit issue 119); the loop must not trust it."""
    gate, started = tmp_path / "gate", tmp_path / "started"
    a = project / MODELS / "a.py"
    a.write_text(gated("A", "x: int", gate, started))
    gate.write_text("open")
    h = harness(project)
    gate.unlink()
    started.unlink()
    mark = h.edit(a, gated("A", "x: int\n    v2: int = 2", gate, started))
    wait_for_file(started)  # the worker has read v2 and is executing it
    h.edit(a, gated("A", "x: int\n    v3: int = 3", gate, started))
    gate.write_text("open")
    h.next_build(mark, lambda e: "schema:a" in ran_ids(e) and "v3" in fields(project, "a", "A"))
    assert "v2" not in fields(project, "a", "A")


def test_syntax_error_is_reported_with_file_and_line_then_recovers(harness: Callable[..., LoopHarness],
                                                                   project: Path) -> None:
    notifier = RecordingNotifier()
    h = harness(project, notifier=notifier)
    a = project / MODELS / "a.py"
    good_output = (project / ".farm/schema/a.json").read_bytes()
    mark = h.edit(a, model("A") + "\nclass Broken(:\n    pass\n")
    event = h.next_build(mark)
    assert {"schema:a", "schema:c"} <= failed_ids(event)
    err = next(r for r in event.report.results if r.id == "schema:a")
    assert (err.file, err.line) == (f"{MODELS}/a.py", 7)
    assert "SyntaxError" in (err.error or "")
    assert (project / ".farm/schema/a.json").read_bytes() == good_output  # last good output kept
    overlay = notifier.vite_events[-1]["errors"]
    assert overlay and overlay[0]["file"] == f"{MODELS}/a.py" and overlay[0]["line"] == 7

    mark = h.edit(a, model("A", "x: int; fixed: int = 1"))
    event = h.next_build(mark)
    assert not failed_ids(event) and {"schema:a", "schema:c"} <= ran_ids(event)
    assert notifier.vite_events[-1]["errors"] == []  # the overlay is cleared
    assert "fixed" in fields(project, "a", "A")


def test_a_fix_that_restores_the_old_output_still_clears_the_error(harness: Callable[..., LoopHarness],
                                                                   project: Path) -> None:
    notifier = RecordingNotifier()
    h = harness(project, notifier=notifier)
    a = project / MODELS / "a.py"
    good = a.read_text()
    h.next_build(h.edit(a, "import this_module_does_not_exist\n" + good))
    assert notifier.vite_events[-1]["errors"][0]["line"] == 1
    n = len(notifier.vite_events)
    event = h.next_build(h.edit(a, good))
    assert event.written == []  # the same schema as before the break
    assert len(notifier.vite_events) == n + 1 and notifier.vite_events[-1]["errors"] == []


def test_failing_import_names_the_line_and_recovers(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    a = project / MODELS / "a.py"
    event = h.next_build(h.edit(a, "from .nowhere import Missing\n" + model("A")))
    err = next(r for r in event.report.results if r.id == "schema:a")
    assert err.status == "failed" and (err.file, err.line) == (f"{MODELS}/a.py", 1)
    event = h.next_build(h.edit(a, model("A", "x: int; back: int = 0")))
    assert "schema:a" in ran_ids(event) and "back" in fields(project, "a", "A")


def test_a_crashing_worker_is_replaced_and_the_loop_goes_on(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    worker = h.session.ctx.worker()
    first_pid, starts = worker.pid, worker.started
    b = project / MODELS / "b.py"
    event = h.next_build(h.edit(b, "import os\nos._exit(3)\n"))
    err = next(r for r in event.report.results if r.id == "schema:b")
    assert err.status == "failed" and "worker process died" in (err.error or "") and err.file == f"{MODELS}/b.py"
    with pytest.raises(ProcessLookupError):
        os.kill(first_pid, 0)
    event = h.next_build(h.edit(b, model("B", "y: int; alive: int = 1")))
    assert "schema:b" in ran_ids(event) and "alive" in fields(project, "b", "B")
    assert worker.started == starts + 1 and worker.pid != first_pid


def test_a_hanging_import_times_out_and_the_worker_is_replaced(harness: Callable[..., LoopHarness],
                                                               make_project: Callable[..., Path]) -> None:
    root = make_project({f"{MODELS}/a.py": model("A"), f"{MODELS}/b.py": model("B")},
                        farm_toml="[worker]\ntimeout_s = 1\n")
    h = harness(root)
    worker = h.session.ctx.worker()
    hung_pid = worker.pid
    a = root / MODELS / "a.py"
    event = h.next_build(h.edit(a, "import time\nwhile True:\n    time.sleep(0.01)\n"))
    err = next(r for r in event.report.results if r.id == "schema:a")
    assert err.status == "failed" and "did not finish within 1 s" in (err.error or "")
    with pytest.raises(ProcessLookupError):
        os.kill(hung_pid, 0)  # the stuck process was killed, not left behind
    event = h.next_build(h.edit(a, model("A", "x: int; ok: int = 1")))
    assert "schema:a" in ran_ids(event) and "ok" in fields(root, "a", "A")
    assert worker.pid != hung_pid


def test_isolated_imports_in_a_fresh_process_per_build(harness: Callable[..., LoopHarness], project: Path) -> None:
    pids: list[int | None] = []
    h = harness(project, isolated=True)
    pids.append(h.session.ctx.worker().pid)
    assert not h.session.ctx.worker().alive  # closed after the build
    for n in range(2):
        h.next_build(h.edit(project / MODELS / "b.py", model("B", f"y: int; n{n}: int = {n}")))
        pids.append(h.session.ctx.worker().pid)
    assert len(set(pids)) == 3


def test_the_warm_worker_stays_the_same_process(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    pid = h.session.ctx.worker().pid
    h.next_build(h.edit(project / MODELS / "a.py", model("A", "x: int; w: int = 1")))
    worker = h.session.ctx.worker()
    assert worker.alive and worker.pid == pid
    assert "w" in fields(project, "c", "A")  # the importer was re-imported too, not served stale


def test_added_and_deleted_modules_reload_the_graph(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    d = project / MODELS / "d.py"
    event = h.next_build(h.edit(d, model("D")))
    assert event.reloaded and schemas(event) == {"schema:d"}
    assert (project / ".farm/schema/d.json").exists()
    mark = h.mark()
    d.unlink()
    h.emit(d)
    event = h.next_build(mark)
    assert event.reloaded and event.changes == [FileChange(d, ChangeType.DELETED)]
    assert ".farm/schema/d.json" in event.report.removed
    assert not (project / ".farm/schema/d.json").exists()
    assert "schema:d" not in h.session.graph.specs


def test_a_new_import_becomes_a_dependency(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    b = project / MODELS / "b.py"
    event = h.next_build(h.edit(b, "from .a import A\n" + model("B", "y: int; a: A | None = None")))
    assert event.reloaded  # b's imports changed: its task's file_dep are recomputed
    event = h.next_build(h.edit(project / MODELS / "a.py", model("A", "x: int; new: int = 0")))
    assert "schema:b" in ran_ids(event)
    assert "new" in fields(project, "b", "A")


def test_invalid_config_is_reported_and_the_loop_goes_on(harness: Callable[..., LoopHarness], project: Path) -> None:
    notifier = RecordingNotifier()
    h = harness(project, notifier=notifier)
    toml = project / "farm.toml"
    mark = h.edit(toml, "[development.hot_reload]\ndebounce_ms = \"fast\"\n")
    err = h.next_error(mark)
    assert isinstance(err, ErrorEvent)
    assert "farm.toml:2: development.hot_reload.debounce_ms: expected an integer" in str(err.error)
    assert notifier.vite_events[-1]["errors"][0]["file"] == "farm.toml"
    assert notifier.vite_events[-1]["errors"][0]["line"] == 2

    mark = h.edit(toml, "[development.hot_reload]\ndebounce_ms = 50\n")
    event = h.next_build(mark)
    assert event.reloaded and not failed_ids(event)
    assert notifier.vite_events[-1]["errors"] == []
    assert h.session.project.config.development.hot_reload.debounce_ms == 50


def test_a_build_waits_for_another_process_holding_the_lock(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    other = ProjectLock(project / ".farm", what="farm build")  # a separate open file: flock conflicts
    other.acquire()
    try:
        mark = h.edit(project / MODELS / "b.py", model("B", "y: int; locked: int = 1"))
        # the loop is blocked on the lock: nothing is written while another build holds it
        assert "locked" not in fields(project, "b", "B")
    finally:
        other.release()
    event = h.next_build(mark)
    assert "schema:b" in ran_ids(event) and "locked" in fields(project, "b", "B")


def test_stop_returns_promptly_and_keeps_nothing_running(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    h.stop()
    assert not h.loop.running.is_set()
    assert isinstance(h.builds()[0], BuildEvent)


def test_saves_made_while_the_project_does_not_load_are_built_after_the_fix(
        harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    main = project / "apps/api/src/main.py"
    app = main.read_text()
    mark = h.mark()
    main.unlink()
    h.emit(main)
    err = h.next_error(mark)
    assert "apps/api/src/main.py: the app module 'src.main' was not found" in str(err.error)
    mark = h.edit(project / MODELS / "b.py", model("B", "y: int; meanwhile: int = 1"))
    h.next_error(mark)  # still broken: reported again, nothing built
    assert "meanwhile" not in fields(project, "b", "B")
    mark = h.edit(main, app)  # the fix is not the file that was edited meanwhile
    event = h.next_build(mark, lambda e: "schema:b" in ran_ids(e))
    assert event.reloaded and "meanwhile" in fields(project, "b", "B")


def test_a_missing_intermediate_is_rebuilt_even_outside_the_selection(harness: Callable[..., LoopHarness],
                                                                      project: Path) -> None:
    h = harness(project)
    # the index reads every module's export summary; b's is gone (not a watched file: nothing
    # reports it), and types:b is not among the tasks the save of a.py affects
    (project / ".farm/types/b.exports.json").unlink()
    event = h.next_build(h.edit(project / MODELS / "a.py", model("A", "x: int; q: int = 0")))
    assert not failed_ids(event) and not event.report.errors
    assert "types:b" in ran_ids(event) and "types-index" in ran_ids(event)
    assert (project / ".farm/types/b.exports.json").exists()


def test_only_what_a_save_affects_is_checked(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    event = h.next_build(h.edit(project / MODELS / "b.py", model("B", "y: int; r: int = 0")))
    # types-index reads every schema, but schema:a and schema:c are not even looked at
    assert {r.id for r in event.report.results} == {"schema:b", "types:b", "types-index"}



def test_a_deferred_lane_runs_when_the_waiting_batch_changes_nothing(harness: Callable[..., LoopHarness],
                                                                     project: Path, tmp_path: Path) -> None:
    """The follow-up lane (the Python client...) waits while a batch is pending; when that batch
    changes nothing (a touch, the build's own write), the lane must still run now, not at the
    next real save (seen in CI: the lane waited forever)."""
    # a route using A, so an edit of A reaches the Python client (the deferred lane)
    (project / "apps/api/src/routes/things.py").write_text(
        "from fastapi import APIRouter\nfrom src.models.a import A\n\nrouter = APIRouter()\n\n\n"
        "@router.get('/things')\ndef list_things() -> list[A]:\n    return []\n")
    (project / "apps/api/src/main.py").write_text(
        "from fastapi import FastAPI\nfrom src.routes import things\n\napp = FastAPI()\n"
        "app.include_router(things.router, prefix='/api')\n")
    gate, started = tmp_path / "gate", tmp_path / "started"
    a = project / MODELS / "a.py"
    a.write_text(gated("A", "x: int", gate, started))
    gate.write_text("open")
    h = harness(project)
    gate.unlink()
    started.unlink()
    mark = h.edit(a, gated("A", "x: int\n    v2: int = 2", gate, started))
    wait_for_file(started)  # lane 0 is running
    h.emit(project / MODELS / "b.py")  # a touch: pending while lane 0 runs, no content change
    gate.write_text("open")
    first = h.next_build(mark, lambda e: e.lane == 0)
    follow = h.next_build(mark, lambda e: e.lane == 1 and e.cycle == first.cycle)
    assert "pyclient" in ran_ids(follow)


def test_a_burst_is_built_once_at_its_start_and_once_at_its_end(harness: Callable[..., LoopHarness],
                                                               project: Path) -> None:
    h = harness(project)
    a, b = project / MODELS / "a.py", project / MODELS / "b.py"
    mark = h.mark()
    a.write_text(model("A", "x: int; first: int = 1"))
    h.source.emit([a], busy=True)  # the cap cut a batch: the disk is busy; built at once
    first = h.next_build(mark)
    assert [c.path for c in first.changes] == [a]
    b.write_text(model("B", "y: int; second: int = 1"))
    h.source.emit([b], busy=True)  # later batches of the same burst wait for its end...
    a.write_text(model("A", "x: int; third: int = 1"))
    h.source.emit([a], busy=True)
    h.source.emit([], busy=False)  # ...which the source reports as a quiet window
    assert h.loop.wait_settled(60)
    later = [e for e in h.builds(mark) if e.cycle != first.cycle]
    assert {e.cycle for e in later} == {first.cycle + 1}, h.builds(mark)
    assert sorted(c.path for c in later[0].changes) == [a, b]
    assert "third" in fields(project, "a", "A") and "second" in fields(project, "b", "B")


def test_a_disk_that_never_goes_quiet_still_gets_builds(harness: Callable[..., LoopHarness], project: Path) -> None:
    h = harness(project)
    h.loop.burst_hold_s = 0.2  # a process writing into a watched folder for good
    a, b = project / MODELS / "a.py", project / MODELS / "b.py"
    mark = h.mark()
    a.write_text(model("A", "x: int; first: int = 1"))
    h.source.emit([a], busy=True)
    h.next_build(mark)
    b.write_text(model("B", "y: int; held: int = 1"))
    h.source.emit([b], busy=True)  # never followed by a quiet window
    h.next_build(mark, lambda e: [c.path for c in e.changes] == [b])
    assert "held" in fields(project, "b", "B")
