"""Customer accounts."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from src.models.common import ErrorDetail, Page
from src.models.customers import Customer, CustomerCreate
from src.store import ConflictError, MemoryStore, NotFoundError, get_store

router = APIRouter(tags=["customers"])

Store = Annotated[MemoryStore, Depends(get_store)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorDetail, "description": "Email already registered"}},
)
def create_customer(body: CustomerCreate, store: Store) -> Customer:
    try:
        return store.add_customer(body)
    except ConflictError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


@router.get("")
def list_customers(
    store: Store, page: int = Query(default=1, ge=1), size: int = Query(default=20, ge=1, le=100)
) -> Page[Customer]:
    items, total = store.list_customers(page, size)
    return Page[Customer](items=items, total=total, page=page, size=size)


@router.get("/{customer_id}", responses={404: {"model": ErrorDetail}})
def get_customer(customer_id: str, store: Store) -> Customer:
    try:
        return store.get_customer(customer_id)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
