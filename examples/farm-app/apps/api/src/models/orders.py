"""Orders: what a customer bought, how they pay, and where it goes."""

from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, computed_field

from src.models.catalog import Unit

from .common import Address, Money


class OrderStatus(IntEnum):
    """Where an order is in its life. Stored as a number; the gap before 9 leaves room."""

    pending = 1
    paid = 2
    shipped = 3
    delivered = 4
    cancelled = 9


class Priority(IntEnum):
    """How fast the order is delivered."""

    standard = 0
    express = 1
    same_day = 2


class OrderLine(BaseModel):
    """One product in an order, with its price frozen at the time of ordering."""

    product_id: str
    product_name: str
    unit: Unit
    quantity: int = Field(ge=1)
    unit_price: Money


class OrderLineCreate(BaseModel):
    """A line as the basket sends it: the price is looked up by the server, never trusted."""

    product_id: str
    quantity: int = Field(ge=1, le=100)


class CardPayment(BaseModel):
    method: Literal["card"]
    brand: Literal["visa", "mastercard", "amex"]
    last4: str = Field(pattern=r"^\d{4}$")


class PayPalPayment(BaseModel):
    method: Literal["paypal"]
    payer_email: str


class BankTransfer(BaseModel):
    method: Literal["bank_transfer"]
    iban: str = Field(pattern=r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
    reference: str | None = None


Payment = Annotated[CardPayment | PayPalPayment | BankTransfer, Field(discriminator="method")]


class Discount(BaseModel):
    """Money off, from a voucher code."""

    kind: Literal["discount"]
    code: str
    amount: Money


class ShippingFee(BaseModel):
    kind: Literal["shipping"]
    carrier: str
    amount: Money


class RefundRequest(BaseModel):
    """A customer's request to get (part of) their money back."""

    reason: str = Field(min_length=3, max_length=500)
    amount: Money | None = Field(default=None, description="Omitted means the full total.")
    requested_at: datetime


class Order(BaseModel):
    """A placed order. Stored in the ``orders`` collection."""

    id: UUID = Field(default_factory=uuid4)
    customer_id: str
    lines: list[OrderLine] = Field(min_length=1)
    payment: CardPayment | PayPalPayment | BankTransfer = Field(discriminator="method")
    adjustments: list[Annotated[Discount | ShippingFee, Field(discriminator="kind")]] = Field(default_factory=list)
    status: OrderStatus = OrderStatus.pending
    priority: Priority = Priority.standard
    shipping_address: Address | None = None
    delivery_window: tuple[datetime, datetime] | None = Field(
        default=None, description="Earliest and latest delivery time the customer chose."
    )
    refund: RefundRequest | None = None
    tags: set[str] = Field(default_factory=set)
    metadata: dict[str, str] = Field(default_factory=dict)
    created_at: datetime

    class Settings:
        name = "orders"
        indexes = [
            [("customer_id", 1), ("created_at", -1)],
            "status",
        ]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Money:
        """Lines plus shipping, minus discounts. The shop sells in one currency per order."""
        currency = self.lines[0].unit_price.currency
        amount = sum((line.unit_price.amount * line.quantity for line in self.lines), Decimal("0"))
        for adjustment in self.adjustments:
            sign = -1 if isinstance(adjustment, Discount) else 1
            amount += sign * adjustment.amount.amount
        return Money(amount=max(amount, Decimal("0")), currency=currency)


class OrderCreate(BaseModel):
    """Checkout: the basket, how to pay and where to deliver."""

    customer_id: str
    lines: list[OrderLineCreate] = Field(min_length=1)
    payment: Payment
    priority: Priority = Priority.standard
    voucher_code: str | None = None
    shipping_address: Address | None = Field(default=None, description="Omitted means the customer's address.")
    delivery_window: tuple[datetime, datetime] | None = None
    tags: set[str] = Field(default_factory=set)
    metadata: dict[str, str] = Field(default_factory=dict)
