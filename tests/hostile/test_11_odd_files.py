"""Item 11 — a non-UTF-8 file, a BOM, a 50 MB file in a watched folder.

Property: a source file that is not UTF-8 (a model, a route, farm.toml, a plugin manifest, a
migration) fails with an error naming the file and line and saying what to do, and only what
depends on it fails; a UTF-8 BOM (what Windows editors write) and a PEP 263 coding declaration are
read as the text they are; a 50 MB Python module is refused with an error naming the file and the
config key (``backend.max_module_mb``) — neither farm nor its worker reads or parses it — and a
50 MB data file beside the models is never read into memory; ``farm watch`` reports each of these,
keeps running, and builds the next good save.

What it found: a 50 MB model module took a ``farm build`` 2m20s and 1.5 GB of memory (the import
graph parsed it in farm's process, then the worker compiled and imported it), and the watcher
read every file it saw whole to hash it; a migration with a BOM did not parse, and a non-UTF-8
plugin manifest or migration gave no line.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from farmbuild.build import Session, build
from farmbuild.cli import main
from tests.farmbuild.watch.conftest import LoopHarness, failed_ids

MODELS = "apps/api/src/models"
TYPES = "apps/web/src/types/models"
MB = 2**20
BIG = 50 * MB


def model(name: str, doc: str = "A thing.") -> str:
    return f'from pydantic import BaseModel\n\n\nclass {name}(BaseModel):\n    """{doc}"""\n\n    x: int\n'


LATIN1 = model("Latin", "Café au lait.").encode("latin-1")  # line 5 holds the é
BOM = b"\xef\xbb\xbf" + model("Bom", "Café, with a BOM.").encode("utf-8")
COOKIE = b"# -*- coding: latin-1 -*-\n" + model("Cookie", "Café, declared latin-1.").encode("latin-1")
ROUTE_LATIN1 = ('from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n@router.get("/x")\n'
                'def x() -> int:\n    """Café."""\n    return 1\n').encode("latin-1")


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project({f"{MODELS}/good.py": model("Good")})


def write(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def big_python(path: Path) -> Path:
    """A valid Python module of 50 MB (a model and a generated table of 400,000 rows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(model("Huge"))
        row, i = "abcdefgh" * 14, 0
        while fh.tell() < BIG:
            fh.write(f'ROW_{i} = "{row}"\n')
            i += 1
    return path


def big_data(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        chunk = b"sku,name,price\n" * (MB // 15)
        while fh.tell() < BIG:
            fh.write(chunk)
    return path


def results(report) -> dict[str, object]:  # noqa: ANN001
    return {r.id: r for r in report.results}


# -- farm build -----------------------------------------------------------------------------


def test_a_model_that_is_not_utf8_fails_alone_naming_file_and_line(project: Path) -> None:
    write(project, f"{MODELS}/latin.py", LATIN1)
    report = build(project)
    by_id = results(report)
    failed = [r for r in report.results if r.status == "failed"]
    assert [r.id for r in failed] == ["schema:latin"], failed
    assert (failed[0].file, failed[0].line) == (f"{MODELS}/latin.py", 5)
    assert "not valid UTF-8: save it as UTF-8" in (failed[0].error or "")
    assert by_id["types:good"].status == "ran" and (project / TYPES / "good.ts").exists()


def test_a_route_that_is_not_utf8(project: Path) -> None:
    write(project, "apps/api/src/routes/latin.py", ROUTE_LATIN1)
    write(project, "apps/api/src/main.py", b"from fastapi import FastAPI\nfrom src.routes import latin\n\n"
                                           b"app = FastAPI()\napp.include_router(latin.router)\n")
    report = build(project)
    fragment = results(report)["openapi:latin"]
    assert fragment.status == "failed" and (fragment.file, fragment.line) == ("apps/api/src/routes/latin.py", 8)
    assert "UTF-8" in (fragment.error or "")


def test_a_bom_and_a_coding_declaration_are_read_as_text(project: Path) -> None:
    write(project, f"{MODELS}/bom.py", BOM)
    write(project, f"{MODELS}/cookie.py", COOKIE)
    report = build(project)
    assert report.ok, [(r.id, r.error) for r in report.results if r.status == "failed"]
    assert "Café, with a BOM." in (project / TYPES / "bom.ts").read_text("utf-8")
    assert "Café, declared latin-1." in (project / TYPES / "cookie.ts").read_text("utf-8")
    assert "Café, with a BOM." in (project / ".farm/schema/bom.json").read_text("utf-8")


@pytest.mark.parametrize("bom", [False, True])
def test_farm_toml(project: Path, bom: bool, capsys: pytest.CaptureFixture[str]) -> None:
    text = '[project]\nname = "café"\n'
    data = b"\xef\xbb\xbf" + text.encode("utf-8") if bom else text.encode("latin-1")
    write(project, "farm.toml", data)
    code = main(["build", "-C", str(project)])
    out = capsys.readouterr()
    if bom:
        assert code == 2 and "project.name" in out.err  # read fine: the name is then (rightly) no identifier
    else:
        assert code == 2 and "farm.toml:2: the file is not UTF-8 text; save it as UTF-8" in out.err, out.err
        assert "Traceback" not in out.err


@pytest.mark.parametrize("bom", [False, True])
def test_plugin_manifest(project: Path, bom: bool) -> None:
    manifest = {"name": "shop", "version": "0.1.0", "description": "Café"}
    text = json.dumps(manifest, indent=2, ensure_ascii=False)
    write(project, "plugins/shop/plugin.json", b"\xef\xbb\xbf" + text.encode() if bom else text.encode("latin-1"))
    plugins = results(build(project))["plugins"]
    if bom:
        assert plugins.status == "ran", plugins.error
    else:
        assert plugins.status == "failed" and (plugins.file, plugins.line) == ("plugins/shop/plugin.json", 4), plugins
        assert "not UTF-8 text; save it as UTF-8" in (plugins.error or "")


@pytest.mark.parametrize("bom", [False, True])
def test_a_migration(project: Path, bom: bool) -> None:
    write(project, f"{MODELS}/doc.py", model("Doc").replace(
        "    x: int\n", '    x: int\n\n    class Settings:\n        name = "docs"\n').encode())
    assert build(project).ok
    [migration] = sorted((project / "apps/api/migrations").glob("*.json"))
    data = migration.read_bytes()
    if bom:
        migration.write_bytes(b"\xef\xbb\xbf" + data)
    else:  # line 3 is `"name": "initial",`: a latin-1 é in it
        assert data.split(b"\n")[2].strip() == b'"name": "initial",'
        migration.write_bytes(data.replace(b'"initial"', b'"initi\xe9l"', 1))
    report = build(project)
    failed = [r for r in report.results if r.status == "failed"]
    if bom:
        assert not failed, failed
    else:
        assert failed
        assert any(f"{migration.name}:3: the file is not UTF-8 text; save it as UTF-8" in (r.error or "")
                   for r in failed), failed


def _worker_peak_mb(session: Session) -> float:
    """The worker's peak resident memory (VmHWM) so far."""
    pid = session.ctx.worker().pid
    assert pid is not None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_50_mb_module_is_refused_without_reading_it(project: Path) -> None:
    big_data(project / MODELS / "seed.csv")  # data beside the models: not a module, never read
    session = Session(project)
    try:
        assert session.build().ok
        session.ctx.worker().call("ping")
        worker_before = _worker_peak_mb(session)
        big_python(project / MODELS / "huge.py")
        session.reload()
        tracemalloc.start()
        try:
            report = session.build()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        worker_after = _worker_peak_mb(session)
    finally:
        session.close()
    failed = [r for r in report.results if r.status == "failed"]
    assert [r.id for r in failed] == ["schema:huge"], failed
    assert failed[0].file == f"{MODELS}/huge.py"
    assert "the file is 50.0 MB, more than the 8 MB" in (failed[0].error or "")
    assert "config key backend.max_module_mb" in (failed[0].error or "")
    assert results(report)["types:good"].status in ("ran", "up-to-date")
    # neither process read the file: a fraction of its size, where parsing it took 1.5 GB
    assert peak < 10 * MB, f"farm allocated {peak / MB:.1f} MB"
    assert worker_after - worker_before < 10, (worker_before, worker_after)


def test_the_limit_is_a_config_key(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(project, f"{MODELS}/mid.py", (model("Mid") + "# padding\n" * 120_000).encode())  # 1.2 MB
    write(project, "farm.toml", b"[backend]\nmax_module_mb = 1\n")
    report = build(project)
    assert [r.id for r in report.results if r.status == "failed"] == ["schema:mid"]
    write(project, "farm.toml", b"[backend]\nmax_module_mb = 2\n")
    assert build(project).ok
    write(project, "farm.toml", b"[backend]\nmax_module_mb = 0\n")
    assert main(["build", "-C", str(project)]) == 2
    assert "backend.max_module_mb" in capsys.readouterr().err


# -- farm watch -----------------------------------------------------------------------------


@pytest.fixture
def watching(project: Path) -> Iterator[LoopHarness]:
    assert build(project).ok
    h = LoopHarness(Session(project, lock_what="farm watch"))
    h.start()
    try:
        yield h
    finally:
        h.stop()
        h.session.close()


def save(h: LoopHarness, path: Path, data: bytes) -> int:
    mark = h.mark()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    h.emit(path)
    return mark


def test_farm_watch_reports_each_and_keeps_building(project: Path, watching: LoopHarness) -> None:
    h = watching
    models = project / MODELS
    # a file that is not UTF-8: its task fails naming the file and line
    event = h.next_build(save(h, models / "latin.py", LATIN1))
    assert failed_ids(event) == {"schema:latin"}
    [latin] = [r for r in event.report.results if r.status == "failed"]
    assert (latin.file, latin.line) == (f"{MODELS}/latin.py", 5)

    # a 50 MB module and a 50 MB data file: refused / ignored, without reading them into memory
    h.session.ctx.worker().call("ping")
    worker_before = _worker_peak_mb(h.session)
    mark = h.mark()
    big_data(models / "seed.csv")
    big_python(models / "huge.py")
    tracemalloc.start()
    try:
        h.emit(models / "seed.csv", models / "huge.py")
        event = h.next_build(mark, lambda e: "schema:huge" in failed_ids(e))
        assert h.loop.wait_settled(60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [huge] = [r for r in event.report.results if r.id == "schema:huge"]
    assert huge.file == f"{MODELS}/huge.py" and "backend.max_module_mb" in (huge.error or "")
    assert peak < 10 * MB, f"farm watch allocated {peak / MB:.1f} MB"
    assert _worker_peak_mb(h.session) - worker_before < 10

    # a BOM: built as text
    event = h.next_build(save(h, models / "bom.py", BOM), lambda e: "types:bom" in {r.id for r in e.report.results})
    assert "Café, with a BOM." in (project / TYPES / "bom.ts").read_text("utf-8")

    # the next good saves build: the latin model fixed, the huge one replaced, a model edited
    mark = save(h, models / "latin.py", LATIN1.decode("latin-1").encode("utf-8"))
    (models / "huge.py").write_text(model("Huge"))
    h.emit(models / "huge.py")
    h.next_build(mark, lambda e: e.report.ok and (project / TYPES / "latin.ts").exists()
                 and (project / TYPES / "huge.ts").exists())
    # (the huge.py write may still be followed by a build of its own: farm watch rechecks a file that
    # changed while a build read it; wait for the build of this save, not the next build of any kind)
    event = h.next_build(save(h, models / "good.py", model("Good", "Still watched.").encode()),
                         lambda e: any(c.path.name == "good.py" for c in e.changes))
    assert event.report.ok and "Still watched." in (project / TYPES / "good.ts").read_text("utf-8")
    assert h.thread.is_alive() and h.error is None
