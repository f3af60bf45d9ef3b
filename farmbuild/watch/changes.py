"""From "these paths were touched" to "these files changed": content hashes, no event order.

Watchers report events, and events lie: a ``touch`` is a modification, an editor's atomic
save is a deletion plus an addition (or a rename of a temp file into place), and a batch is
an unordered set. So the events only say *which paths to look at*; what changed is decided
by comparing the file on disk now with the content hash last seen:

- same bytes as before (a touch, an identical rewrite, a save-as-temp-and-rename of the same
  text) → nothing changed;
- the file exists, with other bytes → modified (an atomic save is one modification);
- the file is new → added; it was known and is gone → deleted;
- a path that came and went within one batch (an editor's temp file) → nothing.

Directories are expanded: a directory moved into a watched root reports only itself, so its
files are looked at; one moved out makes every known file below it a deletion.

>>> t = ContentTracker(read=lambda p: {"/a.py": b"x"}.get(str(p)))
>>> t.observe([Path("/a.py")])
[FileChange(path=PosixPath('/a.py'), kind=<ChangeType.ADDED: 'added'>)]
>>> t.observe([Path("/a.py")])
[]
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class ChangeType(str, Enum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class FileChange:
    path: Path
    kind: ChangeType


def _hash_file(path: Path) -> str | None:
    """The md5 of the file's bytes, read in chunks (a 50 MB file dropped into a watched folder
    must not cost 50 MB), or None when it is missing or not a regular file."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "md5").hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return None


def _walk(directory: Path, keep: Callable[[Path], bool]) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if keep(Path(dirpath, d, "_")))
        for fn in sorted(filenames):
            p = Path(dirpath, fn)
            if keep(p):
                yield p


def digest(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class ContentTracker:
    """The content hash of every source file ``farm watch`` has seen.

    ``read`` and ``is_dir`` are the seam to the file system (tests pass dicts); ``keep`` is the
    watch filter, applied to files found by expanding directories.
    """

    def __init__(self, *, read: Callable[[Path], bytes | None] | None = None,
                 is_dir: Callable[[Path], bool] = os.path.isdir,
                 keep: Callable[[Path], bool] = lambda p: True) -> None:
        if read is None:
            self._fingerprint: Callable[[Path], str | None] = _hash_file
        else:
            self._fingerprint = lambda p: None if (data := read(p)) is None else digest(data)
        self._is_dir = is_dir
        self.keep = keep
        self.hashes: dict[Path, str] = {}

    def __len__(self) -> int:
        return len(self.hashes)

    def __contains__(self, path: object) -> bool:
        return path in self.hashes

    def seed(self, roots: Iterable[Path]) -> None:
        """Remember the current content of every kept file below ``roots`` (files or dirs)."""
        for root in roots:
            for p in self._expand(Path(root)):
                h = self._fingerprint(p)
                if h is not None:
                    self.hashes[p] = h

    def _expand(self, path: Path) -> Iterator[Path]:
        if self._is_dir(path):
            yield from _walk(path, self.keep)
        else:
            yield path

    def _candidates(self, touched: Iterable[Path]) -> list[Path]:
        out: set[Path] = set()
        for p in touched:
            p = Path(p)
            if self._is_dir(p):
                out.update(_walk(p, self.keep))
                out.update(self._known_below(p))  # files removed from it
            elif p in self.hashes or self._fingerprint(p) is not None:
                out.add(p)
            else:
                # unknown and missing: a temp file that came and went, or a directory that
                # vanished (then its known files are gone too)
                out.update(self._known_below(p))
        return sorted(out)

    def _known_below(self, directory: Path) -> list[Path]:
        prefix = str(directory).rstrip(os.sep) + os.sep
        return [k for k in self.hashes if str(k).startswith(prefix)]

    def peek(self, touched: Iterable[Path]) -> list[FileChange]:
        """What :meth:`observe` would report, without remembering it."""
        return self._diff(touched, commit=False)

    def observe(self, touched: Iterable[Path]) -> list[FileChange]:
        """The real changes among ``touched`` paths; remembers the new content."""
        return self._diff(touched, commit=True)

    def _diff(self, touched: Iterable[Path], *, commit: bool) -> list[FileChange]:
        out: list[FileChange] = []
        for p in self._candidates(touched):
            new = self._fingerprint(p)
            old = self.hashes.get(p)
            if new is None:
                if old is not None:
                    out.append(FileChange(p, ChangeType.DELETED))
                    if commit:
                        del self.hashes[p]
                continue
            if old == new:
                continue
            out.append(FileChange(p, ChangeType.ADDED if old is None else ChangeType.MODIFIED))
            if commit:
                self.hashes[p] = new
        return out

    def remember(self, path: Path, data: bytes | None = None) -> None:
        """Record ``path``'s current content (a file the build wrote itself), so its event is no change."""
        h = self._fingerprint(path) if data is None else digest(data)
        if h is None:
            self.hashes.pop(path, None)
        else:
            self.hashes[path] = h

    def forget(self, path: Path) -> None:
        self.hashes.pop(path, None)
