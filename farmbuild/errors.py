"""Every error farmbuild reports to a user.

Exception tree::

    FarmbuildError                 exit code 1 unless the subclass says otherwise
    ├── UsageError                 exit 2: bad command-line arguments
    ├── ConfigError                exit 2: farm.toml / [tool.farm] is invalid (file, key path, expected form)
    ├── ProjectError               exit 2: the project layout is missing or inconsistent
    ├── UserCodeError              the user's Python code failed (file:line, what to do)
    │   └── WorkerTimeout          importing/running user code did not finish in time
    ├── SchemaError                a model cannot be turned into a schema
    ├── TemplateError              a codegen template failed to render
    ├── OutsideProjectError        a write or delete would land outside the project root
    ├── SecretInOutputError        a generated file would contain the value of a secret env var
    ├── WriteError                 a generated file cannot be written (a folder in its place, permissions, disk full)
    ├── LockError                  another farmbuild process holds the project lock
    ├── TaskError                  a task failed for a reason that is not the user's code
    ├── MigrationError             a migration file is invalid or inconsistent (file, operation, what to do)
    └── DatabaseError              MongoDB refused or could not be reached (never shows the URL's credentials)
        └── MigrationApplyError    one operation of a migration failed; the migration is not recorded as applied

Each class builds its message from structured fields, so every message names where the
problem is and what to do about it (jinja's ``TemplateSyntaxError(message, lineno, filename)``
is the model).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar


class FarmbuildError(Exception):
    """Root of every error farmbuild raises on purpose."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(FarmbuildError):
    exit_code = 2


class ConfigError(FarmbuildError):
    """``farm.toml`` (or ``[tool.farm]``) is invalid.

    >>> str(ConfigError("farm.toml", "development.hot_reload.debounce_ms", "expected an integer", line=12))
    'farm.toml:12: development.hot_reload.debounce_ms: expected an integer'
    """

    exit_code = 2

    def __init__(self, file: str | Path, key: str | None, problem: str, *, line: int | None = None) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        self.line = line
        where = self.file if line is None else f"{self.file}:{line}"
        message = f"{where}: {key}: {problem}" if key else f"{where}: {problem}"
        super().__init__(message)


class ProjectError(FarmbuildError):
    exit_code = 2


class UserCodeError(FarmbuildError):
    """The user's code failed while farmbuild imported or ran it.

    ``file`` is project-relative when it lies inside the project.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.hint = hint
        self.detail = detail
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        message = f"{where}{problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)

    def to_dict(self) -> dict[str, object]:
        return {"problem": self.problem, "file": self.file, "line": self.line, "hint": self.hint}


class WorkerTimeout(UserCodeError):
    pass


class SchemaError(FarmbuildError):
    pass


class TemplateError(FarmbuildError):
    pass


class OutsideProjectError(FarmbuildError):
    """A write or delete would land outside the project (``..``, an absolute path, a symlinked folder)."""

    def __init__(self, path: str | Path, root: str | Path, what: str = "write") -> None:
        import os

        self.path = str(path)
        self.root = str(root)
        # relative to the project, as every message is ("../../etc/x", "apps/web/src/types/x.ts")
        shown = os.path.relpath(self.path, self.root) if os.path.isabs(self.path) else self.path
        via = ""
        if not shown.startswith(".."):  # inside by name, outside once resolved: a symlinked folder
            via = "; a folder on the way is a symlink that leads out of the project: replace it with a real folder"
        super().__init__(
            f"refusing to {what} {shown}: it lies outside the project{via}"
            " (a path from a model, route, manifest or farm.toml must stay inside the project)"
        )


class SecretInOutputError(FarmbuildError):
    """A file farmbuild was about to write contains the value of a secret environment variable."""

    def __init__(self, path: str, variable: str) -> None:
        self.path = path
        self.variable = variable
        super().__init__(
            f"refusing to write {path}: it would contain the value of the environment variable {variable},"
            " a secret; find what puts it there (a model default, an example) and read the secret where it is used"
        )


class WriteError(FarmbuildError):
    """The file system refused a generated file: says which one (project-relative) and what to do."""

    def __init__(self, path: str, exc: OSError) -> None:
        import errno

        self.path = path
        self.errno = exc.errno
        reason = exc.strerror or str(exc) or type(exc).__name__
        hint = {
            errno.EISDIR: "a folder is where this generated file goes: move it away and build again",
            errno.ENOTDIR: "a file is where a folder of generated files goes: move it away and build again",
            errno.EACCES: "make the folder writable for this user",
            errno.EPERM: "make the folder writable for this user",
            errno.ENOSPC: "free some disk space",
            errno.EROFS: "the file system is read-only",
        }.get(exc.errno or 0, "the previous version of the file is unchanged")
        super().__init__(f"cannot write {path}: {reason} ({hint})")


class LockError(FarmbuildError):
    exit_code = 1


class TaskError(FarmbuildError):
    pass


class MigrationError(FarmbuildError):
    """A migration file cannot be read or replayed.

    >>> str(MigrationError("apps/api/migrations/0002_products_x.json", "operations[1]: unknown type 'drop'", line=9))
    "apps/api/migrations/0002_products_x.json:9: operations[1]: unknown type 'drop'"
    """

    def __init__(self, file: str, problem: str, *, line: int | None = None) -> None:
        self.file = file
        self.problem = problem
        self.line = line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {problem}")


class DatabaseError(FarmbuildError):
    """MongoDB could not be reached or refused a command. Messages are scrubbed of the URL."""


class MigrationApplyError(DatabaseError):
    """One operation of a migration failed while it was applied."""

    def __init__(self, migration_id: str, file: str | None, index: int, operation: str, problem: str) -> None:
        self.migration_id = migration_id
        self.file = file
        self.index = index
        self.operation = operation
        self.problem = problem
        self.line = None
        super().__init__(
            f"{file or migration_id}: operation {index + 1} ({operation}) failed: {problem}."
            " The migration is not recorded as applied; the operations before it are idempotent,"
            " so fix the cause and run `farm db apply` again"
        )
