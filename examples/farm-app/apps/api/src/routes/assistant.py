"""The shop assistant's chat endpoint, backed by farmbuild's AI registry (farm.toml ``[ai]``).

When no model can answer — nothing configured, Ollama not running, a provider error — the
assistant says so plainly and echoes the question, answering as the built-in ``echo`` model, so
the shop stays usable and nobody mistakes the fallback for a model's answer.
"""

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from farmbuild.runtime import AIError, ModelNotFound

from src.ai.prompts import with_system_prompt
from src.ai.registry import registry
from src.models.assistant import ChatMessage, ChatRequest, ChatResponse, ModelInfo
from src.store import MemoryStore, get_store

logger = logging.getLogger(__name__)

router = APIRouter(tags=["assistant"])

Store = Annotated[MemoryStore, Depends(get_store)]

FALLBACK_MODEL = ModelInfo(name="echo", provider="builtin", default=True, available=True)


def fallback_reply(messages: list[ChatMessage], reason: str) -> ChatResponse:
    """The honest answer when no model can reply: why, and the question echoed back."""
    question = next((m.content for m in reversed(messages) if m.role == "user"), "")
    content = (
        f"I can't answer properly right now: {reason}. "
        f'You asked: "{question.strip()[:500]}". Start Ollama (see farm.toml) to talk to a real model.'
    )
    return ChatResponse(message=ChatMessage(role="assistant", content=content),
                        model=FALLBACK_MODEL.name, provider=FALLBACK_MODEL.provider)


def complete_chat(messages: list[ChatMessage], model: str | None, temperature: float) -> ChatResponse:
    """Answer with ``model`` (or the configured default); fall back to ``echo`` when it cannot answer."""
    try:
        client = registry.get(model)
    except ModelNotFound as exc:
        if model is not None and model != FALLBACK_MODEL.name:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        return fallback_reply(messages, "no model is configured in farm.toml [ai.providers]")
    try:
        reply = client.chat(messages, temperature=temperature)
    except AIError as exc:
        logger.warning("assistant: %s/%s could not answer: %s", client.provider, client.model, exc)
        return fallback_reply(messages, f"the model {client.provider}/{client.model} is unavailable ({exc})")
    return ChatResponse(message=ChatMessage(role="assistant", content=reply.content),
                        model=reply.model, provider=reply.provider)


@router.post("/chat", responses={404: {"description": "The requested model is not configured"}})
def chat(body: ChatRequest, store: Store) -> ChatResponse:
    messages = with_system_prompt(body.messages, store.products.values())
    return complete_chat(messages, body.model, body.temperature)


@router.get("/models")
def list_models() -> list[ModelInfo]:
    """The configured models (``available``: the provider has it right now), or ``echo`` when none is."""
    models = registry.models()
    if not models:
        return [FALLBACK_MODEL]
    present = registry.available()
    return [ModelInfo(name=m.name, provider=m.provider, default=m.default, available=present.get(m.id, False))
            for m in models]
