"""The worker: imports user code, reports its errors with file:line, survives crashes and hangs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from farmbuild.errors import UserCodeError, WorkerTimeout
from farmbuild.worker import Worker
from tests.conftest import write_tree


@pytest.fixture
def api(tmp_path: Path) -> Path:
    write_tree(tmp_path, {
        "src/__init__.py": "",
        "src/models/__init__.py": "",
        "src/models/common.py": """\
            from pydantic import BaseModel

            class Money(BaseModel):
                amount: int
        """,
        "src/models/catalog.py": """\
            from .common import Money
            from pydantic import BaseModel

            print("printing from user code must not break the worker protocol")

            class Product(BaseModel):
                price: Money
        """,
    })
    return tmp_path


@pytest.fixture
def worker(api: Path):  # noqa: ANN201
    w = Worker([api], [api], api, timeout_s=20)
    yield w
    w.close()


def schema(w: Worker, mod: str) -> dict:
    return w.call("schema", module=mod, source=mod.replace(".", "/") + ".py")


def test_schema_of_a_module(worker: Worker) -> None:
    data = schema(worker, "src.models.catalog")
    assert data["order"] == ["Product"]
    assert data["refs"]["src.models.common:Money"]["module"] == "src.models.common"


def test_edits_are_picked_up_and_importers_reimported(worker: Worker, api: Path) -> None:
    schema(worker, "src.models.catalog")
    pid = worker.pid
    (api / "src/models/common.py").write_text(
        "from pydantic import BaseModel\n\nclass Money(BaseModel):\n    amount: int\n    currency: str\n")
    data = schema(worker, "src.models.catalog")
    money = data["defs"]["validation"]["src.models.common:Money"]
    assert "currency" in money["properties"]
    assert worker.pid == pid  # the same warm process
    assert "src.models.catalog" in worker.last_dropped and "src.models.common" in worker.last_dropped


def test_syntax_error_reports_file_and_line_and_recovers(worker: Worker, api: Path) -> None:
    good = (api / "src/models/common.py").read_text()
    (api / "src/models/common.py").write_text(good + "\nclass Broken(:\n    pass\n")
    with pytest.raises(UserCodeError) as info:
        schema(worker, "src.models.catalog")
    err = info.value
    assert err.file == "src/models/common.py"
    assert err.line == 6
    assert "SyntaxError" in err.problem
    (api / "src/models/common.py").write_text(good)
    assert schema(worker, "src.models.catalog")["order"] == ["Product"]


def test_exception_at_import_names_the_user_line(worker: Worker, api: Path) -> None:
    (api / "src/models/common.py").write_text("x = 1\nraise RuntimeError('no database configured')\n")
    with pytest.raises(UserCodeError) as info:
        schema(worker, "src.models.catalog")
    assert (info.value.file, info.value.line) == ("src/models/common.py", 2)
    assert "RuntimeError: no database configured" in str(info.value)


def test_missing_dependency_suggests_installing_it(worker: Worker, api: Path) -> None:
    (api / "src/models/common.py").write_text("import stripe_sdk_that_is_not_installed\n")
    with pytest.raises(UserCodeError) as info:
        schema(worker, "src.models.catalog")
    assert "install 'stripe_sdk_that_is_not_installed'" in str(info.value)
    assert info.value.line == 1


def test_circular_import_is_named(worker: Worker, api: Path) -> None:
    (api / "src/models/common.py").write_text("from .catalog import Product\nfrom pydantic import BaseModel\nclass Money(BaseModel):\n    amount: int\n")
    with pytest.raises(UserCodeError) as info:
        schema(worker, "src.models.catalog")
    assert getattr(info.value, "kind", None) == "circular"
    assert "circular import" in str(info.value)


def test_non_utf8_source(worker: Worker, api: Path) -> None:
    (api / "src/models/common.py").write_bytes(b"name = 'caf\xe9'\n")
    with pytest.raises(UserCodeError) as info:
        schema(worker, "src.models.catalog")
    assert "UTF-8" in str(info.value)
    assert info.value.file == "src/models/common.py"


def test_a_hang_times_out_and_the_worker_is_replaced(api: Path) -> None:
    w = Worker([api], [api], api, timeout_s=1.5)
    try:
        schema(w, "src.models.catalog")
        first = w.pid
        (api / "src/models/common.py").write_text("import time\nwhile True:\n    time.sleep(0.05)\n")
        with pytest.raises(WorkerTimeout) as info:
            schema(w, "src.models.catalog")
        assert "did not finish within 1.5 s" in str(info.value)
        assert not w.alive
        with pytest.raises(ProcessLookupError):
            os.kill(first, 0)  # the hung process is gone
        (api / "src/models/common.py").write_text("from pydantic import BaseModel\nclass Money(BaseModel):\n    amount: int\n")
        assert schema(w, "src.models.catalog")["order"] == ["Product"]
        assert w.started == 2
    finally:
        w.close()


def test_a_crash_is_reported_and_the_worker_restarts(worker: Worker, api: Path) -> None:
    schema(worker, "src.models.catalog")
    (api / "src/models/common.py").write_text("import os\nos._exit(3)\n")
    with pytest.raises(UserCodeError, match="worker process died"):
        schema(worker, "src.models.catalog")
    (api / "src/models/common.py").write_text("from pydantic import BaseModel\nclass Money(BaseModel):\n    amount: int\n")
    assert schema(worker, "src.models.catalog")["order"] == ["Product"]
    assert worker.started == 2


def test_memory_bound_replaces_the_worker(api: Path) -> None:
    w = Worker([api], [api], api, timeout_s=20, max_memory_mb=1)
    try:
        schema(w, "src.models.catalog")
        assert not w.alive  # grew past 1 MB (every Python process does): replaced before the next job
        schema(w, "src.models.catalog")
        assert w.started == 2
    finally:
        w.close()


def test_a_stale_pyc_in_the_users_tree_is_never_used(worker: Worker, api: Path) -> None:
    """uvicorn --reload writes __pycache__; a save within the same second at the same size must
    still be imported from its new source."""
    import py_compile

    common = api / "src/models/common.py"
    second = 1_700_000_000 * 10**9
    os.utime(common, ns=(second + 100_000_000, second + 100_000_000))  # saved at hh:mm:ss.1
    schema(worker, "src.models.catalog")
    # uvicorn compiled it meanwhile: a pyc of the OLD source, stamped with second hh:mm:ss
    py_compile.compile(str(common), cfile=str(api / "src/models/__pycache__" / f"common.{sys.implementation.cache_tag}.pyc"))
    new = common.read_text().replace("amount: int", "amount: str")
    assert len(new) == common.stat().st_size  # same size
    common.write_text(new)
    os.utime(common, ns=(second + 600_000_000, second + 600_000_000))  # saved again at hh:mm:ss.6
    data = schema(worker, "src.models.catalog")
    assert data["defs"]["validation"]["src.models.common:Money"]["properties"]["amount"]["type"] == "string"


def test_a_module_saved_back_to_an_earlier_version_still_drops_with_what_it_imports(worker: Worker, api: Path) -> None:
    # found by tests/hostile (incremental == clean): the importers of a changed module were read
    # from files on disk but cached under the md5 of the version loaded, so a module saved back
    # to an earlier content was believed to import what its intermediate version imported
    models = api / "src/models"
    v1 = "from pydantic import BaseModel\nfrom .common import Money\n\nclass X(BaseModel):\n    m: Money\n"
    v2 = "from pydantic import BaseModel\nfrom .z import Z\n\nclass X(BaseModel):\n    z: Z\n"
    (models / "z.py").write_text("from pydantic import BaseModel\n\nclass Z(BaseModel):\n    n: int\n")

    def save(path: Path, text: str) -> None:
        path.write_text(text)
        past = path.stat().st_mtime - 5  # not "written while a job ran": its md5 is recorded
        os.utime(path, (past, past))

    for text in (v1, v2, v1):
        save(models / "x.py", text)
        schema(worker, "src.models.x")
    save(models / "common.py", "from pydantic import BaseModel\n\nclass Money(BaseModel):\n    cents: int\n")
    money = schema(worker, "src.models.x")["defs"]["validation"]["src.models.common:Money"]
    assert list(money["properties"]) == ["cents"]
