"""The shop assistant: a chat about produce, recipes and orders."""

from typing import Literal

from pydantic import BaseModel, Field


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=8000)


class ChatRequest(BaseModel):
    """A conversation so far; the assistant answers its last message."""

    messages: list[ChatMessage] = Field(min_length=1, max_length=50)
    model: str | None = Field(default=None, description="Omitted means the configured default model.")
    temperature: float = Field(default=0.7, ge=0, le=2)


class ChatResponse(BaseModel):
    message: ChatMessage
    model: str
    provider: str


class ModelInfo(BaseModel):
    """A model the assistant can answer with."""

    name: str
    provider: str
    default: bool = False
    available: bool = True
