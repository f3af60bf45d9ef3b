"""Checkout and order management."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Cookie, Depends, Header, HTTPException, Query, Response, status

from src.models.billing.invoice import Address as BillingAddress
from src.models.billing.invoice import Invoice
from src.models.catalog import Product
from src.models.common import Address, ErrorDetail, Money, Page
from src.models.orders import Discount, Order, OrderCreate, OrderLine, OrderStatus, Priority, ShippingFee
from src.store import ConflictError, MemoryStore, NotFoundError, get_store

router = APIRouter(tags=["orders"])

Store = Annotated[MemoryStore, Depends(get_store)]
NOT_FOUND = {404: {"model": ErrorDetail, "description": "No order with that id"}}

VOUCHERS = {"WELCOME5": Decimal("5.00"), "HARVEST10": Decimal("10.00")}
SHIPPING = {Priority.standard: Decimal("4.95"), Priority.express: Decimal("7.95"), Priority.same_day: Decimal("12.50")}
FREE_STANDARD_SHIPPING_FROM = Decimal("50.00")
VAT_RATE = Decimal("0.09")  # Dutch reduced rate for food


def build_order(body: OrderCreate, products: dict[str, Product], customer_address: Address | None) -> Order:
    """Price the basket from the catalogue (never from the client) and add shipping and vouchers."""
    lines = [
        OrderLine(
            product_id=line.product_id,
            product_name=products[line.product_id].name,
            unit=products[line.product_id].unit,
            quantity=line.quantity,
            unit_price=products[line.product_id].price,
        )
        for line in body.lines
    ]
    subtotal = sum((line.unit_price.amount * line.quantity for line in lines), Decimal("0"))
    adjustments: list[Discount | ShippingFee] = []
    if not (body.priority == Priority.standard and subtotal >= FREE_STANDARD_SHIPPING_FROM):
        carrier = "Harvest Market bike courier" if body.priority == Priority.same_day else "PostNL"
        adjustments.append(ShippingFee(kind="shipping", carrier=carrier, amount=Money(amount=SHIPPING[body.priority])))
    if body.voucher_code:
        adjustments.append(
            Discount(kind="discount", code=body.voucher_code, amount=Money(amount=VOUCHERS[body.voucher_code]))
        )
    return Order(
        customer_id=body.customer_id,
        lines=lines,
        payment=body.payment,
        adjustments=adjustments,
        priority=body.priority,
        shipping_address=body.shipping_address or customer_address,
        delivery_window=body.delivery_window,
        tags=body.tags,
        metadata=body.metadata,
        created_at=datetime.now(UTC),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": Order, "description": "A retry: the order first placed with this Idempotency-Key"},
        404: {"model": ErrorDetail, "description": "Unknown customer or product"},
        409: {"model": ErrorDetail, "description": "Not enough stock"},
        400: {"model": ErrorDetail, "description": "Unknown voucher code"},
    },
)
def create_order(
    body: OrderCreate,
    response: Response,
    store: Store,
    idempotency_key: str | None = Header(
        default=None, max_length=64, description="Send the same key when retrying, so a retry never orders twice."
    ),
) -> Order:
    if body.voucher_code and body.voucher_code not in VOUCHERS:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"Unknown voucher code {body.voucher_code!r}")
    quantities: dict[str, int] = {}
    for line in body.lines:
        quantities[line.product_id] = quantities.get(line.product_id, 0) + line.quantity
    try:
        customer = store.get_customer(body.customer_id)
        order, created = store.place_order(
            quantities, lambda products: build_order(body, products, customer.address), idempotency_key
        )
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    if not created:
        response.status_code = status.HTTP_200_OK
    return order


@router.get("")
def list_orders(
    store: Store,
    customer_id: str | None = None,
    status: OrderStatus | None = Query(default=None, description="1 pending, 2 paid, 3 shipped, 4 delivered, 9 cancelled"),
    page: int = Query(default=1, ge=1),
    size: int = Query(default=20, ge=1, le=100),
) -> Page[Order]:
    items, total = store.list_orders(customer_id, status, page, size)
    return Page[Order](items=items, total=total, page=page, size=size)


@router.get("/{order_id}", responses=NOT_FOUND)
def get_order(order_id: UUID, store: Store) -> Order:
    try:
        return store.get_order(order_id)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post(
    "/{order_id}/cancel",
    responses={
        **NOT_FOUND,
        403: {"model": ErrorDetail, "description": "Someone else's order"},
        409: {"model": ErrorDetail, "description": "Already shipped"},
    },
)
def cancel_order(
    order_id: UUID,
    store: Store,
    customer_id: str | None = Cookie(
        default=None, description="Set by the storefront for a signed-in shopper; staff tools send none."
    ),
) -> Order:
    # The cookie is the example's stand-in for real authentication.
    try:
        if customer_id is not None and store.get_order(order_id).customer_id != customer_id:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "You can only cancel your own orders")
        return store.cancel_order(order_id)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.post("/{order_id}/invoice", status_code=status.HTTP_201_CREATED, responses=NOT_FOUND)
def issue_invoice(order_id: UUID, billing_address: Annotated[BillingAddress, Body()], store: Store) -> Invoice:
    try:
        order = store.get_order(order_id)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    issued_at = datetime.now(UTC)
    number = store.next_invoice_number(issued_at.year)
    return Invoice.for_order(order, number, billing_address, issued_at, VAT_RATE)
