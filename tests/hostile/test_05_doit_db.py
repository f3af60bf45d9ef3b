"""Item 5 — a truncated or garbage ``.doit.db``.

Property: whatever is in ``.doit.db`` (cut in half, random bytes, random bytes behind a valid
SQLite header, an empty file, a directory, another program's SQLite database, records that are
not JSON, records in doit's shape with values of the wrong type, a garbage hot journal beside
it), ``farm build`` prints no traceback, says it set the file aside (and where), exits 0, writes
exactly what an undisturbed build writes, and the build after it has nothing to do. Plain
``doit`` through ``dodo.py`` and ``farm watch`` recover the same way.
(tests/farmbuild/test_build.py checks the garbage case through the library; this module is
where the property is asserted for every kind of damage and every entry point.)
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, farm_cli

from .conftest import sync_sources, tree



def _records(db: Path, fn: Callable[[dict], dict]) -> None:
    conn = sqlite3.connect(db)
    rows = conn.execute("select task_id, task_data from doit").fetchall()
    for tid, data in rows[:3]:
        conn.execute("update doit set task_data = ? where task_id = ?", (json.dumps(fn(json.loads(data))), tid))
    conn.commit()
    conn.close()


def _file_deps(value: object) -> Callable[[dict], dict]:
    return lambda rec: {k: (value if k.startswith("/") else v) for k, v in rec.items()}


def _garbage_json(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("update doit set task_data = '{not json' where task_id = (select task_id from doit limit 1)")
    conn.commit()
    conn.close()


def _other_db(db: Path) -> None:
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("create table notes (body text)")
    conn.commit()
    conn.close()


def _directory(db: Path) -> None:
    db.unlink()
    (db / "x").mkdir(parents=True)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": lambda db: db.write_bytes(db.read_bytes()[: db.stat().st_size // 2]),
    "random bytes": lambda db: db.write_bytes(os.urandom(6000)),
    "sqlite header, garbage after": lambda db: db.write_bytes(b"SQLite format 3\x00" + os.urandom(8000)),
    "empty": lambda db: db.write_bytes(b""),
    "a directory": _directory,
    "another program's database": _other_db,
    "a record that is not JSON": _garbage_json,
    "file stamps that are numbers": lambda db: _records(db, _file_deps(5)),
    "file stamps that are too short": lambda db: _records(db, _file_deps([])),
    "values that are a list": lambda db: _records(db, lambda rec: {**rec, "_values_:": [1]}),
    "a garbage hot journal": lambda db: db.with_name(".doit.db-journal").write_bytes(os.urandom(3000)),
}


TINY = {
    "apps/api/src/__init__.py": "",
    "apps/api/src/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
    "apps/api/src/models/__init__.py": "",
    "apps/api/src/models/a.py": "from pydantic import BaseModel\n\n\nclass A(BaseModel):\n    x: int\n",
    "apps/api/src/models/b.py": "from pydantic import BaseModel\n\n\nclass B(BaseModel):\n    y: str = ''\n",
    "apps/api/src/routes/__init__.py": "",
    "apps/web/src/main.tsx": "export {};\n",
    # the damage is the point, not the generators: leave the slowest one out
    "farm.toml": "[python_client]\nenabled = false\n",
}


def farm(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The real command line, in process (same parser, logging setup and output path as `farm`)."""
    from farmbuild.cli import main

    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(where every test runs, a copy of it after a complete build): doit's records name absolute
    paths, so each test gets the built project back in the same place."""
    from farmbuild.build import build

    base = tmp_path_factory.mktemp("doitdb")
    work, stash = base / "work" / "app", base / "stash" / "app"
    sync_sources(work, TINY, {})
    assert build(work).ok
    shutil.copytree(work, stash, symlinks=True)
    return work, stash


@pytest.fixture
def root(built: tuple[Path, Path]) -> Path:
    work, stash = built
    shutil.rmtree(work)
    shutil.copytree(stash, work, symlinks=True)
    return work


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_farm_build_sets_a_damaged_db_aside_and_recovers(root: Path, damage: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    good = tree(root, exclude=set(TINY))
    DAMAGE[damage](root / ".doit.db")
    code, out, err = farm(capsys, "build", "-C", str(root))
    assert code == 0, out + err
    assert "Traceback" not in out + err and "internal error" not in out + err and "FAILED" not in out, out + err
    if damage not in ("empty", "a garbage hot journal"):
        assert ".doit.db was unreadable" in err and "moved it to .doit.db.corrupt-1" in err, err
        assert (root / ".doit.db.corrupt-1").exists()
    assert tree(root, exclude=set(TINY)) == good
    code, out, err = farm(capsys, "build", "-C", str(root))
    assert code == 0 and " 0 ran," in out, out + err


def test_damage_in_place_that_keeps_the_size_is_still_seen(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # farmbuild trusts a DB it left itself without reading it whole; damage made in place, that
    # keeps its size, must still be noticed (the stamp has the modification time and the inode)
    db = root / ".doit.db"
    size = db.stat().st_size
    with open(db, "r+b") as fh:
        fh.seek(size // 3)
        fh.write(os.urandom(size // 3))
    code, out, err = farm(capsys, "build", "-C", str(root))
    assert code == 0 and "Traceback" not in out + err, out + err
    code, out, err = farm(capsys, "build", "-C", str(root))
    assert code == 0 and " 0 ran," in out, out + err


def test_plain_doit_recovers_too(root: Path) -> None:
    (root / "dodo.py").write_text("from farmbuild.dodo import doit_tasks\nDOIT_CONFIG, task_farm = doit_tasks(__file__)\n")
    DAMAGE["a record that is not JSON"](root / ".doit.db")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, "-m", "doit"], cwd=root, capture_output=True, text=True, env=env, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Traceback" not in res.stderr and "moved it to .doit.db.corrupt-1" in res.stderr, res.stderr
    assert " 0 ran," in farm_cli("build", "-C", str(root)).stdout


def test_farm_watch_recovers_when_the_db_is_damaged_under_it(root: Path) -> None:
    from farmbuild.build import Session
    from farmbuild.watch.loop import BuildEvent, ErrorEvent, WatchLoop
    from farmbuild.watch.source import ScriptedSource

    events: list[object] = []
    session = Session(root, lock_what="farm watch")
    source = ScriptedSource()
    loop = WatchLoop(session, source=source, on_event=events.append)
    import threading

    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        assert loop.wait_settled(120)
        DAMAGE["random bytes"](root / ".doit.db")
        model = root / "apps/api/src/models/a.py"
        model.write_text(TINY["apps/api/src/models/a.py"] + "    z: int = 0\n")
        mark = len(events)
        source.emit([model])
        assert loop.wait_settled(120)
        new = events[mark:]
        assert not [e for e in new if isinstance(e, ErrorEvent)], new
        builds = [e for e in new if isinstance(e, BuildEvent)]
        assert builds and all(e.report.ok for e in builds), builds
        assert "z" in (root / "apps/web/src/types/models/a.ts").read_text()
        assert (root / ".doit.db.corrupt-1").exists()
    finally:
        loop.stop()
        thread.join(60)
        session.close()
