"""Value types shared by every area of the shop."""

from decimal import Decimal
from typing import Generic, TypeVar

from pydantic import BaseModel, Field, computed_field

T = TypeVar("T")


class Money(BaseModel):
    """An amount in one currency. Amounts are Decimals, never floats, so cents add up exactly."""

    amount: Decimal = Field(ge=0, decimal_places=2, description="Amount in the currency's major unit.")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display(self) -> str:
        """The amount as a shopper reads it, e.g. ``3.50 EUR``."""
        return f"{self.amount:.2f} {self.currency}"


class Address(BaseModel):
    """A postal address that produce is delivered to."""

    recipient: str = Field(min_length=1, max_length=120)
    street: str = Field(min_length=1, max_length=200)
    postal_code: str = Field(min_length=2, max_length=12)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(default="NL", pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code.")


class Page(BaseModel, Generic[T]):
    """One page of a listing; ``total`` counts every match, not just this page."""

    items: list[T]
    total: int = Field(ge=0)
    page: int = Field(ge=1)
    size: int = Field(ge=1)


class ErrorDetail(BaseModel):
    """The body FastAPI sends with an ``HTTPException`` (``{"detail": "..."}``)."""

    detail: str
