from __future__ import annotations

import pytest

from farmbuild.db.url import URLProblem, is_local, parse_target, read_url, redact, scrub, secrets_of

CANARY = "Canary-Pw-7f3a9"


@pytest.mark.parametrize("url, local", [
    ("mongodb://localhost", True),
    ("mongodb://localhost:27017/shop", True),
    ("mongodb://127.0.0.1:27017", True),
    ("mongodb://127.8.9.10", True),
    ("mongodb://[::1]:27017/x", True),
    ("mongodb://app:pw@localhost:27017,127.0.0.1:27018/x?replicaSet=rs0", True),
    ("mongodb://%2Ftmp%2Fmongodb-27017.sock/x", True),
    ("mongodb://LOCALHOST:27017", True),
    ("mongodb://db.example.com:27017/x", False),
    ("mongodb://localhost:27017,db.example.com:27017/x", False),  # one remote member is enough
    ("mongodb://10.0.0.5/x", False),
    ("mongodb://localhost.evil.com/x", False),
    ("mongodb://127.0.0.1.nip.io/x", False),
    ("mongodb+srv://app:pw@cluster0.abcd.mongodb.net/x", False),  # DNS decides the hosts: never local
    ("mongodb+srv://localhost/x", False),
])
def test_only_this_machine_counts_as_local(url: str, local: bool) -> None:
    assert is_local(parse_target(url)) is local


def test_target_keeps_no_credentials() -> None:
    t = parse_target(f"mongodb://app:{CANARY}@localhost:27017/shop?authSource=admin&tls=false")
    assert t.hosts == ("localhost:27017",)
    assert t.database == "shop"
    assert t.has_credentials
    assert CANARY not in repr(t) and CANARY not in t.display and CANARY not in t.fingerprint()
    assert t.display == "mongodb://***@localhost:27017/shop"


def test_a_password_with_reserved_characters_is_never_taken_for_a_host() -> None:
    url = f"mongodb://app:{CANARY}/x@y@localhost:27017/shop"
    t = parse_target(url)
    assert t.hosts == ("localhost:27017",)
    assert CANARY not in redact(url)


@pytest.mark.parametrize("url", [f"postgres://u:{CANARY}@localhost/x", "mongodb://", f"mongodb://u:{CANARY}@/x",
                                 f"mongodb://u:{CANARY}@a,,b/x"])
def test_malformed_urls_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(URLProblem) as info:
        parse_target(url)
    assert CANARY not in str(info.value)
    assert CANARY not in redact(url)


def test_scrub_removes_every_form_of_the_secret() -> None:
    url = f"mongodb://app:{CANARY}%21@localhost:27017/shop?authSource=admin"
    text = f"failed: {url}; password {CANARY}!; encoded {CANARY}%21; userinfo app:{CANARY}%21"
    cleaned = scrub(text, url)
    assert CANARY not in cleaned
    assert cleaned.startswith("failed: ***;")
    assert all(s not in cleaned for s in secrets_of(url))


def test_read_url_treats_blank_as_unset() -> None:
    assert read_url("X", {"X": "  "}) is None
    assert read_url("X", {}) is None
    assert read_url("X", {"X": " mongodb://localhost "}) == "mongodb://localhost"
