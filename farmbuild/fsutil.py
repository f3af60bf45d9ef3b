"""The one way farmbuild writes and deletes files.

Every target goes through :func:`write_if_changed`: the path is checked to lie inside the
project root (resolving symlinks, so a symlinked directory cannot smuggle a write out),
the bytes are compared with what is there, and only a real change is written, to a
temporary file in the same directory that is then ``os.replace``d over the target. A kill
at any point leaves the target entirely old or entirely new, and an unchanged output keeps
its mtime, so Vite and uvicorn are not woken for nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Callable, TypeVar

from . import secrets
from .errors import OutsideProjectError, SecretInOutputError, WriteError

T = TypeVar("T")

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".farmtmp"


def ensure_inside(root: Path, path: Path, what: str = "write") -> Path:
    """Return ``path`` with its directory resolved, or raise :class:`OutsideProjectError` if it escapes ``root``.

    NUL bytes and paths that climb out (``..``, absolute, through a symlinked directory) are
    refused. The last component is kept as it is: a write replaces it by rename and a delete
    unlinks it, so a symlink found in a generated file's place is replaced or removed, never
    written through (and a dangling one is no obstacle).
    """
    text = str(path)
    if "\x00" in text:
        raise OutsideProjectError(text.replace("\x00", "\\x00"), root, what)
    root_r = root.resolve()
    full = path if path.is_absolute() else root_r / path
    if full.name in ("", ".", ".."):
        raise OutsideProjectError(full, root_r, what)
    resolved = full.parent.resolve() / full.name
    try:
        resolved.relative_to(root_r)
    except ValueError:
        raise OutsideProjectError(full, root_r, what) from None
    return resolved


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_file(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "md5").hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # the writer's pid is in the name: a sweep removes only what a dead process left
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_if_changed(root: Path, path: Path, content: str | bytes) -> bool:
    """Atomically write ``content`` to ``path`` (inside ``root``) unless it already holds it.

    Returns True when the file was written.
    """
    target = ensure_inside(root, path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    var = secrets.found_in(data)
    if var is not None:
        raise SecretInOutputError(_rel(root, target), var)
    try:
        if not target.is_symlink():  # a symlink in a target's place is replaced, whatever it points at
            with open(target, "rb") as fh:
                if fh.read(len(data) + 1) == data:
                    return False
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        pass
    try:
        # re-check the parent after creating it: a symlinked directory on the way must not lead out
        target.parent.mkdir(parents=True, exist_ok=True)
        ensure_inside(root, target.parent)
        _atomic_write(target, data)
    except OSError as exc:
        raise WriteError(_rel(root, target), exc) from exc
    log.debug("wrote %s", target)
    return True


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def remove_inside(root: Path, path: Path, *, prune_empty_dirs: bool = True) -> bool:
    """Delete a generated file inside ``root``; empty parent directories go too (up to root)."""
    target = ensure_inside(root, path, what="delete")
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    if prune_empty_dirs:
        root_r = root.resolve()
        parent = target.parent
        while parent != root_r and root_r in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
    return True


def sweep_temp_files(directories: Iterable[Path]) -> list[Path]:
    """Delete the temporary files that killed processes left in ``directories`` (atomic writes
    name them ``.<name>.<pid>.<random>.farmtmp``; a live process's are never touched, and a
    target only ever appears by ``os.replace``, so a temporary file is never a target)."""
    removed: list[Path] = []
    for d in sorted(set(directories)):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for name in names:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX) and not _writer_alive(name):
                try:
                    os.unlink(os.path.join(d, name))
                    removed.append(Path(d, name))
                except OSError:
                    pass
    return removed


def _writer_alive(temp_name: str) -> bool:
    parts = temp_name[: -len(TEMP_SUFFIX)].split(".")
    if len(parts) < 4 or not parts[-2].isdigit():
        return False  # not ours, or from a farmbuild that did not name its pid: nobody finishes it
    pid = int(parts[-2])
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_internal(path: Path, content: str | bytes) -> bool:
    """Atomic write-if-changed for farmbuild's own state files (``.farm/``)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    _atomic_write(path, data)
    return True


class StatCache:
    """Memoise what was computed from a file's bytes, keyed by its ``stat`` signature.

    A hit needs the same ``(mtime_ns, ctime_ns, size, inode)`` as when the value was computed.
    A file modified shortly before it was read is not trusted (the "racy git" problem: two
    writes within one timestamp tick leave the same mtime, so an entry made between them would
    look current): such an entry is recomputed on every lookup until the file is older than the
    timestamp granularity allows to confuse — :attr:`RACY_FINE_S` on file systems with
    sub-second timestamps (Linux stamps files from its coarse clock, one tick of at most 10 ms),
    :attr:`RACY_COARSE_S` otherwise (FAT: 2 s). Reads that fail are not cached.

    >>> lines = StatCache(); lines.get(path, lambda data: data.count(b"\\n"))   # doctest: +SKIP
    """

    RACY_FINE_S = 0.05
    RACY_COARSE_S = 2.0

    def __init__(self) -> None:
        self._entries: dict[Path, tuple[tuple[int, int, int, int], object]] = {}

    @staticmethod
    def signature(st: os.stat_result) -> tuple[int, int, int, int]:
        return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)

    def get(self, path: Path, compute: Callable[[bytes], T]) -> T:
        """``compute(path's bytes)``, or the value computed for the same signature. OSError propagates."""
        st = os.stat(path)
        sig = self.signature(st)
        hit = self._entries.get(path)
        if hit is not None and hit[0] == sig:
            return hit[1]  # type: ignore[return-value]
        with open(path, "rb") as fh:
            data = fh.read()
        value = compute(data)
        after = os.stat(path)
        stamp = max(after.st_mtime_ns, after.st_ctime_ns)
        racy = self.RACY_FINE_S if stamp % 1_000_000_000 else self.RACY_COARSE_S
        if self.signature(after) == sig and stamp < time.time_ns() - int(racy * 1e9):
            self._entries[path] = (sig, value)
        else:
            self._entries.pop(path, None)
        return value

    def clear(self) -> None:
        self._entries.clear()
