"""The catalogue: what the farms sell."""

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field

from .common import Money


class Category(str, Enum):
    """Shelf a product is sold from."""

    vegetables = "vegetables"
    fruit = "fruit"
    dairy = "dairy"
    bakery = "bakery"
    eggs = "eggs"
    pantry = "pantry"


class Unit(str, Enum):
    """What one unit of stock is."""

    kilogram = "kg"
    piece = "piece"
    bunch = "bunch"
    dozen = "dozen"
    litre = "l"
    jar = "jar"


class ProductImage(BaseModel):
    """A photo of a product, served by the API."""

    id: str
    url: str = Field(description="Path the image is served from, relative to the API origin.")
    alt_text: str = Field(max_length=200)
    content_type: str


class Product(BaseModel):
    """A product on sale. Stored in the ``products`` collection."""

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", description="URL slug, made from the name.")
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    category: Category
    unit: Unit
    price: Money = Field(description="Price of one unit.")
    stock: int = Field(ge=0, description="Units on hand.")
    farm: str = Field(description="The farm that grows or makes it.")
    organic: bool = False
    tags: list[str] = Field(default_factory=list)
    images: list[ProductImage] = Field(default_factory=list)
    created_at: datetime

    class Settings:
        name = "products"
        indexes = [
            "category",
            [("created_at", -1)],
            [("category", 1), ("price.amount", 1)],
        ]


class ProductCreate(BaseModel):
    """What a shop manager fills in to list a new product."""

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    category: Category
    unit: Unit
    price: Money
    stock: int = Field(default=0, ge=0)
    farm: str
    organic: bool = False
    tags: list[str] = Field(default_factory=list)


class ProductUpdate(BaseModel):
    """A partial update: only the fields that are sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    category: Category | None = None
    unit: Unit | None = None
    price: Money | None = None
    stock: int | None = Field(default=None, ge=0)
    farm: str | None = None
    organic: bool | None = None
    tags: list[str] | None = None
