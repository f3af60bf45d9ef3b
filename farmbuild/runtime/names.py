"""Model names (no dependencies: used by the config, the build side and the runtime)."""

from __future__ import annotations


def canonical_ollama_name(name: str) -> str:
    """Ollama's canonical name: a missing tag means ``:latest``.

    >>> canonical_ollama_name("llama3.2"), canonical_ollama_name("hf.co/org/m:Q4"), canonical_ollama_name("host:5000/ns/m")
    ('llama3.2:latest', 'hf.co/org/m:Q4', 'host:5000/ns/m:latest')
    """
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"
