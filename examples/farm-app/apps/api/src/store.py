"""In-memory storage for the shop, so the example runs with nothing else installed.

Each dict below stands in for one MongoDB collection (the ``Settings.name`` of its document model)
and enforces what the collection's indexes would, e.g. the unique customer email. A real deployment
sets ``MONGODB_URL`` and swaps this class for one backed by MongoDB with the same methods; the
routes only see it through ``get_store``, a FastAPI dependency, so tests can override it too.

Every method takes the one lock: FastAPI runs the sync endpoints in a thread pool.
"""

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count
from uuid import UUID

from src.models.catalog import Category, Product, ProductCreate, ProductImage, ProductUpdate, Unit
from src.models.common import Address, Money
from src.models.customers import Customer, CustomerCreate
from src.models.orders import Order, OrderStatus
from src.models.reviews import ReplyCreate, Review, ReviewCreate


class StoreError(Exception):
    """Base of the store's errors; routes turn them into HTTP status codes."""


class NotFoundError(StoreError):
    pass


class ConflictError(StoreError):
    pass


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "product"


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.products: dict[str, Product] = {}
        self.customers: dict[str, Customer] = {}
        self.orders: dict[UUID, Order] = {}
        self.reviews: dict[str, Review] = {}
        self.images: dict[str, tuple[bytes, str]] = {}
        self._orders_by_idempotency_key: dict[str, UUID] = {}
        self._ids = {kind: count(1) for kind in ("customer", "review", "image", "invoice")}

    def _next_id(self, kind: str, prefix: str) -> str:
        return f"{prefix}_{next(self._ids[kind]):04d}"

    # -- products -------------------------------------------------------------------------

    def list_products(
        self, category: Category | None, tags: list[str], search: str | None, page: int, size: int
    ) -> tuple[list[Product], int]:
        with self._lock:
            matches = [
                p
                for p in self.products.values()
                if (category is None or p.category == category)
                and all(tag in p.tags for tag in tags)
                and (not search or search.lower() in f"{p.name} {p.description}".lower())
            ]
        matches.sort(key=lambda p: p.name)
        start = (page - 1) * size
        return matches[start : start + size], len(matches)

    def get_product(self, product_id: str) -> Product:
        with self._lock:
            if product_id not in self.products:
                raise NotFoundError(f"Product {product_id!r} not found")
            return self.products[product_id].model_copy(deep=True)

    def add_product(self, data: ProductCreate, created_at: datetime | None = None) -> Product:
        with self._lock:
            slug = base = slugify(data.name)
            suffix = 2
            while slug in self.products:
                slug, suffix = f"{base}-{suffix}", suffix + 1
            product = Product(id=slug, created_at=created_at or _now(), **data.model_dump())
            self.products[slug] = product
            return product.model_copy(deep=True)

    def update_product(self, product_id: str, changes: ProductUpdate) -> Product:
        with self._lock:
            current = self.get_product(product_id)
            updated = Product.model_validate(current.model_dump() | changes.model_dump(exclude_unset=True))
            self.products[product_id] = updated
            return updated.model_copy(deep=True)

    def delete_product(self, product_id: str) -> None:
        with self._lock:
            if self.products.pop(product_id, None) is None:
                raise NotFoundError(f"Product {product_id!r} not found")

    def add_image(self, product_id: str, data: bytes, content_type: str, alt_text: str) -> ProductImage:
        with self._lock:
            product = self.products.get(product_id)
            if product is None:
                raise NotFoundError(f"Product {product_id!r} not found")
            image_id = self._next_id("image", "img")
            image = ProductImage(
                id=image_id, url=f"/api/catalog/images/{image_id}", alt_text=alt_text, content_type=content_type
            )
            self.images[image_id] = (data, content_type)
            product.images.append(image)
            return image

    def get_image(self, image_id: str) -> tuple[bytes, str]:
        with self._lock:
            if image_id not in self.images:
                raise NotFoundError(f"Image {image_id!r} not found")
            return self.images[image_id]

    # -- customers ------------------------------------------------------------------------

    def add_customer(self, data: CustomerCreate, created_at: datetime | None = None) -> Customer:
        with self._lock:
            email = data.email.lower()
            # The `customers_email_unique` index, done by hand.
            if any(c.email == email for c in self.customers.values()):
                raise ConflictError(f"A customer with email {email!r} already exists")
            customer = Customer(
                id=self._next_id("customer", "cus"),
                created_at=created_at or _now(),
                **(data.model_dump() | {"email": email}),
            )
            self.customers[customer.id] = customer
            return customer.model_copy(deep=True)

    def get_customer(self, customer_id: str) -> Customer:
        with self._lock:
            if customer_id not in self.customers:
                raise NotFoundError(f"Customer {customer_id!r} not found")
            return self.customers[customer_id].model_copy(deep=True)

    def list_customers(self, page: int, size: int) -> tuple[list[Customer], int]:
        with self._lock:
            customers = sorted(self.customers.values(), key=lambda c: c.id)
        start = (page - 1) * size
        return customers[start : start + size], len(customers)

    # -- orders ---------------------------------------------------------------------------

    def place_order(
        self,
        quantities: dict[str, int],
        build: Callable[[dict[str, Product]], Order],
        idempotency_key: str | None = None,
    ) -> tuple[Order, bool]:
        """Reserve stock and save the order ``build`` makes, atomically.

        Returns the order and whether it is new: a retried request with the same idempotency key
        gets the first order back instead of buying twice.
        """
        with self._lock:
            if idempotency_key and idempotency_key in self._orders_by_idempotency_key:
                return self.orders[self._orders_by_idempotency_key[idempotency_key]].model_copy(deep=True), False
            products = {product_id: self.get_product(product_id) for product_id in quantities}
            for product_id, quantity in quantities.items():
                if products[product_id].stock < quantity:
                    raise ConflictError(f"Only {products[product_id].stock} of {product_id!r} left in stock")
            order = build(products)
            for product_id, quantity in quantities.items():
                self.products[product_id].stock -= quantity
            self.orders[order.id] = order
            if idempotency_key:
                self._orders_by_idempotency_key[idempotency_key] = order.id
            return order.model_copy(deep=True), True

    def get_order(self, order_id: UUID) -> Order:
        with self._lock:
            if order_id not in self.orders:
                raise NotFoundError(f"Order {order_id} not found")
            return self.orders[order_id].model_copy(deep=True)

    def list_orders(
        self, customer_id: str | None, status: OrderStatus | None, page: int, size: int
    ) -> tuple[list[Order], int]:
        with self._lock:
            matches = [
                o
                for o in self.orders.values()
                if (customer_id is None or o.customer_id == customer_id) and (status is None or o.status == status)
            ]
            matches = [o.model_copy(deep=True) for o in matches]
        matches.sort(key=lambda o: o.created_at, reverse=True)
        start = (page - 1) * size
        return matches[start : start + size], len(matches)

    def cancel_order(self, order_id: UUID) -> Order:
        """Cancel an order that has not left the farm yet, and put its stock back."""
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise NotFoundError(f"Order {order_id} not found")
            if order.status not in (OrderStatus.pending, OrderStatus.paid):
                raise ConflictError(f"Order {order_id} is {order.status.name} and can no longer be cancelled")
            order.status = OrderStatus.cancelled
            for line in order.lines:
                if line.product_id in self.products:
                    self.products[line.product_id].stock += line.quantity
            return order.model_copy(deep=True)

    def next_invoice_number(self, year: int) -> str:
        with self._lock:
            return f"HM-{year}-{next(self._ids['invoice']):05d}"

    # -- reviews --------------------------------------------------------------------------

    def add_review(self, data: ReviewCreate, created_at: datetime | None = None) -> Review:
        with self._lock:
            self.get_product(data.product_id)
            review = Review(id=self._next_id("review", "rev"), created_at=created_at or _now(), **data.model_dump())
            self.reviews[review.id] = review
            return review.model_copy(deep=True)

    def add_reply(self, review_id: str, data: ReplyCreate, created_at: datetime | None = None) -> Review:
        """Reply to a review or to a reply, at any depth."""
        with self._lock:
            parent = self._find_review(review_id, list(self.reviews.values()))
            if parent is None:
                raise NotFoundError(f"Review {review_id!r} not found")
            reply = Review(
                id=self._next_id("review", "rev"),
                product_id=parent.product_id,
                created_at=created_at or _now(),
                **data.model_dump(),
            )
            parent.replies.append(reply)
            return reply.model_copy(deep=True)

    def _find_review(self, review_id: str, reviews: list[Review]) -> Review | None:
        for review in reviews:
            if review.id == review_id:
                return review
            found = self._find_review(review_id, review.replies)
            if found is not None:
                return found
        return None

    def reviews_for(self, product_id: str) -> list[Review]:
        with self._lock:
            reviews = [r.model_copy(deep=True) for r in self.reviews.values() if r.product_id == product_id]
        return sorted(reviews, key=lambda r: r.created_at, reverse=True)


def _seed(store: MemoryStore) -> None:
    """A few farms' worth of produce, two customers and some reviews, with fixed dates."""
    day = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    eur = lambda amount: Money(amount=Decimal(amount))  # noqa: E731
    products = [
        ("Heirloom tomatoes", Category.vegetables, Unit.kilogram, "6.40", 40, "De Groene Akker", True, ["summer", "salad"]),
        ("Rainbow carrots", Category.vegetables, Unit.bunch, "2.75", 60, "De Groene Akker", True, ["roots"]),
        ("Elstar apples", Category.fruit, Unit.kilogram, "3.20", 120, "Fruitteelt Van Dijk", False, ["autumn"]),
        ("Conference pears", Category.fruit, Unit.kilogram, "3.60", 80, "Fruitteelt Van Dijk", False, ["autumn"]),
        ("Raw milk Gouda, aged 12 months", Category.dairy, Unit.kilogram, "24.90", 15, "Kaasboerderij Hoeve", False, ["cheese"]),
        ("Free-range eggs", Category.eggs, Unit.dozen, "4.50", 50, "Hof ter Linde", True, ["breakfast"]),
        ("Sourdough spelt loaf", Category.bakery, Unit.piece, "5.25", 20, "Bakkerij Korenbloem", True, ["breakfast"]),
        ("Heather honey", Category.pantry, Unit.jar, "8.95", 30, "Imkerij De Veluwe", False, ["sweet", "gift"]),
    ]
    for name, category, unit, price, stock, farm, organic, tags in products:
        data = ProductCreate(
            name=name, category=category, unit=unit, price=eur(price), stock=stock, farm=farm, organic=organic, tags=tags
        )
        store.add_product(data, created_at=day)
    ada = store.add_customer(
        CustomerCreate(
            email="ada@example.org",
            name="Ada de Vries",
            address=Address(recipient="Ada de Vries", street="Lindengracht 12", postal_code="1015 KM", city="Amsterdam"),
            two_factor=True,
            newsletter=True,
        ),
        created_at=day,
    )
    store.add_customer(CustomerCreate(email="joris@example.org", name="Joris Bakker"), created_at=day)
    review = store.add_review(
        ReviewCreate(product_id="heirloom-tomatoes", author="Ada", rating=5, body="They taste like tomatoes used to."),
        created_at=day,
    )
    store.reviews[review.id].verified_purchase = True
    store.add_reply(
        review.id, ReplyCreate(author="De Groene Akker", body="Thank you! The last ones of the season are in."), created_at=day
    )
    store.add_review(
        ReviewCreate(product_id="heather-honey", author=ada.name, rating=4, body="Strong and floral; great on yoghurt."),
        created_at=day,
    )


_store = MemoryStore()
_seed(_store)


def get_store() -> MemoryStore:
    """FastAPI dependency: the store the routes read and write."""
    return _store
