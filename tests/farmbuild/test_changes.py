"""The change analyzer is a pure function of the path: parametrized, no disk."""

from __future__ import annotations

import pytest

from farmbuild.changes import ChangeKind, Layout, changed_sections, classify
from farmbuild.config import FarmConfig

K = ChangeKind


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("apps/api/src/models/catalog.py", K.BACKEND_MODEL),
        ("apps/api/src/models/billing/invoice.py", K.BACKEND_MODEL),
        ("apps/api/src/routes/orders.py", K.BACKEND_ROUTE),
        ("apps/api/src/main.py", K.BACKEND_SOURCE),
        ("apps/api/src/store.py", K.BACKEND_SOURCE),
        # the original design tested apps/api/src/*.py first, so ai-config never fired
        ("apps/api/src/ai/providers.py", K.AI_CONFIG),
        ("apps/api/src/ai/__init__.py", K.AI_CONFIG),
        ("apps/web/src/components/ProductCard.tsx", K.FRONTEND_COMPONENT),
        ("apps/web/src/pages/ChatPage.tsx", K.FRONTEND_PAGE),
        ("apps/web/src/hooks/useCart.ts", K.FRONTEND_HOOK),
        ("apps/web/src/main.tsx", K.FRONTEND_SOURCE),
        ("apps/web/src/lib/http.ts", K.FRONTEND_SOURCE),
        ("farm.toml", K.FARM_CONFIG),
        ("pyproject.toml", K.FARM_CONFIG),
        ("apps/web/vite.config.ts", K.VITE_CONFIG),
        ("apps/web/vite.config.mjs", K.VITE_CONFIG),
        ("apps/api/migrations/0001_products_create.json", K.DATABASE_MIGRATION),
        ("plugins/wishlist/plugin.json", K.PLUGIN_CONFIG),
        ("plugins/wishlist/backend/router.py", K.PLUGIN_CONFIG),
        ("apps/web/src/styles.css", K.STYLE),
        ("apps/web/src/theme.scss", K.STYLE),
        ("apps/web/public/logo.svg", K.ASSET),
        ("apps/web/src/assets/hero.PNG", K.ASSET),
        ("README.md", K.UNKNOWN),
        ("apps/api/migrations/notes.txt", K.UNKNOWN),
        ("apps/api/src/models/README.md", K.UNKNOWN),
        ("apps/web/vite.config.ts.bak", K.UNKNOWN),
        ("apps/web/nested/vite.config.ts", K.UNKNOWN),
    ],
)
def test_default_layout(path: str, kind: ChangeKind) -> None:
    assert classify(path) is kind


def test_layout_from_config_follows_custom_dirs() -> None:
    cfg = FarmConfig.model_validate({
        "backend": {"root": "server", "models": ["app/schemas"], "routes": ["app/api"], "ai": "app/llm"},
        "frontend": {"root": "client", "src": "source"},
        "database": {"migrations": "db/migrations"},
        "plugins": {"dirs": ["extensions"]},
    })
    layout = Layout.from_config(cfg, "farm.toml")
    assert classify("server/app/schemas/user.py", layout) is K.BACKEND_MODEL
    assert classify("server/app/api/users.py", layout) is K.BACKEND_ROUTE
    assert classify("server/app/llm/chat.py", layout) is K.AI_CONFIG
    assert classify("server/app/main.py", layout) is K.BACKEND_SOURCE
    assert classify("client/source/components/X.tsx", layout) is K.FRONTEND_COMPONENT
    assert classify("client/vite.config.ts", layout) is K.VITE_CONFIG
    assert classify("db/migrations/0001_x.json", layout) is K.DATABASE_MIGRATION
    assert classify("extensions/a/plugin.json", layout) is K.PLUGIN_CONFIG
    assert classify("apps/api/src/models/x.py", layout) is K.UNKNOWN
    # only the config file actually in use counts as farm-config
    assert classify("pyproject.toml", layout) is K.UNKNOWN


def test_windows_separators_are_normalised() -> None:
    assert classify("apps\\api\\src\\models\\catalog.py") is K.BACKEND_MODEL


@pytest.mark.parametrize(
    ("old", "new", "depth", "expected"),
    [
        ({}, {}, 2, set()),
        ({"ai": {"providers": {}}}, {"ai": {"providers": {"o": {"url": "x"}}}}, 2, {"ai.providers"}),
        ({"ai": {"providers": {}}}, {"ai": {"providers": {"o": {}}}}, 1, {"ai"}),
        ({"development": {"hot_reload": {"debounce_ms": 100}}},
         {"development": {"hot_reload": {"debounce_ms": 50}}, "database": {"name": "x"}}, 2,
         {"development.hot_reload", "database"}),
        ({"frontend": {"root": "a"}}, {}, 2, {"frontend"}),
    ],
)
def test_changed_sections(old: dict, new: dict, depth: int, expected: set[str]) -> None:
    assert changed_sections(old, new, depth=depth) == expected
