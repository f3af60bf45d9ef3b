"""Integration: the task graph on doit, end to end, on the example app and small projects."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from farmbuild.build import BuildOptions, Session, build
from farmbuild.check import check
from tests.conftest import REPO, failed, farm_cli, ran


def schema_ids(report) -> set[str]:  # noqa: ANN001
    return {r.id for r in report.results if r.id.startswith("schema:")}


def test_build_rebuild_and_single_model_edit(example_app: Path) -> None:
    first = build(example_app)
    assert first.ok, first.errors
    assert {"schema:common", "schema:catalog", "schema:billing/invoice"} <= ran(first)
    assert (example_app / ".farm/schema/billing/invoice.json").is_file()

    second = build(example_app)
    assert second.ok and ran(second) == set()

    # edit one model: its schema task and the schema tasks of modules importing it rerun, no others
    reviews = example_app / "apps/api/src/models/reviews.py"
    reviews.write_text(reviews.read_text() + "\n\nclass ReviewStats(BaseModel):\n    count: int = 0\n")
    third = build(example_app)
    assert third.ok
    assert "schema:reviews" in ran(third)
    assert "schema:common" not in ran(third) and "schema:orders" not in ran(third)
    data = json.loads((example_app / ".farm/schema/reviews.json").read_text())
    assert data["order"][-1] == "ReviewStats"


def test_comment_only_edit_rewrites_nothing(example_app: Path) -> None:
    build(example_app)
    common = example_app / ".farm/schema/common.json"
    before = common.stat().st_mtime_ns
    src = example_app / "apps/api/src/models/common.py"
    src.write_text(src.read_text() + "\n# a comment\n")
    report = build(example_app)
    assert "schema:common" in ran(report)
    assert report.written == []  # same schema: early cutoff, nothing downstream is woken
    assert common.stat().st_mtime_ns == before


def test_hand_edited_output_is_restored(example_app: Path) -> None:
    build(example_app)
    out = example_app / ".farm/schema/catalog.json"
    good = out.read_bytes()
    out.write_bytes(good[: len(good) // 2])  # truncated
    report = build(example_app)
    assert ran(report) == {"schema:catalog"}
    assert out.read_bytes() == good


def test_deleted_module_loses_its_outputs(make_project) -> None:  # noqa: ANN001
    root = make_project({
        "apps/api/src/models/a.py": "from pydantic import BaseModel\nclass A(BaseModel):\n    x: int\n",
        "apps/api/src/models/b.py": "from pydantic import BaseModel\nclass B(BaseModel):\n    y: int\n",
    })
    build(root)
    assert (root / ".farm/schema/b.json").exists()
    (root / "apps/api/src/models/b.py").unlink()
    report = build(root)
    assert report.ok
    assert not (root / ".farm/schema/b.json").exists()
    assert ".farm/schema/b.json" in report.removed


def test_broken_model_fails_its_task_only_and_keeps_last_good_output(make_project) -> None:  # noqa: ANN001
    root = make_project({
        "apps/api/src/models/a.py": "from pydantic import BaseModel\nclass A(BaseModel):\n    x: int\n",
        "apps/api/src/models/b.py": "from pydantic import BaseModel\nclass B(BaseModel):\n    y: int\n",
    })
    build(root)
    good = (root / ".farm/schema/a.json").read_bytes()
    (root / "apps/api/src/models/a.py").write_text("from pydantic import BaseModel\nclass A(BaseModel)\n    x: int\n")
    (root / "apps/api/src/models/b.py").write_text("from pydantic import BaseModel\nclass B(BaseModel):\n    y: str\n")
    report = build(root)
    assert not report.ok
    assert failed(report) == {"schema:a"}
    assert "schema:b" in ran(report)  # other modules keep building
    res = next(r for r in report.results if r.id == "schema:a")
    assert (res.file, res.line) == ("apps/api/src/models/a.py", 2)
    assert (root / ".farm/schema/a.json").read_bytes() == good
    # the fix recovers
    (root / "apps/api/src/models/a.py").write_text("from pydantic import BaseModel\nclass A(BaseModel):\n    x: int\n")
    assert build(root).ok


def test_selecting_tasks_by_name_kind_and_glob(example_app: Path) -> None:
    session = Session(example_app)
    try:
        assert ran(session.build(BuildOptions(tasks=["schema:common"]))) == {"schema:common"}
        assert "schema:billing/invoice" in ran(session.build(BuildOptions(tasks=["schema:billing/*"])))
        assert ran(session.build(BuildOptions(tasks=["schema"]))) == schema_ids(session.build()) - {"schema:common", "schema:billing/invoice"}
    finally:
        session.close()


def test_check_passes_on_a_clean_tree_and_fails_with_a_diff_when_stale(make_project) -> None:  # noqa: ANN001
    root = make_project({"apps/api/src/models/a.py": "from pydantic import BaseModel\nclass A(BaseModel):\n    x: int\n"})
    build(root)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    res = check(root)
    assert res.ok and res.stale == []
    (root / "apps/api/src/models/a.py").write_text("from pydantic import BaseModel\nclass A(BaseModel):\n    x: str\n")
    res = check(root)
    # .farm is farmbuild's scratch state, not a committed output: only committed files can be stale,
    # and this project generates none yet besides .farm, so the check stays green but built fine
    assert res.report.ok
    after = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and p.name != "a.py"}
    assert {p: m for p, m in before.items() if p.name != "a.py"} == after  # --check wrote nothing here


def test_check_reports_a_stale_committed_output(make_project, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    # stand-in for any generated, committed file: a task kind writing into the frontend tree
    from farmbuild import tasks as kinds
    from farmbuild.tasks.spec import TaskKind, TaskSpec

    def fake_kind(ctx):  # noqa: ANN001, ANN202
        model = ctx.project.backend_root / "src/models/a.py"
        target = ctx.project.frontend_src / "gen.txt"
        yield TaskSpec(TaskKind.TYPES, "gen", lambda: {target: model.read_text().upper()},
                       file_dep=(model,), targets=(target,))

    monkeypatch.setattr(kinds, "KINDS", [*kinds.KINDS, fake_kind])
    import farmbuild.graph as graph_mod

    monkeypatch.setattr(graph_mod, "KINDS", kinds.KINDS)
    root = make_project({"apps/api/src/models/a.py": "x = 1\n"})
    build(root)
    assert check(root).ok
    (root / "apps/api/src/models/a.py").write_text("x = 2\n")
    res = check(root)
    assert not res.ok
    assert res.stale == ["apps/web/src/gen.txt"]
    assert "-X = 1" in res.diff and "+X = 2" in res.diff and "a/apps/web/src/gen.txt" in res.diff
    assert (root / "apps/web/src/gen.txt").read_text() == "X = 1\n"  # the project is untouched


def test_corrupt_doit_db_is_set_aside(make_project) -> None:  # noqa: ANN001
    root = make_project({"apps/api/src/models/a.py": "from pydantic import BaseModel\nclass A(BaseModel):\n    x: int\n"})
    build(root)
    (root / ".doit.db").write_bytes(b"this is not a database" * 100)
    report = build(root)
    assert report.ok
    assert (root / ".doit.db.corrupt-1").exists()
    conn = sqlite3.connect(root / ".doit.db")
    assert conn.execute("select count(*) from doit").fetchone()[0] >= 1
    conn.close()


# -- the command line -----------------------------------------------------------------

def test_cli_build_summary_and_json(example_app: Path) -> None:
    n = len(json.loads(farm_cli("list", "--json", "-C", str(example_app)).stdout))  # every kind's tasks
    out = farm_cli("build", "-C", str(example_app))
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith(f"{n} tasks: {n} ran, 0 up to date, 0 failed \u2014 ")
    out = farm_cli("build", "--json", cwd=example_app)
    data = json.loads(out.stdout)
    assert data["ok"] and data["summary"]["up_to_date"] == data["summary"]["tasks"] == n


def test_cli_errors_exit_codes_and_no_traceback(make_project, tmp_path: Path) -> None:  # noqa: ANN001
    root = make_project(farm_toml="[backend]\nroot = 3\n")
    out = farm_cli("build", "-C", str(root))
    assert out.returncode == 2
    assert "farm.toml:2: backend.root: expected a string" in out.stderr
    assert "Traceback" not in out.stderr

    out = farm_cli("build", "-C", str(tmp_path / "nowhere"))
    assert out.returncode == 2 and "no such directory" in out.stderr

    empty = tmp_path / "empty"
    empty.mkdir()
    out = farm_cli("build", cwd=empty)
    assert out.returncode == 2 and "backend.root" in out.stderr and "Traceback" not in out.stderr

    root = make_project({"apps/api/src/models/a.py": "from pydantic import BaseModel\nclass A(BaseModel):\n  x: int\n y: int\n"})
    out = farm_cli("build", "-C", str(root))
    assert out.returncode == 1
    assert "apps/api/src/models/a.py:4" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    assert re.search(r"\d+ tasks: \d+ ran, 0 up to date, 1 failed", out.stdout)  # the other kinds' tasks still ran

    out = farm_cli("build", "no-such-task", "-C", str(root))
    assert out.returncode == 2 and "unknown task 'no-such-task'" in out.stderr


def test_cli_list_explain_clean(example_app: Path) -> None:
    out = farm_cli("list", "-C", str(example_app))
    assert "schema:catalog" in out.stdout
    out = farm_cli("explain", "apps/api/src/models/common.py", cwd=example_app)
    assert out.returncode == 0
    assert "apps/api/src/models/common.py: backend-model" in out.stdout
    assert "schema:common" in out.stdout and "schema:catalog" in out.stdout
    out = farm_cli("explain", "apps/api/src/ai/prompts.py", cwd=example_app)
    assert "ai-config" in out.stdout
    farm_cli("build", cwd=example_app)
    out = farm_cli("clean", cwd=example_app)
    assert out.returncode == 0
    assert not (example_app / ".farm").exists() and not (example_app / ".doit.db").exists()


def test_plain_doit_drives_the_same_tasks(example_app: Path) -> None:
    (example_app / "dodo.py").write_text("from farmbuild.dodo import doit_tasks\nDOIT_CONFIG, task_farm = doit_tasks(__file__)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    doit = [sys.executable, "-m", "doit"]
    out = subprocess.run([*doit, "list", "--all"], cwd=example_app, capture_output=True, text=True, env=env)
    assert "schema:catalog" in out.stdout, out.stderr
    out = subprocess.run([*doit, "-n", "2"], cwd=example_app, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (example_app / ".farm/schema/catalog.json").is_file()
    # farm build agrees that everything is up to date: same database, same keys
    report = build(example_app)
    assert ran(report) == set()


def test_circular_import_names_the_cycle(make_project) -> None:  # noqa: ANN001
    root = make_project({
        "apps/api/src/models/a.py": "from .b import B\nfrom pydantic import BaseModel\nclass A(BaseModel):\n    b: B\n",
        "apps/api/src/models/b.py": "from .a import A\nfrom pydantic import BaseModel\nclass B(BaseModel):\n    x: int\n",
    })
    report = build(root)
    assert report.errors == []  # a failed task, not a build-level error
    res = next(r for r in report.results if r.id == "schema:a")
    assert res.status == "failed"
    assert "circular import: src.models.b -> src.models.a -> src.models.b" in res.error
