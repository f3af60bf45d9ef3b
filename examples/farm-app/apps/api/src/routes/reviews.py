"""Product reviews and the threads of replies under them."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from src.models.common import ErrorDetail
from src.models.reviews import ProductReviews, ReplyCreate, Review, ReviewCreate
from src.store import MemoryStore, NotFoundError, get_store

router = APIRouter(tags=["reviews"])

Store = Annotated[MemoryStore, Depends(get_store)]
NOT_FOUND = {404: {"model": ErrorDetail}}


@router.get("/products/{product_id}", responses=NOT_FOUND)
def list_product_reviews(product_id: str, store: Store) -> ProductReviews:
    try:
        product = store.get_product(product_id)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    reviews = store.reviews_for(product_id)
    ratings = [r.rating for r in reviews if r.rating is not None]
    average = round(sum(ratings) / len(ratings), 2) if ratings else None
    return ProductReviews(product=product, average_rating=average, review_count=len(reviews), reviews=reviews)


@router.post("", status_code=status.HTTP_201_CREATED, responses=NOT_FOUND)
def create_review(body: ReviewCreate, store: Store) -> Review:
    try:
        return store.add_review(body)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post("/{review_id}/replies", status_code=status.HTTP_201_CREATED, responses=NOT_FOUND)
def reply_to_review(review_id: str, body: ReplyCreate, store: Store) -> Review:
    try:
        return store.add_reply(review_id, body)
    except NotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
