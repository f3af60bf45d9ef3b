"""Reviews: what customers think of a product, and the farm's replies."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from .catalog import Product


class Review(BaseModel):
    """A customer's review of a product.

    Replies (from the farm or other customers) are reviews too, nested under the one they answer.
    """

    # Attribute docstrings become field descriptions, as `Field(description=...)` does elsewhere.
    model_config = ConfigDict(use_attribute_docstrings=True)

    id: str
    product_id: str
    author: str = Field(max_length=80)
    """Display name of whoever wrote it."""
    rating: int | None = Field(default=None, ge=1, le=5, description="Stars, 1 to 5. Replies have none.")
    stars: int | None = Field(
        default=None,
        ge=1,
        le=5,
        deprecated="Use `rating`; `stars` is only filled in for v1 API clients and will be removed.",
    )
    body: str = Field(min_length=1, max_length=2000)
    verified_purchase: bool = False
    """True when the author bought the product at Harvest Market."""
    replies: list["Review"] = []
    created_at: datetime

    class Settings:
        name = "reviews"
        indexes = [[("product_id", 1), ("created_at", -1)]]


class ReviewCreate(BaseModel):
    """A new top-level review."""

    product_id: str
    author: str = Field(min_length=1, max_length=80)
    rating: int = Field(ge=1, le=5)
    body: str = Field(min_length=1, max_length=2000)


class ReplyCreate(BaseModel):
    """A reply to a review."""

    author: str = Field(min_length=1, max_length=80)
    body: str = Field(min_length=1, max_length=2000)


class ProductReviews(BaseModel):
    """A product with its reviews, as the product page shows them."""

    product: Product
    average_rating: float | None = Field(default=None, description="Mean rating; null when unreviewed.")
    review_count: int = Field(ge=0)
    reviews: list[Review]
