"""System prompts for the shop assistant."""

from collections.abc import Iterable

from src.models.assistant import ChatMessage
from src.models.catalog import Product

SHOP_ASSISTANT_PROMPT = """\
You are the assistant of Harvest Market, an online shop selling produce from local farms.
Help shoppers choose produce, suggest seasonal recipes that use what is in stock, and answer
questions about orders and delivery. Be brief and friendly. Never invent products, prices or
stock levels: use only the catalogue below. If you do not know, say so and suggest contacting
the shop at hello@harvest-market.example.
"""


def catalogue_context(products: Iterable[Product]) -> str:
    """One line per product in stock, for the model to ground its answers on."""
    lines = [
        f"- {p.name} ({p.category.value}, {p.farm}): {p.price.display} per {p.unit.value}"
        + (", organic" if p.organic else "")
        for p in sorted(products, key=lambda p: p.name)
        if p.stock > 0
    ]
    return "Catalogue:\n" + ("\n".join(lines) if lines else "(nothing in stock)")


def with_system_prompt(messages: list[ChatMessage], products: Iterable[Product]) -> list[ChatMessage]:
    """The conversation as sent to a model: the shop's system prompt first, the client's own dropped.

    Clients may not set the system prompt, so a shopper cannot talk the assistant out of its role.
    """
    system = ChatMessage(role="system", content=f"{SHOP_ASSISTANT_PROMPT}\n{catalogue_context(products)}")
    return [system, *(m for m in messages if m.role != "system")]
