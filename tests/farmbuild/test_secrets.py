"""farmbuild.secrets: what counts as a secret, how it is masked, when a write is refused."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from farmbuild import secrets
from farmbuild.config import FarmConfig
from farmbuild.errors import SecretInOutputError, UserCodeError
from farmbuild.fsutil import write_if_changed

URL = "mongodb://app:p%40ss-w0rd!@127.0.0.1:27017/shop?authSource=admin"
KEY = "sk-test-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    secrets.forget_all()
    yield
    secrets.forget_all()


def config() -> FarmConfig:
    return FarmConfig.model_validate({
        "database": {"url_env": "SHOP_DB"},
        "ai": {"providers": {"cloud": {"type": "openai", "api_key_env": "SHOP_KEY"}, "openai": {}}},
    })


def test_sources_are_the_variables_the_config_names() -> None:
    assert secrets.sources(config()) == {"SHOP_DB": "database.url_env", "SHOP_KEY": "ai.providers.cloud.api_key_env",
                                         "OPENAI_API_KEY": "ai.providers.openai.api_key_env"}


def test_every_form_of_the_password_is_masked() -> None:
    secrets.remember(config(), {"SHOP_DB": URL, "SHOP_KEY": KEY})
    for text in (URL, "p%40ss-w0rd!", "p@ss-w0rd!", KEY, '{"e": "' + URL + '"}'):
        scrubbed = secrets.scrub(f"before {text} after")
        assert "w0rd" not in scrubbed and KEY not in scrubbed and "***" in scrubbed, scrubbed
        assert scrubbed.startswith("before ") and scrubbed.endswith(" after")
    assert secrets.scrub("mongodb at 127.0.0.1:27017") == "mongodb at 127.0.0.1:27017"


def test_short_or_missing_values_are_not_secrets() -> None:
    secrets.remember(config(), {"SHOP_KEY": "abc"})
    assert secrets.scrub("abc abc") == "abc abc"
    assert secrets.found_in(b"abc") is None


def test_found_in_names_the_variable() -> None:
    secrets.remember(config(), {"SHOP_DB": URL, "SHOP_KEY": KEY})
    assert secrets.found_in(f"default = '{KEY}'") == "SHOP_KEY"
    assert secrets.found_in(b"password p@ss-w0rd! here") == "SHOP_DB"
    assert secrets.found_in(b"authSource=admin") is None  # not a secret by itself


def test_errors_and_streams_are_scrubbed() -> None:
    secrets.remember(config(), {"SHOP_KEY": KEY})
    err = UserCodeError(f"ValueError: bad key {KEY!r}", file="a.py", line=3)
    secrets.scrub_error(err)
    assert KEY not in str(err) and KEY not in err.problem and "a.py:3" in str(err)
    out = io.StringIO()
    secrets.ScrubbingStream(out).write(f"key={KEY}\n")
    assert out.getvalue() == "key=***\n"


def test_the_write_helper_refuses_a_secret(tmp_path: Path) -> None:
    secrets.remember(config(), {"SHOP_KEY": KEY})
    with pytest.raises(SecretInOutputError) as info:
        write_if_changed(tmp_path, tmp_path / "gen" / "x.ts", f"export const k = '{KEY}';\n")
    assert "gen/x.ts" in str(info.value) and "SHOP_KEY" in str(info.value) and KEY not in str(info.value)
    assert not (tmp_path / "gen" / "x.ts").exists()
