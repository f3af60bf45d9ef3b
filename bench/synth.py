"""A synthetic FARM app of N model modules and N routers with realistic cross-references.

Each model module ``mNNN`` defines an enum, a shared value object, a document model with
``Settings`` (collection + indexes), a create/update pair and a generic-using listing model,
and imports one or two earlier modules (so a change ripples through imports as in a real
app). Each router module ``rNNN`` serves CRUD routes for its module's document with query
arrays, ``Page[T]`` responses, 201/204 and a documented 404, and is included in
``main.py`` under ``/api/rNNN``.

    python -m bench.synth /tmp/app500 500
"""

from __future__ import annotations

import argparse
import random
import textwrap
from pathlib import Path

COMMON = '''\
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from pydantic import BaseModel, Field, computed_field

T = TypeVar("T")


class Money(BaseModel):
    """An amount of money."""

    amount: Decimal
    currency: str = "EUR"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display(self) -> str:
        return f"{self.amount} {self.currency}"


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int = 1
    size: int = Field(default=20, le=200)


class ErrorDetail(BaseModel):
    detail: str


class Audit(BaseModel):
    created_at: datetime
    updated_at: datetime | None = None
'''


def _deps(i: int, rng: random.Random) -> list[int]:
    return sorted({rng.randrange(i) for _ in range(min(i, 2))}) if i else []


def model_deps(n: int, *, seed: int = 7) -> dict[int, list[int]]:
    """Which earlier model modules each module imports (as :func:`generate` writes them)."""
    rng = random.Random(seed)
    return {i: _deps(i, rng) for i in range(n)}


def importers(n: int, *, seed: int = 7) -> dict[int, set[int]]:
    """Model module → the model modules that import it, directly or not."""
    rdeps: dict[int, set[int]] = {i: set() for i in range(n)}
    for i, deps in model_deps(n, seed=seed).items():
        for d in deps:
            rdeps[d].add(i)
    out: dict[int, set[int]] = {}
    for i in range(n):
        seen: set[int] = set()
        stack = [i]
        while stack:
            for r in rdeps[stack.pop()]:
                if r not in seen:
                    seen.add(r)
                    stack.append(r)
        out[i] = seen
    return out


def pick_model(n: int, fan_in: int = 4, *, seed: int = 7) -> tuple[int, int]:
    """The last module that ``fan_in`` others import (transitively), or the nearest count; (index, count)."""
    counts = {i: len(s) for i, s in importers(n, seed=seed).items()}
    best = min(counts, key=lambda i: (abs(counts[i] - fan_in), -i))
    return best, counts[best]


def model_module(i: int, rng: random.Random) -> str:
    deps = _deps(i, rng)
    imports = "\n".join(f"from . import m{d:03d}" for d in deps)
    refs = "\n".join(f"    related_{d:03d}: m{d:03d}.Item{d:03d}Ref | None = None" for d in deps)
    return f'''\
from __future__ import annotations

from enum import Enum, IntEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from .common import Audit, Money
{imports}


class Status{i:03d}(IntEnum):
    draft = 1
    active = 2
    archived = 9


class Kind{i:03d}(str, Enum):
    basic = "basic"
    premium = "premium"


class Item{i:03d}Ref(BaseModel):
    id: UUID
    name: str


class Item{i:03d}(BaseModel):
    """Item {i} of the synthetic catalog."""

    id: UUID = Field(alias="_id")
    name: str = Field(min_length=1, max_length=120)
    price: Money
    status: Status{i:03d} = Status{i:03d}.draft
    kind: Kind{i:03d} = Kind{i:03d}.basic
    tags: list[str] = []
    audit: Audit
    variant: Literal["a", "b"] = "a"
{refs}

    class Settings:
        name = "items_{i:03d}"
        indexes = ["name", [("status", 1), ("name", -1)]]


class Item{i:03d}Create(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    price: Money
    kind: Kind{i:03d} = Kind{i:03d}.basic
    tags: list[str] = []


class Item{i:03d}Update(BaseModel):
    name: str | None = None
    price: Money | None = None
    status: Status{i:03d} | None = None
'''


def route_module(i: int) -> str:
    m = f"m{i:03d}"
    return f'''\
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, HTTPException, Query

from src.models.common import ErrorDetail, Page
from src.models.{m} import Item{i:03d}, Item{i:03d}Create, Item{i:03d}Update, Kind{i:03d}

router = APIRouter(tags=["r{i:03d}"])


@router.get("/items", response_model=Page[Item{i:03d}])
def list_items_{i:03d}(tags: list[str] = Query(default=[]), kind: Kind{i:03d} | None = None,
                   page: int = 1, size: int = 20) -> Page[Item{i:03d}]:
    return Page[Item{i:03d}](items=[], total=0, page=page, size=size)


@router.get("/items/{{item_id}}", response_model=Item{i:03d}, responses={{404: {{"model": ErrorDetail}}}})
def get_item_{i:03d}(item_id: UUID) -> Item{i:03d}:
    raise HTTPException(status_code=404, detail="not found")


@router.post("/items", response_model=Item{i:03d}, status_code=201)
def create_item_{i:03d}(body: Item{i:03d}Create) -> Item{i:03d}:
    raise HTTPException(status_code=501, detail="synthetic")


@router.patch("/items/{{item_id}}", response_model=Item{i:03d})
def update_item_{i:03d}(item_id: UUID, body: Item{i:03d}Update) -> Item{i:03d}:
    raise HTTPException(status_code=501, detail="synthetic")


@router.delete("/items/{{item_id}}", status_code=204)
def delete_item_{i:03d}(item_id: UUID) -> None:
    return None
'''


def generate(root: Path, n: int, *, seed: int = 7) -> Path:
    """Write the app to ``root`` (which must not exist or be empty). Returns ``root``."""
    rng = random.Random(seed)
    api = root / "apps" / "api" / "src"
    (api / "models").mkdir(parents=True, exist_ok=True)
    (api / "routes").mkdir(parents=True, exist_ok=True)
    (api / "ai").mkdir(parents=True, exist_ok=True)
    (root / "apps" / "web" / "src").mkdir(parents=True, exist_ok=True)
    for p in (api / "__init__.py", api / "models" / "__init__.py", api / "routes" / "__init__.py", api / "ai" / "__init__.py"):
        p.write_text("")
    (api / "models" / "common.py").write_text(COMMON)
    for i in range(n):
        (api / "models" / f"m{i:03d}.py").write_text(model_module(i, rng))
        (api / "routes" / f"r{i:03d}.py").write_text(route_module(i))
    includes = "\n".join(
        f"from src.routes import r{i:03d}\napp.include_router(r{i:03d}.router, prefix=\"/api/r{i:03d}\")" for i in range(n)
    )
    (api / "main.py").write_text(f"from fastapi import FastAPI\n\napp = FastAPI(title=\"synthetic {n}\")\n\n{includes}\n")
    (root / "farm.toml").write_text(textwrap.dedent(f"""\
        [project]
        name = "synthetic_{n}"
    """))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("n", type=int)
    args = parser.parse_args()
    generate(args.dest, args.n)
    print(f"wrote a synthetic app with {args.n} model modules and {args.n} routers to {args.dest}")


if __name__ == "__main__":
    main()
