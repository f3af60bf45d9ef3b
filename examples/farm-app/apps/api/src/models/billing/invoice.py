"""Invoices, issued for an order to a billing address.

``Address`` here is the *billing* address (a company and a VAT number); it shares its name with
``src.models.common.Address``, the delivery address, on purpose: both appear in one API.
"""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from pydantic import BaseModel, Field

from src.models.orders import Order, OrderLine

from ..common import Address as DeliveryAddress
from ..common import Money

CENT = Decimal("0.01")


class Address(BaseModel):
    """Who an invoice is addressed to, for the tax office."""

    name: str = Field(min_length=1, max_length=120)
    company: str | None = None
    vat_id: str | None = Field(default=None, pattern=r"^[A-Z]{2}[A-Z0-9]{2,13}$", description="EU VAT number.")
    street: str
    postal_code: str
    city: str
    country: str = Field(default="NL", pattern=r"^[A-Z]{2}$")


class Invoice(BaseModel):
    number: str = Field(pattern=r"^HM-\d{4}-\d{5}$")
    order_id: UUID
    issued_at: datetime
    billing_address: Address
    delivered_to: DeliveryAddress | None = None
    lines: list[OrderLine]
    vat_rate: Decimal = Field(description="Fraction, e.g. 0.09 for 9 %.")
    net: Money
    vat: Money
    gross: Money

    @classmethod
    def for_order(cls, order: Order, number: str, billing_address: Address, issued_at: datetime, vat_rate: Decimal) -> "Invoice":
        """Split the order total (prices include VAT, as shoppers see them) into net and VAT."""
        gross = order.total
        net = (gross.amount / (1 + vat_rate)).quantize(CENT, rounding=ROUND_HALF_UP)
        return cls(
            number=number,
            order_id=order.id,
            issued_at=issued_at,
            billing_address=billing_address,
            delivered_to=order.shipping_address,
            lines=order.lines,
            vat_rate=vat_rate,
            net=Money(amount=net, currency=gross.currency),
            vat=Money(amount=gross.amount - net, currency=gross.currency),
            gross=gross,
        )
