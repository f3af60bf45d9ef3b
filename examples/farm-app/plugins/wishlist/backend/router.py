"""The wishlist's API. Self-contained: a plugin cannot assume the host app's modules.

farmbuild's plugin registry mounts ``router`` (under ``/api/plugins/wishlist``) and can reload it
in a running backend. Lists live in memory, keyed by customer id.
"""

import threading
from datetime import UTC, datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

router = APIRouter(tags=["wishlist"])

_lock = threading.Lock()
_wishlists: dict[str, dict[str, "WishlistItem"]] = {}


class WishlistItemCreate(BaseModel):
    product_id: str = Field(min_length=1, max_length=120)
    note: str | None = Field(default=None, max_length=200)


class WishlistItem(WishlistItemCreate):
    added_at: datetime


@router.get("/{customer_id}")
def list_wishlist(customer_id: str) -> list[WishlistItem]:
    with _lock:
        items = list(_wishlists.get(customer_id, {}).values())
    return sorted(items, key=lambda item: item.added_at)


@router.post("/{customer_id}", status_code=status.HTTP_201_CREATED)
def add_to_wishlist(customer_id: str, body: WishlistItemCreate, response: Response) -> WishlistItem:
    """Add a product; adding one that is already listed returns the existing entry (200)."""
    with _lock:
        items = _wishlists.setdefault(customer_id, {})
        if body.product_id in items:
            response.status_code = status.HTTP_200_OK
            return items[body.product_id]
        item = WishlistItem(**body.model_dump(), added_at=datetime.now(UTC))
        items[body.product_id] = item
        return item


@router.delete("/{customer_id}/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_from_wishlist(customer_id: str, product_id: str) -> None:
    with _lock:
        _wishlists.get(customer_id, {}).pop(product_id, None)
