"""The db tasks in real builds: migrations written, convergence, incremental == clean, ordering,
auto-apply in development (localhost only, destructive gated), secrets kept out of everything."""

from __future__ import annotations

import json
import logging
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from farmbuild.build import BuildOptions, Session, build
from farmbuild.check import check
from farmbuild.db.files import find_documents, load_migrations
from farmbuild.db.mongo import LEDGER, applied
from farmbuild.db.state import replay
from farmbuild.db.workflow import plan_collection
from farmbuild.tasks import KINDS
from farmbuild.tasks import db as db_kind
from farmbuild.tasks import schema as schema_kind

from ...conftest import EXAMPLE, failed, farm_cli, ran
from .conftest import Backend

CANARY = "Canary-Pw-7f3a9"

SHOP = """\
from datetime import datetime

from pydantic import BaseModel, Field


class Product(BaseModel):
    name: str = Field(min_length=1)
    farm: str
    stock: int = 0
    created_at: datetime
{extra}
    class Settings:
        name = "products"
        indexes = {indexes}
"""


def shop(extra: str = "", indexes: str = '["name"]', farm: str = "farm: str") -> str:
    body = textwrap.indent(textwrap.dedent(extra), "    ") if extra else ""
    text = SHOP.replace("{extra}", body).replace("{indexes}", indexes)
    return text.replace("    farm: str\n", f"    {farm}\n" if farm else "")


MODEL = "apps/api/src/models/shop.py"
MIGRATIONS = "apps/api/migrations"


def migration_files(root: Path) -> dict[str, str]:
    d = root / MIGRATIONS
    return {p.name: p.read_text("utf-8") for p in sorted(d.glob("*.json"))} if d.is_dir() else {}


def edit(root: Path, text: str) -> None:
    (root / MODEL).write_text(text, encoding="utf-8")


def assert_state_matches_models(root: Path) -> None:
    session = Session(root)
    try:
        project = session.project
        decls, _ = find_documents(project.models)
        migrations = load_migrations(project)
        for d in decls:
            cp = plan_collection(project, d.collection, [d], migrations)
            assert cp.plan is not None and cp.plan.empty, (d.collection, cp.plan)
    finally:
        session.close()


@pytest.fixture
def project(make_project) -> Path:  # noqa: ANN001
    return make_project({MODEL: shop()}, farm_toml='[database]\nurl_env = "FARMTEST_MONGODB_URL"\n')


@pytest.fixture(autouse=True)
def _no_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARMTEST_MONGODB_URL", raising=False)
    monkeypatch.delenv("MONGODB_URL", raising=False)


def test_first_build_writes_the_initial_migration_then_nothing_is_out_of_date(project: Path) -> None:
    report = build(project)
    assert report.ok, report.errors
    assert {"schema:shop", "db:products", "db-apply"} <= ran(report)
    files = migration_files(project)
    assert list(files) == ["0001_products_initial.json"]
    data = json.loads(files["0001_products_initial.json"])
    assert [op["type"] for op in data["operations"]] == ["create_collection", "create_index", "set_validator"]
    again = build(project)
    assert ran(again) == set()  # the new file was adopted as a dependency: no re-run to notice it
    assert migration_files(project) == files


def test_model_edits_write_one_migration_each_and_clean_rebuild_writes_none(project: Path) -> None:
    build(project)
    steps = [
        ("add a field with a default", shop("organic: bool = False"), "0002_products_add_organic.json"),
        ("rename with the hint", shop("organic: bool = False",
                                      farm='producer: str = Field(json_schema_extra={"renamed_from": "farm"})'),
         "0003_products_rename_farm_producer.json"),
        ("tighten a constraint", shop("organic: bool = False", farm="producer: str = Field(max_length=80)"),
         "0004_products_validator.json"),
        ("change the indexes", shop("organic: bool = False", farm="producer: str = Field(max_length=80)",
                                    indexes='[{"keys": [("producer", 1), ("name", 1)], "unique": True}]'),
         "0005_products_drop_index_name_1_index_producer_1_name_1.json"),
        ("remove a field", shop(farm="producer: str = Field(max_length=80)",
                                indexes='[{"keys": [("producer", 1), ("name", 1)], "unique": True}]'),
         "0006_products_remove_organic.json"),
    ]
    session = Session(project)
    try:
        for what, text, expected in steps:
            before = set(migration_files(project))
            edit(project, text)
            session.reload()
            report = session.build()
            assert report.ok, (what, report.errors, [r.error for r in report.results if r.error])
            assert set(migration_files(project)) - before == {expected}, what
            session.reload()
            assert ran(session.build()) == set(), what  # converged: a second build does nothing
    finally:
        session.close()
    written = migration_files(project)
    for p in [project / ".farm", *project.glob(".doit.db*")]:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    report = build(project)
    assert report.ok
    assert migration_files(project) == written  # clean rebuild: no new migration, none rewritten
    assert_state_matches_models(project)
    fields = replay(load_migrations(Session(project).project)).collections["products"].fields
    assert list(fields) == ["name", "producer", "stock", "created_at"]


def test_a_deleted_migration_is_written_again_byte_for_byte(project: Path) -> None:
    build(project)
    edit(project, shop("organic: bool = False"))
    build(project)
    files = migration_files(project)
    (project / MIGRATIONS / "0002_products_add_organic.json").unlink()
    build(project)
    assert migration_files(project) == files


def test_example_app_initial_migrations_are_committed(tmp_path: Path) -> None:
    from ...conftest import copy_example

    root = copy_example(tmp_path / "app", link_node_modules=False)
    committed = migration_files(EXAMPLE)
    assert list(committed) == ["0001_customers_initial.json", "0001_orders_initial.json",
                               "0001_products_initial.json", "0001_reviews_initial.json"]
    for name in committed:
        (root / MIGRATIONS / name).unlink()
    report = build(root)
    assert report.ok
    assert migration_files(root) == committed  # what farm build writes is what is committed
    assert ran(build(root)) == set()


def test_db_tasks_run_after_schema_and_before_what_follows(project: Path) -> None:
    assert KINDS.index(db_kind.tasks) == KINDS.index(schema_kind.tasks) + 1
    order: list[str] = []
    build(project, on_result=lambda r: order.append(r.id))
    assert order.index("schema:shop") < order.index("db:products") < order.index("db-apply")
    later = [i for i in order if i.split(":")[0] not in ("schema", "db", "db-apply")]
    assert all(order.index(i) > order.index("db-apply") for i in later)


def test_broken_migration_file_fails_with_file_and_line(project: Path) -> None:
    build(project)
    path = project / MIGRATIONS / "0001_products_initial.json"
    path.write_text(path.read_text("utf-8").replace('"create_index"', '"create_idx"'), encoding="utf-8")
    report = build(project)
    assert "db:products" in failed(report)
    result = next(r for r in report.results if r.id == "db:products")
    assert result.file == f"{MIGRATIONS}/0001_products_initial.json" and result.line
    assert "unknown type 'create_idx'" in (result.error or "")
    assert "db-apply" not in ran(report)


def test_two_models_for_one_collection_is_an_error(make_project) -> None:  # noqa: ANN001
    other = shop().replace("class Product", "class Item")
    root = make_project({MODEL: shop(), "apps/api/src/models/other.py": other})
    report = build(root)
    result = next(r for r in report.results if r.id == "db:products")
    assert result.status == "failed"
    assert "declared by two models" in (result.error or "") and "other.py" in (result.error or "")


def test_a_computed_settings_name_is_reported(make_project, caplog) -> None:  # noqa: ANN001
    model = shop().replace('name = "products"', 'name = "prod" + "ucts"')
    root = make_project({MODEL: model})
    with caplog.at_level(logging.WARNING, logger="farmbuild"):
        session = Session(root)
        session.close()
    assert "Settings.name is not a string literal" in caplog.text and "shop.py:13:" in caplog.text


# -- applying in development --------------------------------------------------------------------

def test_no_url_says_so_once(project: Path, caplog, patch_connect) -> None:  # noqa: ANN001
    patch_connect(None)
    with caplog.at_level(logging.INFO, logger="farmbuild"):
        build(project)
        edit(project, shop("organic: bool = False"))
        build(project)
    notices = [r for r in caplog.records if "is not set: migrations are written" in r.getMessage()]
    assert len(notices) == 1
    assert "FARMTEST_MONGODB_URL" in notices[0].getMessage()


def test_dev_applies_to_a_local_server(project: Path, mongomock_backend: Backend, patch_connect,
                                       monkeypatch: pytest.MonkeyPatch, caplog) -> None:  # noqa: ANN001
    asked = patch_connect(mongomock_backend)
    monkeypatch.setenv("FARMTEST_MONGODB_URL", f"mongodb://app:{CANARY}@localhost:27017/shop")
    with caplog.at_level(logging.INFO, logger="farmbuild"):
        report = build(project)
    assert report.ok, [r.error for r in report.results if r.error]
    assert asked and set(applied(mongomock_backend.db)) == {"0001_products_initial"}
    assert mongomock_backend.validator_of("products") is not None
    assert "applied 0001_products_initial to mongodb://***@localhost:27017/shop" in caplog.text
    # a model change is written and applied by the same build
    mongomock_backend.db["products"].insert_one({"name": "eggs", "farm": "Hof", "stock": 1, "created_at": None})
    edit(project, shop("organic: bool = False"))
    build(project)
    assert "0002_products_add_organic" in applied(mongomock_backend.db)
    assert mongomock_backend.db["products"].find_one({"name": "eggs"})["organic"] is False
    assert CANARY not in caplog.text


def test_dev_never_applies_to_another_machine(project: Path, patch_connect, monkeypatch: pytest.MonkeyPatch,
                                              caplog) -> None:  # noqa: ANN001
    patch_connect(None)  # connecting would fail the test
    monkeypatch.setenv("FARMTEST_MONGODB_URL", f"mongodb://app:{CANARY}@db.example.com:27017/shop")
    with caplog.at_level(logging.INFO, logger="farmbuild"):
        report = build(project)
    assert report.ok
    assert "points at db.example.com:27017, which is not this machine" in caplog.text
    assert CANARY not in caplog.text


def test_dev_holds_destructive_migrations_until_allowed(project: Path, mongomock_backend: Backend, patch_connect,
                                                        monkeypatch: pytest.MonkeyPatch, caplog) -> None:  # noqa: ANN001
    patch_connect(mongomock_backend)
    monkeypatch.setenv("FARMTEST_MONGODB_URL", "mongodb://127.0.0.1:27017")
    build(project)
    mongomock_backend.db["products"].insert_one({"name": "eggs", "farm": "Hof ter Linde"})
    edit(project, shop(farm=""))
    with caplog.at_level(logging.WARNING, logger="farmbuild"):
        build(project)
    assert "0002_products_remove_farm" not in applied(mongomock_backend.db)
    assert mongomock_backend.db["products"].find_one({"name": "eggs"})["farm"] == "Hof ter Linde"
    assert "0002_products_remove_farm.json not applied: destructive" in caplog.text
    (project / "farm.toml").write_text('[database]\nurl_env = "FARMTEST_MONGODB_URL"\nallow_destructive = true\n')
    build(project)  # the database section changed: db-apply runs again
    assert "0002_products_remove_farm" in applied(mongomock_backend.db)
    assert "farm" not in mongomock_backend.db["products"].find_one({"name": "eggs"})


def test_apply_never_means_no_apply_task(make_project) -> None:  # noqa: ANN001
    root = make_project({MODEL: shop()}, farm_toml='[database]\napply = "never"\n')
    report = build(root)
    assert "db:products" in ran(report) and "db-apply" not in {r.id for r in report.results}


def test_check_never_touches_the_database(project: Path, patch_connect, monkeypatch: pytest.MonkeyPatch) -> None:
    build(project)
    patch_connect(None)
    monkeypatch.setenv("FARMTEST_MONGODB_URL", "mongodb://localhost:27017")
    result = check(project)
    assert result.ok, result.stale


def test_check_reports_a_missing_migration(project: Path) -> None:
    build(project)
    edit(project, shop("organic: bool = False"))
    result = check(project)
    assert not result.ok and f"{MIGRATIONS}/0002_products_add_organic.json" in result.stale  # (and the types that follow)
    assert not (project / MIGRATIONS / "0002_products_add_organic.json").exists()


# -- farm db ---------------------------------------------------------------------------------------

def run_cli(*args: str) -> int:
    from farmbuild.cli import main

    return main(list(args))


def test_farm_db_plan_shows_changes_without_writing(project: Path, mongomock_backend: Backend, patch_connect,
                                                    monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    build(project)
    edit(project, shop("organic: bool = False", farm=""))
    assert run_cli("db", "plan", "-C", str(project)) == 0
    out = capsys.readouterr().out
    assert f"{MIGRATIONS}/0002_products_remove_farm_add_organic.json" in out
    assert "! remove field 'farm'" in out and "+ add field 'organic' (bool, default false)" in out
    assert "is not set" in out
    assert not (project / MIGRATIONS / "0002_products_remove_farm_add_organic.json").exists()
    patch_connect(mongomock_backend)
    monkeypatch.setenv("FARMTEST_MONGODB_URL", "mongodb://localhost:27017/shop")
    assert run_cli("db", "plan", "-C", str(project), "--json") == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["database"]["run"] == ["0001_products_initial"]
    assert plan["database"]["held"][0]["id"] == "0002_products_remove_farm_add_organic"
    assert run_cli("db", "plan", "-C", str(project)) == 0
    out = capsys.readouterr().out
    assert "db['products'].update_many" in out and "db.command({\"collMod\": \"products\"" in out


def test_farm_db_apply_and_status(project: Path, mongomock_backend: Backend, patch_connect,
                                  monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    (project / "farm.toml").write_text('[database]\nurl_env = "FARMTEST_MONGODB_URL"\napply = "never"\n')
    patch_connect(mongomock_backend)
    monkeypatch.setenv("FARMTEST_MONGODB_URL", "mongodb://db.example.com:27017/shop")  # explicit: any host
    assert run_cli("db", "apply", "-C", str(project)) == 0
    assert "applied 0001_products_initial" in capsys.readouterr().out
    edit(project, shop(farm=""))
    assert run_cli("db", "apply", "-C", str(project)) == 1  # destructive: held
    assert "not applied 0002_products_remove_farm: destructive" in capsys.readouterr().err
    assert run_cli("db", "status", "-C", str(project)) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines() if line.startswith("  0")}
    assert rows == {"0001_products_initial": ["applied"], "0002_products_remove_farm": ["pending", "destructive"]}
    assert run_cli("db", "apply", "--accept-data-loss", "-C", str(project)) == 0
    assert run_cli("db", "status", "-C", str(project), "--json") == 0
    status = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert {r["status"] for r in status["migrations"]} == {"applied"}
    assert mongomock_backend.db[LEDGER].count_documents({}) == 2


def test_farm_db_apply_needs_a_url(project: Path) -> None:
    out = farm_cli("db", "apply", "-C", str(project), env={"FARMTEST_MONGODB_URL": ""})
    assert out.returncode == 2
    assert "FARMTEST_MONGODB_URL is not set" in out.stderr and "Traceback" not in out.stderr


# -- the URL is a secret ---------------------------------------------------------------------------

def _everything_written(root: Path) -> bytes:
    blobs = []
    for p in root.rglob("*"):
        if p.is_file():
            blobs.append(p.read_bytes())
    return b"\n".join(blobs)


def test_the_database_url_never_leaks(project: Path) -> None:
    (project / "farm.toml").write_text('[database]\nurl_env = "FARMTEST_MONGODB_URL"\ntimeout_s = 0.3\n')
    url = f"mongodb://app:{CANARY}@127.0.0.1:1/shop?authSource=admin"
    env = {"FARMTEST_MONGODB_URL": url}
    outputs: list[Any] = []
    res = farm_cli("build", "-vv", "-C", str(project), env=env)
    outputs.append(res)
    assert res.returncode == 1  # the local server is down: db-apply fails, clearly
    assert "cannot reach MongoDB at mongodb://***@127.0.0.1:1/shop" in res.stdout + res.stderr
    res = farm_cli("build", "--json", "-C", str(project), env=env)
    outputs.append(res)
    for args in (("db", "status"), ("db", "apply")):
        res = farm_cli(*args, "-C", str(project), env=env)
        outputs.append(res)
        assert res.returncode == 1 and "***@127.0.0.1:1" in res.stderr
    for res in outputs:
        assert CANARY not in res.stdout and CANARY not in res.stderr
        assert "authSource" not in res.stdout + res.stderr
    assert CANARY.encode() not in _everything_written(project)  # migrations, .farm/, .doit.db


def test_timeout_is_validated(make_project) -> None:  # noqa: ANN001
    from farmbuild.config import load_config
    from farmbuild.errors import ConfigError

    root = make_project({MODEL: shop()}, farm_toml="[database]\ntimeout_s = 0\n")
    with pytest.raises(ConfigError) as info:
        load_config(root)
    assert "database.timeout_s" in str(info.value) and "farm.toml:2" in str(info.value)
    assert load_config(make_project({MODEL: shop()})).config.database.timeout_s == 5.0


# -- against a real server (FARM_TEST_MONGODB_URL) -------------------------------------------------

def test_example_app_against_a_real_server(tmp_path: Path) -> None:
    """`farm db apply` on the example app, then status, against the server in FARM_TEST_MONGODB_URL."""
    import os
    import uuid

    from .conftest import REAL_URL_ENV

    url = os.environ.get(REAL_URL_ENV)
    if not url:
        pytest.skip(f"no MongoDB server: set {REAL_URL_ENV}=mongodb://HOST:PORT to run this test against one"
                    " (none can be installed on the build machines)")
    from pymongo import MongoClient

    from ...conftest import copy_example

    root = copy_example(tmp_path / "app", link_node_modules=False)
    name = f"farmbuild_test_{uuid.uuid4().hex[:12]}"
    toml = (root / "farm.toml").read_text("utf-8")
    assert '[database]\nname = "harvest_market"' in toml
    toml = toml.replace('[database]\nname = "harvest_market"', f'[database]\nname = "{name}"')
    (root / "farm.toml").write_text(toml, encoding="utf-8")
    env = {"MONGODB_URL": url}
    client: Any = MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        res = farm_cli("db", "apply", "-C", str(root), env=env)
        assert res.returncode == 0, res.stderr
        assert res.stdout.count("applied 0001_") == 4
        db = client[name]
        for coll in ("products", "customers", "orders", "reviews"):
            info = db.command("listCollections", filter={"name": coll})["cursor"]["firstBatch"][0]["options"]
            assert "$jsonSchema" in info["validator"] and info["validationAction"] == "warn"
        assert db["customers"].index_information()["customers_email_unique"]["unique"]
        res = farm_cli("db", "apply", "-C", str(root), env=env)
        assert res.returncode == 0 and "nothing to apply" in res.stdout
        res = farm_cli("db", "status", "-C", str(root), "--json", env=env)
        rows = json.loads(res.stdout)["migrations"]
        assert {r["status"] for r in rows} == {"applied"} and len(rows) == 4
    finally:
        client.drop_database(name)
        client.close()
