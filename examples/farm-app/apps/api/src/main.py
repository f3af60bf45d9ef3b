"""Harvest Market's FastAPI app: ``uvicorn src.main:app`` from apps/api."""

import logging
import os

from fastapi import FastAPI
from farmbuild.runtime import PluginHost, dev_router, is_development

from src import farm_plugins
from src.ai.registry import PROJECT_ROOT, registry
from src.routes import assistant, catalog, customers, orders, reviews

logger = logging.getLogger(__name__)

app = FastAPI(
    title="Harvest Market API",
    version="0.1.0",
    description="Produce from local farms: catalogue, orders, customers, reviews and a shop assistant.",
)

app.include_router(catalog.router, prefix="/api/catalog")
app.include_router(orders.router, prefix="/api/orders")
app.include_router(customers.router, prefix="/api/customers")
app.include_router(reviews.router, prefix="/api/reviews")
app.include_router(assistant.router, prefix="/api/assistant")

# plugins/*/plugin.json, through the registry `farm build` generates (src/farm_plugins.py);
# each plugin's router is mounted under its prefix, e.g. /api/plugins/wishlist
plugins = PluginHost(app, farm_plugins)
plugins.mount_all()

if is_development():
    # /__farm/*: farm build/watch hot-swap the AI models and reload plugins in this process.
    # Loopback, localhost Host header and the .farm/dev-token token only; not in /openapi.json.
    app.include_router(dev_router(ai=registry, plugins=plugins, project_root=PROJECT_ROOT))

if os.environ.get("MONGODB_URL"):
    # Never log the URL itself: it usually carries a password.
    logger.warning("MONGODB_URL is set, but this example keeps its data in memory (see src/store.py)")


@app.get("/api/health", tags=["health"])
def health() -> dict[str, str]:
    return {"status": "ok"}
