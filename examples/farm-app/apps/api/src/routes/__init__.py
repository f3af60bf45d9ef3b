"""One APIRouter per area; ``src.main`` mounts each under its ``/api/<area>`` prefix."""
