"""Who may call the backend's dev endpoints: loopback clients, a localhost Host header, the token.

The loopback check is tested here with fake client addresses (the end-to-end test also calls a
real server through a non-loopback interface when the machine has one).
"""

from __future__ import annotations

import pytest

from farmbuild.runtime.dev import check_dev_request, is_development

TOKEN = "s3cret-token"


@pytest.mark.parametrize("client", ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"])
@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST:1"])
def test_loopback_with_a_local_host_header_and_the_token_passes(client: str, host: str) -> None:
    assert check_dev_request(client, host, TOKEN, TOKEN) is None


@pytest.mark.parametrize("client", ["10.0.0.5", "192.168.1.20", "172.17.0.1", "2001:db8::1", "::ffff:10.0.0.5",
                                    "0.0.0.0", "", None, "testclient", "localhost"])
def test_a_non_loopback_client_is_refused(client: str | None) -> None:
    assert check_dev_request(client, "localhost:8000", TOKEN, TOKEN) == \
        "the dev endpoints answer only loopback clients (127.0.0.1, ::1)"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.1.nip.io",
                                  "localhost.", "", None, "[::2]:80"])
def test_a_foreign_host_header_is_refused_dns_rebinding(host: str | None) -> None:
    reason = check_dev_request("127.0.0.1", host, TOKEN, TOKEN)
    assert reason is not None and reason.startswith("Host header not allowed")


@pytest.mark.parametrize("token", [None, "", "s3cret", "s3cret-token ", "S3CRET-TOKEN"])
def test_a_missing_or_wrong_token_is_refused(token: str | None) -> None:
    assert check_dev_request("127.0.0.1", "localhost", token, TOKEN) == "missing or wrong X-Farm-Token header"


def test_no_token_on_the_server_refuses_everything() -> None:
    reason = check_dev_request("127.0.0.1", "localhost", "anything", None)
    assert reason is not None and "farm build" in reason


@pytest.mark.parametrize(("value", "expected"), [("development", True), ("DEV", True), ("production", False),
                                                  ("", False), (None, False)])
def test_is_development(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool) -> None:
    if value is None:
        monkeypatch.delenv("FARM_ENV", raising=False)
    else:
        monkeypatch.setenv("FARM_ENV", value)
    assert is_development() is expected
