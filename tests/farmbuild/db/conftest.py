"""The database seam for tests: every test that talks to MongoDB gets a ``backend``.

``mongomock`` always; a real MongoDB as well when ``FARM_TEST_MONGODB_URL`` is set (each test
gets its own database, dropped afterwards). mongomock does not implement ``collMod`` (see
ENVIRONMENT.md), so on mongomock the handle records the collMod command documents it is sent
and passes everything else through; on a real server the validator is read back from
``listCollections``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

REAL_URL_ENV = "FARM_TEST_MONGODB_URL"


class RecordingDatabase:
    """A mongomock Database that records ``collMod`` (which mongomock cannot run)."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self.collmods: list[dict[str, Any]] = []
        self.fail_collmod: str | None = None

    def command(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(command, dict) and next(iter(command)) == "collMod":
            if self.fail_collmod:
                from pymongo.errors import OperationFailure

                raise OperationFailure(self.fail_collmod, code=2)
            if command["collMod"] not in self._db.list_collection_names():
                from pymongo.errors import OperationFailure

                raise OperationFailure("ns does not exist", code=26)
            self.collmods.append(command)
            return {"ok": 1.0}
        return self._db.command(command, *args, **kwargs)

    def __getitem__(self, name: str) -> Any:
        return self._db[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


class Backend:
    def __init__(self, name: str, db: Any) -> None:
        self.name = name
        self.db = db

    @property
    def real(self) -> bool:
        return self.name == "mongodb"

    def validator_of(self, collection: str) -> dict[str, Any] | None:
        if isinstance(self.db, RecordingDatabase):
            docs = [c for c in self.db.collmods if c["collMod"] == collection]
            return docs[-1]["validator"]["$jsonSchema"] if docs else None
        info = self.db.command("listCollections", filter={"name": collection})["cursor"]["firstBatch"]
        validator = info[0]["options"].get("validator") if info else None
        return validator["$jsonSchema"] if validator else None

    def validation_settings(self, collection: str) -> tuple[str, str] | None:
        if isinstance(self.db, RecordingDatabase):
            docs = [c for c in self.db.collmods if c["collMod"] == collection]
            return (docs[-1]["validationLevel"], docs[-1]["validationAction"]) if docs else None
        info = self.db.command("listCollections", filter={"name": collection})["cursor"]["firstBatch"]
        opts = info[0]["options"]
        return opts.get("validationLevel"), opts.get("validationAction")

    def client(self) -> Any:
        """A client-like object whose ``[name]`` is this database (for a patched ``connect``)."""
        db = self.db

        class _Client:
            def __getitem__(self, _name: str) -> Any:
                return db

        return _Client()


@pytest.fixture(params=["mongomock", "mongodb"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "mongomock":
        import mongomock

        yield Backend("mongomock", RecordingDatabase(mongomock.MongoClient(uuidRepresentation="standard")["test"]))
        return
    url = os.environ.get(REAL_URL_ENV)
    if not url:
        pytest.skip(f"no MongoDB server: set {REAL_URL_ENV}=mongodb://HOST:PORT to run this test against one"
                    " (none can be installed on the build machines)")
    from pymongo import MongoClient

    client: Any = MongoClient(url, serverSelectionTimeoutMS=5000, uuidRepresentation="standard")
    name = f"farmbuild_test_{uuid.uuid4().hex[:12]}"
    try:
        yield Backend("mongodb", client[name])
    finally:
        client.drop_database(name)
        client.close()


@pytest.fixture
def mongomock_backend() -> Backend:
    import mongomock

    return Backend("mongomock", RecordingDatabase(mongomock.MongoClient(uuidRepresentation="standard")["test"]))


@pytest.fixture
def patch_connect(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Route ``farmbuild.db.workflow.connect`` to a backend; records the URLs it was asked for."""

    def patch(backend: Backend | None) -> list[str]:
        asked: list[str] = []

        @contextmanager
        def fake_connect(url: str, env_name: str, *, timeout_ms: int = 5000) -> Iterator[Any]:
            asked.append(url)
            if backend is None:
                raise AssertionError("connect() must not be called here")
            yield backend.client()

        monkeypatch.setattr("farmbuild.db.workflow.connect", fake_connect)
        return asked

    return patch


@pytest.fixture
def schema_of(tmp_path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    """``schema_of(source)`` → the ``.farm/schema`` JSON of a module with that source (in process)."""
    import importlib
    import sys
    import textwrap

    from farmbuild.worker.schema_op import extract

    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def make(source: str) -> dict[str, Any]:
        name = f"farmtest_models_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        importlib.invalidate_caches()
        names.append(name)
        return extract(name, f"apps/api/src/models/{name}.py")

    yield make
    for name in names:
        sys.modules.pop(name, None)
