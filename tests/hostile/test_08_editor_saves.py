"""Item 8 — editor save patterns under ``farm watch``.

Property: however an editor saves — vim's probe file, swap file and rename-to-backup, vim and
emacs writing in place after copying a backup, a write to a temporary file renamed over the
original (Sublime, gedit, atomic-write libraries), JetBrains' safe write with ``___jb_tmp___`` and
``___jb_old___`` files — each save is exactly one build, reported as one modification of the
saved file (never a deletion and re-creation, never a reload of the project), no build runs for
the temporary files themselves, and the file is still watched afterwards: the next save, by the
same editor, builds again. The same holds for ``farm.toml`` (watched by a non-recursive watch on
the project root), whose saves reload the config.

The real watcher (watchfiles) drives the real loop, as ``farm watch`` does. Every step waits on a
build event; a final plain save of another file is the sentinel that proves no build was left
over from a temporary file.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from farmbuild.watch.changes import ChangeType, FileChange
from farmbuild.watch.loop import BuildEvent, Deferred, ErrorEvent
from tests.farmbuild.watch.conftest import LoopHarness, model, ran_ids

pytestmark = pytest.mark.e2e  # a watch session per editor, a dozen builds each: ~40 s

MODELS = "apps/api/src/models"
SAVES = 3  # per editor: the second and third prove the file is still watched after the first


# -- how editors save (what they do on disk, in order) -------------------------------

def vim_rename(path: Path, text: str) -> None:
    """vim, ``backupcopy=no`` (``writebackup``): probe the directory with a file named 4913,
    rename the original to the backup, write a new file, delete the backup. The swap file
    ``.x.py.swp`` is rewritten around the save."""
    swap = path.with_name(f".{path.name}.swp")
    swap.write_bytes(b"b0VIM 9.0\x00" + text.encode()[:64])
    probe = path.with_name("4913")
    probe.write_bytes(b"")
    probe.unlink()
    backup = path.with_name(path.name + "~")
    os.rename(path, backup)
    path.write_text(text, encoding="utf-8")
    backup.unlink()
    swap.write_bytes(b"b0VIM 9.0\x00saved")


def vim_slow_disk(path: Path, text: str) -> None:
    """vim's rename-to-backup save of a big file or on a network disk: the new file appears half a
    second after the original went away, well past the quiet window that closes a batch."""
    backup = path.with_name(path.name + "~")
    os.rename(path, backup)
    time.sleep(0.5)  # the editor writing: part of the scenario, not a synchronisation
    path.write_text(text, encoding="utf-8")
    backup.unlink()


def vim_copy(path: Path, text: str) -> None:
    """vim, ``backupcopy=yes`` (what it picks for hard-linked or symlinked files): copy the
    original to the backup, truncate and rewrite the original in place, delete the backup."""
    swap = path.with_name(f".{path.name}.swp")
    swap.write_bytes(b"b0VIM 9.0\x00")
    backup = path.with_name(path.name + "~")
    shutil.copy2(path, backup)
    with open(path, "w", encoding="utf-8") as fh:  # truncates first: the file is briefly empty
        fh.write(text[: len(text) // 2])
        fh.flush()
        fh.write(text[len(text) // 2:])
    backup.unlink()
    swap.unlink()


def emacs(path: Path, text: str) -> None:
    """emacs: a lock symlink ``.#x.py`` pointing nowhere, the auto-save file ``#x.py#``, the
    first save renames the original to ``x.py~``; the auto-save file goes after the save."""
    lock = path.with_name(f".#{path.name}")
    if not lock.is_symlink():
        os.symlink("user@host.4242:1700000000", lock)
    autosave = path.with_name(f"#{path.name}#")
    autosave.write_text(text, encoding="utf-8")
    backup = path.with_name(path.name + "~")
    if backup.exists():
        backup.unlink()
    os.rename(path, backup)
    path.write_text(text, encoding="utf-8")
    autosave.unlink()
    lock.unlink()


def atomic_hidden(path: Path, text: str) -> None:
    """Write to a hidden temporary file beside the original and rename it over the original
    (Sublime's atomic save, gedit's ``.goutputstream-XXXXXX``)."""
    tmp = path.with_name(".goutputstream-R1ZQ2B")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def atomic_tmp_suffix(path: Path, text: str) -> None:
    """Write ``x.py.tmp`` and rename it over ``x.py`` (many atomic-write helpers)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def atomic_mkstemp(path: Path, text: str) -> None:
    """``tempfile.mkstemp(dir=...)`` + ``os.replace``: the temporary name (``tmpXXXXXXXX``) looks
    like nothing an editor makes, so no name filter can know it."""
    tmp = path.with_name("tmpq7k2_x9v")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def jetbrains(path: Path, text: str) -> None:
    """JetBrains "safe write": write ``x.py___jb_tmp___``, rename the original to
    ``x.py___jb_old___``, rename the temporary file to ``x.py``, delete the old one."""
    tmp = path.with_name(path.name + "___jb_tmp___")
    old = path.with_name(path.name + "___jb_old___")
    tmp.write_text(text, encoding="utf-8")
    os.rename(path, old)
    os.rename(tmp, path)
    old.unlink()


EDITORS = [vim_rename, vim_slow_disk, vim_copy, emacs, atomic_hidden, atomic_tmp_suffix, atomic_mkstemp, jetbrains]


# -- the test --------------------------------------------------------------------------

@pytest.fixture(params=["notify", "polling"])
def project(make_project: Callable[..., Path], request: pytest.FixtureRequest) -> Path:
    """Saves seen through OS notifications (inotify), and through polling (``use_polling``: Docker
    bind mounts, WSL, network file systems), where a save is only a difference between two scans."""
    toml = '[project]\nname = "saves"\n'
    if request.param == "polling":
        toml += "\n[development.hot_reload]\nuse_polling = true\n"
    return make_project({f"{MODELS}/a.py": model("A"), f"{MODELS}/b.py": model("B", "y: int"),
                         f"{MODELS}/c.py": "from .a import A\n" + model("C", "a: A")}, farm_toml=toml)


def cycles(h: LoopHarness, after: int) -> list[tuple[int, list[FileChange]]]:
    """Every cycle since ``after`` with the changes it was started for (errors and deferrals
    count: each one is a build the loop began)."""
    with h._cv:
        events = h.events[after:]
    out: dict[int, list[FileChange]] = {}
    for e in events:
        if isinstance(e, (BuildEvent, ErrorEvent)):
            out.setdefault(e.cycle, list(e.changes))
        elif isinstance(e, Deferred):
            out.setdefault(e.cycle, [])
    return sorted(out.items())


def describe(h: LoopHarness, after: int, root: Path) -> str:
    return "; ".join(f"cycle {c}: " + ", ".join(f"{x.kind.value} {x.path.relative_to(root)}" for x in ch)
                     for c, ch in cycles(h, after))


@pytest.mark.parametrize("editor", EDITORS, ids=[e.__name__ for e in EDITORS])
def test_each_save_is_one_build_and_the_file_stays_watched(watch: Callable[[Path], LoopHarness], project: Path,
                                                           editor: Callable[[Path, str], None]) -> None:
    h = watch(project)
    a = project / MODELS / "a.py"
    mark = h.mark()
    for n in range(1, SAVES + 1):
        before = h.mark()
        field = f"saved{n}"
        editor(a, model("A", f"x: int; {field}: int = {n}"))
        event = h.next_build(before)
        assert event.changes == [FileChange(a, ChangeType.MODIFIED)], (
            f"save {n} by {editor.__name__} was seen as {describe(h, before, project)}")
        assert not event.reloaded, f"save {n} by {editor.__name__} reloaded the project"
        assert {"schema:a", "schema:c"} <= ran_ids(event) | {
            r.id for e in h.builds(before) if e.cycle == event.cycle for r in e.report.results if r.status == "ran"}
        assert h.loop.wait_settled(60)
        assert field in (project / ".farm/schema/a.json").read_text()
    # the sentinel: a plain save of another file; a build left over from a temporary file comes first
    b = project / MODELS / "b.py"
    b.write_text(model("B", "y: int; sentinel: int = 1"))
    h.next_build(mark, lambda e: FileChange(b, ChangeType.MODIFIED) in e.changes)
    assert h.loop.wait_settled(60)
    saw = cycles(h, mark)
    want = [[FileChange(a, ChangeType.MODIFIED)]] * SAVES + [[FileChange(b, ChangeType.MODIFIED)]]
    assert [ch for _, ch in saw] == want, f"{editor.__name__}: {describe(h, mark, project)}"


@pytest.mark.parametrize("editor", [vim_rename, jetbrains, atomic_mkstemp],
                         ids=["vim_rename", "jetbrains", "atomic_mkstemp"])
def test_farm_toml_saves_are_one_reload_each(watch: Callable[[Path], LoopHarness], project: Path,
                                             editor: Callable[[Path, str], None]) -> None:
    h = watch(project)
    toml = project / "farm.toml"
    mark = h.mark()
    for n in range(1, SAVES + 1):
        before = h.mark()
        editor(toml, toml.read_text().replace(h.session.project.config.project.name or "saves", f"saves-{n}"))
        event = h.next_build(before)
        assert event.changes == [FileChange(toml, ChangeType.MODIFIED)], describe(h, before, project)
        assert event.reloaded and h.session.project.config.project.name == f"saves-{n}"
        assert h.loop.wait_settled(60)
    b = project / MODELS / "b.py"
    b.write_text(model("B", "y: int; sentinel: int = 1"))
    h.next_build(mark, lambda e: FileChange(b, ChangeType.MODIFIED) in e.changes)
    assert h.loop.wait_settled(60)
    want = [[FileChange(toml, ChangeType.MODIFIED)]] * SAVES + [[FileChange(b, ChangeType.MODIFIED)]]
    assert [ch for _, ch in cycles(h, mark)] == want, f"{editor.__name__}: {describe(h, mark, project)}"
