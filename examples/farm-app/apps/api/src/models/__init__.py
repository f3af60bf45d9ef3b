"""The shop's pydantic models, one module per area.

Nothing is re-exported here on purpose: each module is its own unit (farmbuild regenerates the
TypeScript of one module when only that module changes), so import from the module itself:
``from src.models.catalog import Product``.
"""
