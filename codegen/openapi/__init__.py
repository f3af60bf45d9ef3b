"""OpenAPI documents: merging per-route-module fragments into the app's document."""

from .merge import FragmentError, merge

__all__ = ["FragmentError", "merge"]
