"""The shop assistant's chat endpoint.

No model provider is wired in yet, so ``complete_chat`` answers with a deterministic fallback.
It is the one function to replace when the app talks to a model (farmbuild's AI registry).
"""

from typing import Annotated

from fastapi import APIRouter, Depends

from src.ai.prompts import with_system_prompt
from src.models.assistant import ChatMessage, ChatRequest, ChatResponse, ModelInfo
from src.store import MemoryStore, get_store

router = APIRouter(tags=["assistant"])

Store = Annotated[MemoryStore, Depends(get_store)]

FALLBACK_MODEL = ModelInfo(name="echo", provider="builtin", default=True, available=True)


def complete_chat(messages: list[ChatMessage], model: str, temperature: float) -> ChatMessage:
    """Answer the conversation. For now: say that no model is configured, and echo the question."""
    question = next((m.content for m in reversed(messages) if m.role == "user"), "")
    return ChatMessage(
        role="assistant",
        content=(
            "No model provider is configured, so I can't answer properly yet. "
            f'You asked: "{question.strip()}". Start Ollama (see farm.toml) to talk to a real model.'
        ),
    )


@router.post("/chat")
def chat(body: ChatRequest, store: Store) -> ChatResponse:
    messages = with_system_prompt(body.messages, store.products.values())
    model = body.model or FALLBACK_MODEL.name
    reply = complete_chat(messages, model, body.temperature)
    return ChatResponse(message=reply, model=model, provider=FALLBACK_MODEL.provider)


@router.get("/models")
def list_models() -> list[ModelInfo]:
    return [FALLBACK_MODEL]
