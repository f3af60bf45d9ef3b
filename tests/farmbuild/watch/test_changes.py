"""Content hashes turn touched paths into real changes (pure core with an in-memory file system)."""

from __future__ import annotations

from pathlib import Path

import pytest

from farmbuild.watch.changes import ChangeType, ContentTracker, FileChange

A = Path("/p/src/a.py")
B = Path("/p/src/b.py")


class FakeFS:
    def __init__(self, files: dict[Path, bytes]) -> None:
        self.files = dict(files)

    def read(self, path: Path) -> bytes | None:
        return self.files.get(path)

    def is_dir(self, path: Path) -> bool:
        return any(f != path and f.is_relative_to(path) for f in self.files) and path not in self.files

    def tracker(self) -> ContentTracker:
        t = ContentTracker(read=self.read, is_dir=self.is_dir)
        t.seed(self.files)
        return t


def test_touch_and_identical_rewrite_are_no_change() -> None:
    fs = FakeFS({A: b"x = 1\n"})
    t = fs.tracker()
    assert t.observe([A]) == []  # touched: same bytes
    fs.files[A] = b"x = 1\n"  # rewritten with identical content
    assert t.observe([A]) == []


def test_modification_addition_deletion() -> None:
    fs = FakeFS({A: b"x = 1\n"})
    t = fs.tracker()
    fs.files[A] = b"x = 2\n"
    fs.files[B] = b"y = 1\n"
    assert t.observe([A, B]) == [FileChange(A, ChangeType.MODIFIED), FileChange(B, ChangeType.ADDED)]
    del fs.files[A]
    assert t.observe([A]) == [FileChange(A, ChangeType.DELETED)]
    assert t.observe([A]) == []  # a deletion is reported once


def test_atomic_save_deleted_and_added_in_one_batch_is_one_modification() -> None:
    fs = FakeFS({A: b"x = 1\n"})
    t = fs.tracker()
    # events: a.py deleted, a.py added (rename into place), temp file added and deleted
    fs.files[A] = b"x = 2\n"
    tmp = A.with_name("a.py___jb_tmp___")
    assert t.observe([A, tmp, A]) == [FileChange(A, ChangeType.MODIFIED)]


def test_a_temp_file_that_came_and_went_is_nothing() -> None:
    t = FakeFS({A: b"x"}).tracker()
    assert t.observe([A.with_name(".a.py.tmp")]) == []


def test_peek_does_not_remember() -> None:
    fs = FakeFS({A: b"1"})
    t = fs.tracker()
    fs.files[A] = b"2"
    assert t.peek([A]) == [FileChange(A, ChangeType.MODIFIED)]
    assert t.observe([A]) == [FileChange(A, ChangeType.MODIFIED)]


def test_remember_makes_our_own_write_no_change() -> None:
    fs = FakeFS({A: b"1"})
    t = fs.tracker()
    fs.files[A] = b"generated"
    t.remember(A)
    assert t.observe([A]) == []


def test_a_directory_moved_out_deletes_its_files() -> None:
    pkg = Path("/p/src/pkg")
    x, y = pkg / "x.py", pkg / "y.py"
    fs = FakeFS({A: b"a", x: b"x", y: b"y"})
    t = fs.tracker()
    del fs.files[x], fs.files[y]  # `mv src/pkg /tmp`: only the directory is reported
    assert t.observe([pkg]) == [FileChange(x, ChangeType.DELETED), FileChange(y, ChangeType.DELETED)]


def test_a_directory_moved_in_adds_its_files(tmp_path: Path) -> None:
    t = ContentTracker()
    t.seed([tmp_path])
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "x.py").write_text("x")
    (outside / "y.py").write_text("y")
    outside.rename(tmp_path / "pkg")  # only tmp_path/pkg is reported
    assert t.observe([tmp_path / "pkg"]) == [
        FileChange(tmp_path / "pkg" / "sub" / "x.py", ChangeType.ADDED),
        FileChange(tmp_path / "pkg" / "y.py", ChangeType.ADDED),
    ]


def test_the_filter_applies_to_files_found_in_directories(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "x.py").write_text("x")
    (tmp_path / "pkg" / "x.py~").write_text("backup")
    t = ContentTracker(keep=lambda p: not p.name.endswith("~"))
    assert t.observe([tmp_path / "pkg"]) == [FileChange(tmp_path / "pkg" / "x.py", ChangeType.ADDED)]


@pytest.mark.parametrize("content", [b"", b"\x00\xff binary", "caf\u00e9".encode()])
def test_any_bytes_are_hashed(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "f"
    f.write_bytes(content)
    t = ContentTracker()
    assert t.observe([f]) == [FileChange(f, ChangeType.ADDED)]
    f.write_bytes(content)
    assert t.observe([f]) == []
