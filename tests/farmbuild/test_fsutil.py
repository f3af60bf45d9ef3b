"""The one write helper: atomic, write-if-changed, never outside the project root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from farmbuild import fsutil
from farmbuild.errors import OutsideProjectError, WriteError


def test_writes_creates_parents_and_skips_identical_bytes(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "x.ts"
    assert fsutil.write_if_changed(tmp_path, target, "export {};\n") is True
    st = target.stat()
    assert fsutil.write_if_changed(tmp_path, target, "export {};\n") is False
    st2 = target.stat()
    assert (st2.st_mtime_ns, st2.st_ino) == (st.st_mtime_ns, st.st_ino)  # untouched: no HMR for nothing
    assert fsutil.write_if_changed(tmp_path, target, "export {}; // v2\n") is True
    assert target.read_text() == "export {}; // v2\n"


def test_prefix_of_existing_content_is_a_change(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    target.write_text("abcdef")
    assert fsutil.write_if_changed(tmp_path, target, "abc") is True
    assert target.read_text() == "abc"


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.ts"
    target.write_text("old")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(fsutil.os, "replace", boom)
    with pytest.raises(WriteError, match="cannot write out.ts: disk full"):
        fsutil.write_if_changed(tmp_path, target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.ts"]


def test_mode_of_an_existing_file_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "run.sh"
    target.write_text("a")
    os.chmod(target, 0o755)
    fsutil.write_if_changed(tmp_path, target, "b")
    assert target.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize("bad", ["../escape.ts", "a/../../escape.ts", "/etc/passwd", "a/b\x00c.ts"])
def test_refuses_paths_outside_the_root(tmp_path: Path, bad: str) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    with pytest.raises(OutsideProjectError):
        fsutil.write_if_changed(root, Path(bad) if not bad.startswith("/") else Path(bad), "x")
    assert not (tmp_path / "escape.ts").exists()


def test_refuses_writes_through_a_symlinked_directory(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "gen").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutsideProjectError):
        fsutil.write_if_changed(root, root / "gen" / "x.ts", "x")
    assert not (outside / "x.ts").exists()


def test_remove_inside_prunes_empty_dirs_but_not_the_root(tmp_path: Path) -> None:
    f = tmp_path / "a" / "b" / "x.ts"
    f.parent.mkdir(parents=True)
    f.write_text("x")
    (tmp_path / "a" / "keep.txt").write_text("k")
    assert fsutil.remove_inside(tmp_path, f) is True
    assert not (tmp_path / "a" / "b").exists()
    assert (tmp_path / "a" / "keep.txt").exists()
    assert fsutil.remove_inside(tmp_path, f) is False
    with pytest.raises(OutsideProjectError):
        fsutil.remove_inside(tmp_path / "a", tmp_path / "a" / ".." / "a" / ".." / "x")


def test_write_internal_is_write_if_changed(tmp_path: Path) -> None:
    p = tmp_path / ".farm" / "state.json"
    assert fsutil.write_internal(p, "{}") is True
    assert fsutil.write_internal(p, "{}") is False


# -- StatCache ---------------------------------------------------------------------------

def test_stat_cache_reuses_a_value_until_the_file_changes(tmp_path: Path) -> None:
    from farmbuild.fsutil import StatCache

    f = tmp_path / "m.json"
    f.write_bytes(b"one")
    calls: list[bytes] = []

    def compute(data: bytes) -> str:
        calls.append(data)
        return data.decode().upper()

    cache = StatCache()
    # just written: a second write within the same timestamp tick could follow, so not trusted yet
    assert cache.get(f, compute) == "ONE"
    assert cache.get(f, compute) == "ONE"
    assert len(calls) == 2
    # utime changes ctime to now: the entry is racy until ctime is old too, which a test cannot
    # fake; so use a cache whose racy window is shorter than the test's pause
    cache.RACY_FINE_S = cache.RACY_COARSE_S = 0.0
    assert cache.get(f, compute) == "ONE" and cache.get(f, compute) == "ONE"
    assert len(calls) == 3
    f.write_bytes(b"two")  # a new mtime/ctime/size: recomputed
    assert cache.get(f, compute) == "TWO"
    assert len(calls) == 4
    # same size, same mtime (an editor restoring the timestamp): ctime still moves
    st = f.stat()
    f.write_bytes(b"six")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.get(f, compute) == "SIX"
    f.unlink()
    with pytest.raises(FileNotFoundError):
        cache.get(f, compute)


def test_stat_cache_never_serves_a_quick_rewrite(tmp_path: Path) -> None:
    """Rewritten within one timestamp tick, same size, mtime put back: the new bytes are read."""
    from farmbuild.fsutil import StatCache

    f = tmp_path / "m.json"
    f.write_bytes(b"aaa")
    cache = StatCache()
    assert cache.get(f, bytes.decode) == "aaa"
    st = f.stat()
    f.write_bytes(b"bbb")  # same size; force the same mtime and (where the clock is coarse) ctime
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.get(f, bytes.decode) == "bbb"


def test_sweep_removes_only_what_dead_writers_left(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from farmbuild.fsutil import sweep_temp_files

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    names = {
        f".a.ts.{dead_pid}.abcd1234.farmtmp": False,  # its writer is gone: swept
        f".a.ts.{os.getpid()}.abcd1234.farmtmp": True,  # ours, being written: kept
        ".old.ts.abcd1234.farmtmp": False,  # no pid (an older farmbuild): nobody will finish it
        "a.ts": True,
        "notes.farmtmp": True,  # not hidden: not one of ours
    }
    for name in names:
        (tmp_path / name).write_text("x")
    removed = sweep_temp_files([tmp_path, tmp_path / "missing"])
    assert sorted(p.name for p in removed) == sorted(n for n, keep in names.items() if not keep)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n, keep in names.items() if keep)
