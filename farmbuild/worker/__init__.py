"""The worker: a process that imports user code (see :mod:`.server` and :mod:`.client`)."""

from .client import Worker, close_all, shared_worker

__all__ = ["Worker", "close_all", "shared_worker"]
