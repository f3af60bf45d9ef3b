"""``openapi:<route module>`` fragments merged by ``openapi-json`` equal the real ``app.openapi()``.

The real document is computed in a fresh interpreter (each synthetic project has its own
``src`` package), so nothing farmbuild does in-process can make the comparison pass by accident.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from farmbuild.build import BuildOptions, Session
from tests.conftest import failed, ran

REAL_OPENAPI = """
import json, sys
sys.path.insert(0, sys.argv[1])
module, _, attr = sys.argv[2].partition(":")
app = getattr(__import__(module, fromlist=["x"]), attr)
json.dump(app.openapi(), sys.stdout)
"""


def real_openapi(root: Path, app: str = "src.main:app") -> dict:
    out = subprocess.run(
        [sys.executable, "-c", REAL_OPENAPI, str(root / "apps" / "api"), app],
        capture_output=True, text=True, check=True, timeout=120,
    )
    return json.loads(out.stdout)


def built_openapi(root: Path) -> dict:
    return json.loads((root / ".farm" / "openapi.json").read_text("utf-8"))


def build(root: Path, *tasks: str):
    session = Session(root, isolated=True)
    try:
        return session.build(BuildOptions(tasks=list(tasks)))
    finally:
        session.close()


def differences(a: object, b: object, at: str = "") -> list[str]:
    """Where two JSON values differ, as readable paths (for assertion messages)."""
    if type(a) is not type(b):
        return [f"{at}: {type(a).__name__} != {type(b).__name__}"]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{at}/{k}: only in {'built' if k in a else 'real'}")
            else:
                out += differences(a[k], b[k], f"{at}/{k}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{at}: {len(a)} items != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{at}[{i}]")]
    return [] if a == b else [f"{at}: {a!r} != {b!r}"]


def assert_same_document(root: Path) -> dict:
    report = build(root, "openapi-json")
    assert not failed(report), [(r.id, r.error) for r in report.results if r.error]
    real, mine = real_openapi(root), built_openapi(root)
    # dict equality: key order does not matter, everything else does
    assert mine == real, "\n".join(differences(mine, real)[:40])
    return mine


# -- the hard cases, one app ---------------------------------------------------------------

HARD = {
    "apps/api/src/models/one.py": """
        from decimal import Decimal
        from enum import Enum, IntEnum
        from typing import Generic, TypeVar
        from pydantic import BaseModel, Field, computed_field

        T = TypeVar("T")

        class Item(BaseModel):
            name: str

        class Money(BaseModel):
            amount: Decimal
            @computed_field
            @property
            def display(self) -> str:
                return f"{self.amount}"

        class Page(BaseModel, Generic[T]):
            items: list[T]
            total: int

        class Colour(str, Enum):
            red = "red"
            green = "green"

        class Level(IntEnum):
            low = 1
            high = 9

        class Inner(BaseModel):
            price: Decimal  # validation and serialization schemas differ

        class Outer(BaseModel):
            label: str
            inner: Inner | None = Field(default=None, exclude=True)
    """,
    "apps/api/src/models/two.py": """
        from typing import Literal, Annotated
        from pydantic import BaseModel, Field

        class Item(BaseModel):
            code: int

        class Cat(BaseModel):
            kind: Literal["cat"]
            lives: int = 9

        class Dog(BaseModel):
            kind: Literal["dog"]
            good: bool = True

        Pet = Annotated[Cat | Dog, Field(discriminator="kind")]

        class Owner(BaseModel):
            pets: list[Pet] = []
    """,
    # only ever *takes* one.Item and Money, and lists one.Item pages
    "apps/api/src/routes/a.py": """
        from fastapi import APIRouter, File, Form, UploadFile, Query
        from src.models.one import Colour, Item, Level, Money, Outer, Page

        router = APIRouter(tags=["a"])

        @router.post("/items", status_code=201)
        def create_item(body: Item, price: Money) -> Outer:
            return Outer(label=body.name)

        @router.get("/items")
        def list_items(colour: Colour | None = None, levels: list[Level] = Query(default=[])) -> Page[Item]:
            return Page[Item](items=[], total=0)

        @router.post("/items/{item_id}/image")
        def upload_image(item_id: int, file: UploadFile = File(), caption: str = Form()) -> None:
            return None
    """,
    # only ever *returns* two.Item and Money; uses Inner directly (so it is no "extra")
    "apps/api/src/routes/b.py": """
        from fastapi import APIRouter, Depends, Header, Cookie
        from fastapi.security import HTTPBearer
        from src.models.one import Inner, Money, Page
        from src.models.two import Item, Owner

        router = APIRouter()
        bearer = HTTPBearer()

        @router.get("/things/{code}", responses={404: {"model": Money, "description": "nope"}})
        def get_thing(code: int, token=Depends(bearer), x_trace: str | None = Header(default=None),
                      session: str | None = Cookie(default=None)) -> Item:
            return Item(code=code)

        @router.get("/prices")
        def price() -> Money:
            raise NotImplementedError

        @router.put("/inner")
        def put_inner(body: Inner) -> Page[Item]:
            raise NotImplementedError

        @router.post("/owners")
        def create_owner(body: Owner) -> Owner:
            return body
    """,
    # included into `nested` with a prefix, which the app includes with another
    "apps/api/src/routes/deep/leaf.py": """
        from fastapi import APIRouter
        router = APIRouter(prefix="/leaf", tags=["leaf"])

        @router.get("/")
        def leaf_root() -> dict[str, int]:
            return {}

        @router.delete("/{x}", status_code=204, deprecated=True)
        def leaf_delete(x: str) -> None:
            return None
    """,
    "apps/api/src/routes/deep/__init__.py": "",
    "apps/api/src/routes/nested.py": """
        from fastapi import APIRouter
        from src.routes.deep import leaf

        router = APIRouter(responses={418: {"description": "teapot"}})
        router.include_router(leaf.router, prefix="/n")

        @router.get("/items")  # the same path as a.py's routes under another prefix: /api/items
        def nested_items() -> list[str]:
            return []
    """,
    "apps/api/src/main.py": """
        from fastapi import FastAPI
        from src.routes import a, b, nested

        app = FastAPI(title="Hard", version="2", servers=[{"url": "https://example.test"}],
                      openapi_tags=[{"name": "a", "description": "the A routes"}])
        app.include_router(a.router, prefix="/api")
        app.include_router(b.router, prefix="/api/b", tags=["b"])
        app.include_router(nested.router, prefix="/api/nest")

        @app.get("/health")
        def health() -> dict[str, str]:
            return {"ok": "yes"}

        @app.webhooks.post("new-item")
        def new_item(body: dict[str, int]) -> None:
            return None
    """,
}


@pytest.fixture
def hard(make_project) -> Path:  # noqa: ANN001
    return make_project(HARD)


def test_merged_fragments_equal_app_openapi_on_hard_cases(hard: Path) -> None:
    doc = assert_same_document(hard)
    names = set(doc["components"]["schemas"])
    # the cases this app exists for, so a future FastAPI that stops producing them is noticed
    assert {"src__models__one__Item", "src__models__two__Item"} <= names
    assert {"Money-Input", "Money-Output"} <= names
    # Page[one.Item] and Page[two.Item] share "src__models__one__Page_Item_": numbered app-wide
    assert {"src__models__one__Page_Item___1", "src__models__one__Page_Item___2"} <= names
    assert any(n.startswith("Body_upload_image") for n in names)
    assert "/api/nest/n/leaf/" in doc["paths"] and "/api/nest/n/leaf/{x}" in doc["paths"]
    assert "Inner" in names and "Inner-Output" not in names  # no serialization def: Inner is a direct input
    assert doc["components"]["securitySchemes"] == {"HTTPBearer": {"type": "http", "scheme": "bearer"}}
    assert "new-item" in doc["webhooks"]


def test_each_fragment_holds_only_its_module(hard: Path) -> None:
    build(hard, "openapi-json")
    frag = json.loads((hard / ".farm/openapi/a.json").read_text())
    assert set(frag["paths"]) == {"/api/items", "/api/items/{item_id}/image"}
    functions = {o["function"] for o in frag["x-farm"]["operations"]}
    assert functions == {"create_item", "list_items", "upload_image"}
    # alone, a.py would call its Item "Item"; the fragment keeps pydantic's qualified key and choices
    item = next(m for m in frag["x-farm"]["schemas"].values() if m["type"] == "src.models.one:Item")
    assert item["choices"][0] == "Item"
    leaf = json.loads((hard / ".farm/openapi/deep/leaf.json").read_text())
    assert set(leaf["paths"]) == {"/api/nest/n/leaf/", "/api/nest/n/leaf/{x}"}
    app = json.loads((hard / ".farm/openapi/_app.json").read_text())
    assert set(app["paths"]) == {"/health"} and app["document"]["info"]["title"] == "Hard"


def test_sidecar_maps_components_and_operations_to_python(hard: Path) -> None:
    build(hard, "openapi-json")
    meta = json.loads((hard / ".farm/openapi.meta.json").read_text())
    schemas = meta["schemas"]
    assert schemas["src__models__one__Item"]["type"] == "src.models.one:Item"
    assert schemas["Money-Input"]["modes"] == ["validation"]
    page = schemas["src__models__one__Page_Item___2"]
    assert page["generic_origin"] == "src.models.one:Page"
    assert page["generic_args"] == ["src.models.two:Item"]
    ops = {o["function"]: o for o in meta["operations"].values()}
    assert ops["list_items"]["group"] == "a" and ops["list_items"]["method"] == "get"
    assert ops["health"]["group"] == "_app"
    assert ops["new_item"]["webhook"] is True


def test_separate_input_output_schemas_false(make_project) -> None:  # noqa: ANN001
    files = dict(HARD)
    files["apps/api/src/main.py"] = HARD["apps/api/src/main.py"].replace(
        'version="2",', 'version="2", separate_input_output_schemas=False,')
    assert_same_document(make_project(files))


def test_model_reached_only_through_an_excluded_field_is_kept(make_project) -> None:  # noqa: ANN001
    # without b.py's direct use of Inner, FastAPI keeps the flat-model input from a.py's Outer
    files = dict(HARD)
    files["apps/api/src/routes/b.py"] = HARD["apps/api/src/routes/b.py"].replace("body: Inner", "body: Money")
    doc = assert_same_document(make_project(files))
    assert "Inner" in doc["components"]["schemas"]


def test_example_app_openapi_equals_app_openapi(example_app: Path) -> None:
    doc = assert_same_document(example_app)
    assert "src__models__common__Address" in doc["components"]["schemas"]


def test_editing_one_router_reruns_only_its_fragment_and_the_merge(hard: Path) -> None:
    build(hard, "openapi-json")
    a = hard / "apps/api/src/routes/a.py"
    a.write_text(a.read_text().replace('"/items", status_code=201', '"/items/new", status_code=201'))
    report = build(hard, "openapi-json")
    assert ran(report) == {"openapi:a", "openapi-json"}
    assert built_openapi(hard) == real_openapi(hard)


def test_editing_the_app_module_reruns_every_fragment(hard: Path) -> None:
    build(hard, "openapi-json")
    main = hard / "apps/api/src/main.py"
    main.write_text(main.read_text().replace('prefix="/api/b"', 'prefix="/api/bee"'))
    report = build(hard, "openapi-json")
    assert {"openapi:a", "openapi:b", "openapi:nested", "openapi:deep/leaf", "openapi:_app"} <= ran(report)
    assert "/api/bee/prices" in built_openapi(hard)["paths"]
    assert built_openapi(hard) == real_openapi(hard)


def test_editing_an_including_router_reruns_the_included_fragment(hard: Path) -> None:
    build(hard, "openapi-json")
    nested = hard / "apps/api/src/routes/nested.py"
    nested.write_text(nested.read_text().replace('prefix="/n"', 'prefix="/m"'))
    report = build(hard, "openapi-json")
    assert {"openapi:nested", "openapi:deep/leaf", "openapi-json"} == ran(report)
    assert built_openapi(hard) == real_openapi(hard)


def test_broken_router_fails_its_fragment_with_file_and_line(hard: Path) -> None:
    build(hard, "openapi-json")
    b = hard / "apps/api/src/routes/b.py"
    b.write_text(b.read_text() + "\nraise RuntimeError('boom')\n")
    report = build(hard, "openapi-json")
    bad = {r.id: r for r in report.results if r.status == "failed"}
    assert "openapi:b" in bad
    assert bad["openapi:b"].file == "apps/api/src/routes/b.py"
    assert bad["openapi:b"].line == b.read_text().count("\n")
    assert "boom" in bad["openapi:b"].error
    # the last good document is kept
    assert "/api/b/prices" in built_openapi(hard)["paths"]


def test_bad_app_reference_is_a_clear_error(make_project) -> None:  # noqa: ANN001
    root = make_project({"apps/api/src/routes/r.py": "from fastapi import APIRouter\nrouter = APIRouter()\n"},
                        farm_toml='[backend]\napp = "src.main:application"\n')
    report = build(root, "openapi-json")
    bad = [r for r in report.results if r.status == "failed" and r.id.startswith("openapi:")]
    assert {r.id for r in bad} == {"openapi:r", "openapi:_app"}
    for r in bad:
        assert r.file == "apps/api/src/main.py"
        assert "no attribute 'application'" in r.error and "backend.app" in r.error


def test_app_factory_is_called(make_project) -> None:  # noqa: ANN001
    root = make_project({
        "apps/api/src/main.py": """
            from fastapi import FastAPI
            def create_app() -> FastAPI:
                app = FastAPI(title="made")
                @app.get("/x")
                def x() -> int:
                    return 1
                return app
        """,
    }, farm_toml='[backend]\napp = "src.main:create_app"\n')
    report = build(root, "openapi-json")
    assert not failed(report)
    doc = built_openapi(root)
    assert doc["info"]["title"] == "made" and "/x" in doc["paths"]


def test_reserved_app_key_is_refused(make_project) -> None:  # noqa: ANN001
    from farmbuild.errors import ProjectError

    root = make_project({"apps/api/src/routes/_app.py": "x = 1\n"})
    with pytest.raises(ProjectError, match="_app"):
        Session(root, isolated=True)


def test_overridden_openapi_is_reported(make_project, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    root = make_project({"apps/api/src/main.py": """
        from fastapi import FastAPI
        app = FastAPI()

        def custom_openapi():
            schema = FastAPI.openapi(app)
            schema["info"]["x-logo"] = {"url": "logo.png"}
            return schema

        app.openapi = custom_openapi
    """})
    with caplog.at_level("WARNING", logger="farmbuild"):
        report = build(root, "openapi-json")
    assert not failed(report)
    assert any("overrides app.openapi()" in r.getMessage() for r in caplog.records)


def test_a_fragment_does_not_depend_on_what_the_worker_did_before(tmp_path: Path) -> None:
    # found by tests/hostile (incremental == clean): a model waiting for a forward reference is
    # completed by the schema op, and FastAPI's walk over the models saw the difference
    from farmbuild.worker import Worker
    from tests.conftest import write_tree

    write_tree(tmp_path, {
        "src/__init__.py": "",
        "src/people.py": "from __future__ import annotations\nfrom pydantic import BaseModel\n\n"
                         "class Order(BaseModel):\n    owner: Customer\n\nclass Customer(BaseModel):\n    name: str\n",
        "src/routes.py": "from fastapi import APIRouter\nfrom src.people import Order\nrouter = APIRouter()\n\n"
                         "@router.post('/orders')\ndef create(body: Order) -> Order:\n    return body\n",
        "src/main.py": "from fastapi import FastAPI\nfrom src.routes import router\napp = FastAPI()\napp.include_router(router)\n",
    })
    args = {"app": "src.main:app", "module": "src.routes", "route_modules": ["src.routes"], "key": "routes",
            "source": "src/routes.py"}
    results = []
    for schema_first in (False, True):
        w = Worker([tmp_path], [tmp_path], tmp_path, timeout_s=60)
        try:
            if schema_first:
                w.call("schema", module="src.people", source="src/people.py")
            results.append(w.call("openapi_fragment", **args))
        finally:
            w.close()
    assert results[0] == results[1]
