"""The catalogue: browse, manage and illustrate products."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Response, UploadFile, status

from src.models.catalog import Category, Product, ProductCreate, ProductImage, ProductUpdate
from src.models.common import ErrorDetail, Page
from src.store import MemoryStore, NotFoundError, get_store

router = APIRouter(tags=["catalog"])

Store = Annotated[MemoryStore, Depends(get_store)]
NOT_FOUND = {404: {"model": ErrorDetail, "description": "No product with that id"}}
MAX_IMAGE_BYTES = 2 * 1024 * 1024


@router.get("/categories")
def list_categories() -> list[Category]:
    return list(Category)


@router.get("/products")
def list_products(
    store: Store,
    category: Category | None = None,
    tags: list[str] = Query(default=[], description="Only products with every one of these tags."),
    q: str | None = Query(default=None, max_length=100, description="Words in the name or description."),
    page: int = Query(default=1, ge=1),
    size: int = Query(default=20, ge=1, le=100),
) -> Page[Product]:
    items, total = store.list_products(category, tags, q, page, size)
    return Page[Product](items=items, total=total, page=page, size=size)


@router.get("/products/{product_id}", responses=NOT_FOUND)
def get_product(product_id: str, store: Store) -> Product:
    try:
        return store.get_product(product_id)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post("/products", status_code=status.HTTP_201_CREATED)
def create_product(body: ProductCreate, store: Store) -> Product:
    return store.add_product(body)


@router.patch("/products/{product_id}", responses=NOT_FOUND)
def update_product(product_id: str, body: ProductUpdate, store: Store) -> Product:
    try:
        return store.update_product(product_id, body)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_product(product_id: str, store: Store) -> None:
    try:
        store.delete_product(product_id)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post(
    "/products/{product_id}/images",
    status_code=status.HTTP_201_CREATED,
    responses={**NOT_FOUND, 413: {"model": ErrorDetail}, 415: {"model": ErrorDetail}},
)
def upload_product_image(
    product_id: str,
    store: Store,
    file: UploadFile = File(description="A JPEG, PNG or WebP photo, at most 2 MiB."),
    alt_text: str = Form(max_length=200),
) -> ProductImage:
    if file.content_type not in ("image/jpeg", "image/png", "image/webp"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"Unsupported image type {file.content_type!r}")
    data = file.file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "Images may be at most 2 MiB")
    try:
        return store.add_image(product_id, data, file.content_type, alt_text)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.get(
    "/images/{image_id}",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}}, 404: {"model": ErrorDetail}},
)
def get_product_image(image_id: str, store: Store) -> Response:
    try:
        data, content_type = store.get_image(image_id)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return Response(data, media_type=content_type, headers={"Cache-Control": "public, max-age=86400"})
