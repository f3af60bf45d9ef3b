"""Customers: people with an account at the shop."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from src.models.common import Address

# Deliberately loose: the shop confirms addresses by mail, and email-validator is not a dependency.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Customer(BaseModel):
    """A customer account. Stored in the ``customers`` collection, keyed by MongoDB's ``_id``."""

    # Code says `customer.id` / `two_factor`; the JSON (and MongoDB) say `_id` / `2fa`.
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id", description="Customer number, e.g. ``cus_0001``.")
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    name: str = Field(min_length=1, max_length=120)
    address: Address | None = None
    two_factor: bool = Field(default=False, alias="2fa", description="Whether sign-in needs a second factor.")
    newsletter: bool = False
    created_at: datetime

    class Settings:
        name = "customers"
        indexes = [
            {"keys": [("email", 1)], "unique": True, "name": "customers_email_unique"},
        ]


class CustomerCreate(BaseModel):
    """Sign-up form."""

    model_config = ConfigDict(populate_by_name=True)

    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    name: str = Field(min_length=1, max_length=120)
    address: Address | None = None
    two_factor: bool = Field(default=False, alias="2fa")
    newsletter: bool = False
