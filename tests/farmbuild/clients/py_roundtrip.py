"""Round trip through the generated Python client (run by test_pyclient.py, type-checked with mypy --strict).

Usage: python py_roundtrip.py BASE_URL  → prints one JSON line with what it saw.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from harvest_market_client import ApiError, ApiValidationError, AsyncClient, Client, models

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def sync_part(base: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    with Client(base, headers={"x-test": "1"}) as api:
        created: models.Product = api.create_product(models.ProductCreate(
            name="Roundtrip Kale", category=models.Category.vegetables, unit=models.Unit.bunch,
            price=models.MoneyInput(amount="2.50"), farm="Test Farm", tags=["green", "leafy"],
        ))
        seen["created"] = created.id
        seen["price"] = created.price.display
        again = api.get_product(created.id)
        seen["read_back"] = again == created
        both = api.list_products(tags=["green", "leafy"], size=100)
        seen["listed_both"] = [p.id for p in both.items if p.id == created.id]
        neither = api.list_products(tags=["green", "no-such-tag"])
        seen["listed_wrong_tag"] = [p.id for p in neither.items]
        image = api.upload_product_image(created.id, file=("kale.png", PNG, "image/png"), alt_text="A bunch of kale")
        seen["image_alt"] = image.alt_text
        seen["image_bytes_equal"] = api.get_product_image(image.id) == PNG
        updated = api.update_product(created.id, models.ProductUpdate(stock=7))
        seen["updated_stock"] = updated.stock
        seen["updated_name_kept"] = updated.name
        try:
            api.list_products(size=1000)
        except ApiValidationError as exc:
            err: models.HTTPValidationError = exc.body
            seen["422"] = [exc.status_code, [list(d.loc) for d in err.detail or []]]
        try:
            api.get_product("no-such-product")
        except ApiError as exc:
            seen["404"] = [exc.status_code, exc.body.detail if isinstance(exc.body, models.ErrorDetail) else None]
        customer = api.create_customer(models.CustomerCreate(email="rt@example.test", name="Round Trip"))
        order = api.create_order(
            models.OrderCreate(
                customer_id=customer.field_id, lines=[models.OrderLineCreate(product_id=created.id, quantity=2)],
                payment=models.CardPayment(method="card", brand=models.Brand.visa, last4="4242"),
            ),
            idempotency_key="rt-1",
        )
        retry = api.create_order(
            models.OrderCreate(
                customer_id=customer.field_id, lines=[models.OrderLineCreate(product_id=created.id, quantity=2)],
                payment=models.CardPayment(method="card", brand=models.Brand.visa, last4="4242"),
            ),
            idempotency_key="rt-1",
        )
        assert order.id is not None  # the response schema makes it optional: it has a default
        seen["idempotent"] = retry.id == order.id
        seen["order_total"] = order.total.display
        try:
            api.cancel_order(order.id, customer_id="someone-else")
        except ApiError as exc:
            seen["403"] = exc.status_code
        seen["cancelled"] = api.cancel_order(order.id, customer_id=customer.field_id).status.name
        api.delete_product(created.id)
        try:
            api.get_product(created.id)
        except ApiError as exc:
            seen["deleted"] = exc.status_code
    return seen


async def async_part(base: str) -> dict[str, Any]:
    async with AsyncClient(base) as api:
        categories = await api.list_categories()
        models_ = await api.list_models()
        try:
            await api.list_products(page=0)
        except ApiValidationError as exc:
            return {"categories": [c.value for c in categories], "models": [m.name for m in models_], "422": exc.status_code}
    return {}


if __name__ == "__main__":
    base = sys.argv[1]
    print(json.dumps({"sync": sync_part(base), "async": asyncio.run(async_part(base))}))
