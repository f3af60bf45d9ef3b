"""Planning: reload decisions, the reverse index, and frontend-first lanes (in the loop too)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from farmbuild.graph import BuildContext, TaskGraph
from farmbuild.project import discover
from farmbuild.tasks import KINDS
from farmbuild.tasks.spec import TaskKind, TaskSpec
from farmbuild.watch import plan
from farmbuild.watch.changes import ChangeType, FileChange
from farmbuild.watch.loop import BuildEvent, Deferred

from .conftest import LoopHarness, RecordingNotifier, model, ran_ids

MODELS = "apps/api/src/models"
WEB = Path("/p/apps/web")


def spec(kind: TaskKind, name: str | None, deps: tuple[str, ...], targets: tuple[str, ...]) -> TaskSpec:
    return TaskSpec(kind, name, lambda: None, tuple(Path(d) for d in deps), tuple(Path(t) for t in targets))


@pytest.fixture
def graph() -> TaskGraph:
    specs = [
        spec(TaskKind.SCHEMA, "a", ("/p/src/a.py",), ("/p/.farm/a.json",)),
        spec(TaskKind.SCHEMA, "b", ("/p/src/b.py",), ("/p/.farm/b.json",)),
        spec(TaskKind.TYPES, "a", ("/p/.farm/a.json",), ("/p/apps/web/src/types/a.ts",)),
        spec(TaskKind.OPENAPI, None, ("/p/.farm/a.json", "/p/.farm/b.json"), ("/p/.farm/openapi.json",)),
        spec(TaskKind.PYCLIENT, None, ("/p/.farm/openapi.json",), ("/p/clients/python/client.py",)),
    ]
    return TaskGraph({s.id: s for s in specs})


def test_the_frontend_lane_comes_first_and_takes_what_it_consumes(graph: TaskGraph) -> None:
    tasks = graph.affected([Path("/p/src/a.py")])
    assert tasks == {"schema:a", "types:a", "openapi-json", "pyclient"}
    assert plan.lanes(graph, tasks, WEB) == [{"schema:a", "types:a"}, {"openapi-json", "pyclient"}]


def test_no_frontend_output_means_one_lane(graph: TaskGraph) -> None:
    tasks = graph.affected([Path("/p/src/b.py")])
    assert plan.lanes(graph, tasks, WEB) == [{"schema:b", "openapi-json", "pyclient"}]
    assert plan.lanes(graph, set(), WEB) == []


def test_declared_slow_kinds_go_last_when_no_frontend_file_is_due(graph: TaskGraph) -> None:
    tasks = graph.affected([Path("/p/src/b.py")])
    assert plan.lanes(graph, tasks, WEB, frozenset({TaskKind.PYCLIENT})) == [{"schema:b", "openapi-json"}, {"pyclient"}]


def test_upstream_and_sources(graph: TaskGraph) -> None:
    assert graph.upstream({"pyclient"}) == {"pyclient", "openapi-json", "schema:a", "schema:b"}
    assert graph.sources({"pyclient", "openapi-json", "schema:a"}) == {Path("/p/src/a.py").resolve()}


def test_changed_specs(graph: TaskGraph) -> None:
    specs = dict(graph.specs)
    specs["schema:b"] = spec(TaskKind.SCHEMA, "b", ("/p/src/b.py", "/p/src/a.py"), ("/p/.farm/b.json",))
    specs["schema:c"] = spec(TaskKind.SCHEMA, "c", ("/p/src/c.py",), ("/p/.farm/c.json",))
    assert plan.changed_specs(graph, TaskGraph(specs)) == {"schema:b", "schema:c"}


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project({f"{MODELS}/a.py": model("A"), f"{MODELS}/b.py": "from .a import A\n" + model("B", "a: A")})


def test_what_reloads_the_graph(project: Path) -> None:
    p = discover(project)
    a, b = project / MODELS / "a.py", project / MODELS / "b.py"

    def mod(path: Path) -> list[FileChange]:
        return [FileChange(path, ChangeType.MODIFIED)]

    assert not plan.needs_reload(p, mod(a))  # same imports: the reverse index is enough
    a.write_text(model("A", "x: int; y: str"))
    assert not plan.needs_reload(p, mod(a))
    a.write_text("from datetime import date\n" + model("A", "x: date"))
    assert plan.needs_reload(p, mod(a))  # a new import: file_dep may change
    a.write_text("class Broken(:\n")
    assert not plan.needs_reload(p, mod(a))  # does not parse: keep the last good dependencies
    assert plan.needs_reload(p, [FileChange(project / MODELS / "c.py", ChangeType.ADDED)])
    assert plan.needs_reload(p, [FileChange(b, ChangeType.DELETED)])
    (project / "farm.toml").write_text("")
    assert plan.needs_reload(p, mod(project / "farm.toml"))
    assert not plan.needs_reload(p, mod(project / "apps/api/src/notes.txt"))
    # adding or removing a file no task could read does not rebuild the task list
    assert not plan.needs_reload(p, [FileChange(project / "apps/api/src/README.md", ChangeType.ADDED)])
    assert plan.needs_reload(p, [FileChange(project / "plugins/shop/plugin.json", ChangeType.ADDED)])
    assert plan.needs_reload(p, [FileChange(project / "apps/api/migrations/0002.json", ChangeType.DELETED)])
    # an edited migration may touch other collections now: their db tasks must read it
    assert plan.needs_reload(p, mod(p.migrations_dir / "0001_a_initial.json"))


def test_edits_that_change_which_tasks_exist_reload_the_graph(project: Path) -> None:
    # found by tests/hostile (incremental == clean): a model that became a document got no
    # db:<collection> task in farm watch, so its first migration was never written
    from farmbuild.graph import make_graph

    p = discover(project)
    graph = make_graph(BuildContext(p))
    a = project / MODELS / "a.py"
    change = [FileChange(a, ChangeType.MODIFIED)]
    a.write_text(model("A", "x: int; y: int = 0"))
    assert not plan.needs_reload(p, change, graph)
    a.write_text(model("A", "x: int") + "\n    class Settings:\n        name = \"a_things\"\n")
    assert plan.needs_reload(p, change, graph)  # a new collection: a new db task
    graph = make_graph(BuildContext(discover(project)))
    assert "db:a_things" in graph.specs and not plan.needs_reload(p, change, graph)
    a.write_text(model("A", "x: int") + "\n    class Settings:\n        name = \"other\"\n")
    assert plan.needs_reload(p, change, graph)  # renamed collection
    for rel in ("plugins/shop/plugin.json", "apps/api/migrations/0001_a_things_initial.json"):
        assert plan.needs_reload(p, [FileChange(project / rel, ChangeType.MODIFIED)], graph)


def test_type_generation_settings_filter_the_plan(make_project: Callable[..., Path]) -> None:
    root = make_project({f"{MODELS}/a.py": model("A")},
                        farm_toml="[development.hot_reload.type_generation]\ngenerate_on_model_change = false\n")
    p = discover(root)
    specs = [
        spec(TaskKind.SCHEMA, "a", (str(root / MODELS / "a.py"),), (str(root / ".farm/a.json"),)),
        spec(TaskKind.TYPES, "a", (str(root / ".farm/a.json"),), (str(root / "apps/web/src/types/a.ts"),)),
    ]
    g = TaskGraph({s.id: s for s in specs})
    assert plan.affected(p, g, [FileChange(root / MODELS / "a.py", ChangeType.MODIFIED)]) == {"schema:a"}


# -- lanes in the loop: the real types tasks (frontend) and a backend-side probe task -------

def probe_kinds(on_frontend: Callable[[], None] = lambda: None) -> Callable[[BuildContext], Iterator[TaskSpec]]:
    """A frontend task and a backend-side task, both reading every schema (like a Python client)."""

    def kinds(ctx: BuildContext) -> Iterator[TaskSpec]:
        project = ctx.project
        schemas = tuple(project.state_dir / "schema" / f"{m.key}.json" for m in project.models)
        front = project.frontend_src / "probe.ts"
        back = project.root / "clients" / "python" / "models.txt"

        def frontend() -> dict[Path, str]:
            on_frontend()
            return {front: "".join(f"// {len(s.read_bytes())}\n" for s in schemas)}

        def backend() -> dict[Path, str]:
            return {back: "".join(f"{json.loads(s.read_text())['order']}\n" for s in schemas)}

        # reserved kinds nothing else uses as a task, so the probe never collides with real tasks
        yield TaskSpec(TaskKind.NOTIFY_FRONTEND, "probe", frontend, schemas, (front,))
        yield TaskSpec(TaskKind.NOTIFY_BACKEND, "probe", backend, schemas, (back,))

    return kinds


def test_the_browser_is_told_before_the_backend_lane_runs(harness: Callable[..., LoopHarness], project: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("farmbuild.graph.KINDS", [*KINDS, probe_kinds()])
    notifier = RecordingNotifier()
    h = harness(project, notifier=notifier)
    mark = h.edit(project / MODELS / "a.py", model("A", "x: int; more: int = 0"))
    first = h.next_build(mark)
    assert first.lane == 0 and {"schema:a", "types:a", "schema:b", "notify-frontend:probe"} <= ran_ids(first)
    assert "notify-backend:probe" not in ran_ids(first)
    assert first.notified == ["vite"]
    assert "apps/web/src/types/models/a.ts" in notifier.vite_events[-1]["written"]
    second = h.next_build(mark, lambda e: e.lane == 1)
    assert ran_ids(second) == {"notify-backend:probe"}
    assert h.events.index(first) < h.events.index(second)


def test_the_follow_up_lane_waits_when_new_changes_are_queued(harness: Callable[..., LoopHarness], project: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    box: dict[str, LoopHarness] = {}
    b = project / MODELS / "b.py"
    edits = iter([("from .a import A\n" + model("B", "a: A; late: int = 0"))])

    def on_frontend() -> None:  # while the frontend lane runs, the user saves again
        text = next(edits, None) if "h" in box else None
        if text is not None:
            b.write_text(text)
            box["h"].emit(b)

    monkeypatch.setattr("farmbuild.graph.KINDS", [*KINDS, probe_kinds(on_frontend)])
    h = box["h"] = harness(project)
    mark = h.edit(project / MODELS / "a.py", model("A", "x: int; first: int = 0"))
    deferred = h.wait(lambda e: isinstance(e, Deferred), after=mark)
    assert deferred.tasks == {"notify-backend:probe"}
    nxt = h.next_build(mark, lambda e: any(c.path == b for c in e.changes) and e.lane == 1)
    assert "notify-backend:probe" in ran_ids(nxt)  # the postponed task ran with the next cycle, not dropped
    assert all(isinstance(e, BuildEvent) for e in h.builds(mark))
