"""The database URL: read from the environment, parsed without echoing it, never shown whole.

The URL is a secret (it usually carries a password). It is read from the variable named by
``database.url_env`` at the moment it is needed, and what farmbuild prints, logs, raises or
stores is derived from :func:`redact` (``mongodb://***@localhost:27017/shop``) or
:func:`scrub` (any text with every form of the URL and its credentials replaced by ``***``).

Pure: no network, no DNS (``mongodb+srv://`` hosts are never resolved here, and never count
as local).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

SCHEMES = ("mongodb://", "mongodb+srv://")


class URLProblem(ValueError):
    """The URL is malformed. The message never contains the URL or its credentials."""


@dataclass(frozen=True)
class MongoTarget:
    """What a MongoDB URL points at, minus the credentials."""

    scheme: str  # "mongodb" or "mongodb+srv"
    hosts: tuple[str, ...]  # "host:port" / "[::1]:27017" / "/tmp/mongodb-27017.sock"
    database: str | None  # the path of the URL (the default database), if any
    has_credentials: bool

    @property
    def display(self) -> str:
        cred = "***@" if self.has_credentials else ""
        return f"{self.scheme}://{cred}{','.join(self.hosts)}/{self.database or ''}"

    def fingerprint(self) -> str:
        """A hash of where the URL points (never of its credentials), for doit's config_changed."""
        blob = json.dumps([self.scheme, list(self.hosts), self.database], separators=(",", ":"))
        return hashlib.md5(blob.encode()).hexdigest()


def read_url(env_name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The URL from the environment variable ``env_name``; None when unset or blank."""
    value = (os.environ if environ is None else environ).get(env_name, "")
    value = value.strip()
    return value or None


def _split(url: str) -> tuple[str, str, str, str]:
    """(scheme, userinfo, hostlist, rest) of a MongoDB URL."""
    for scheme in SCHEMES:
        if url.startswith(scheme):
            break
    else:
        raise URLProblem("a MongoDB URL starts with mongodb:// or mongodb+srv://")
    body = url[len(scheme):]
    # userinfo ends at the last '@' before the query (an unescaped '/' or '@' in a password
    # is still taken as part of the password, so it is never shown as a host)
    query = body.find("?")
    head = body if query < 0 else body[:query]
    at = head.rfind("@")
    userinfo, rest = (body[:at], body[at + 1:]) if at >= 0 else ("", body)
    ends = [i for i in (rest.find("/"), rest.find("?")) if i >= 0]
    end = min(ends) if ends else len(rest)
    return scheme[:-3], userinfo, rest[:end], rest[end:]


def parse_target(url: str) -> MongoTarget:
    """Where ``url`` points, without its credentials.

    >>> parse_target("mongodb://app:s3cret@localhost:27017/shop?authSource=admin").display
    'mongodb://***@localhost:27017/shop'
    """
    scheme, userinfo, hostlist, rest = _split(url)
    if not hostlist:
        raise URLProblem("the URL names no host (expected mongodb://HOST[:PORT]/DATABASE)")
    hosts = tuple(unquote(h) if h.lower().endswith(".sock") else h for h in hostlist.split(","))
    if any(not h for h in hosts):
        raise URLProblem("the URL has an empty host in its host list")
    database = None
    if rest.startswith("/"):
        path = rest[1:].split("?", 1)[0]
        database = unquote(path) or None
    return MongoTarget(scheme, hosts, database, bool(userinfo))


def _host_only(host: str) -> str:
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        return host.rsplit(":", 1)[0]
    return host


def is_local(target: MongoTarget) -> bool:
    """True when every host is this machine: localhost, a loopback address or a Unix socket.

    ``mongodb+srv://`` is never local: its hosts come from DNS.

    >>> is_local(parse_target("mongodb://127.0.0.1:27017,[::1]:27018/x"))
    True
    >>> is_local(parse_target("mongodb://db.example.com/x"))
    False
    """
    if target.scheme != "mongodb":
        return False
    for host in target.hosts:
        if host.startswith("/") and host.endswith(".sock"):
            continue
        name = _host_only(host).lower()
        if name in ("localhost", "localhost.localdomain", "ip6-localhost"):
            continue
        try:
            if ipaddress.ip_address(name).is_loopback:
                continue
        except ValueError:
            pass
        return False
    return True


def redact(url: str) -> str:
    """The URL with its credentials and options removed, fit for a message."""
    try:
        return parse_target(url).display
    except URLProblem:
        return "<the URL in the environment variable (malformed)>"


def secrets_of(url: str) -> list[str]:
    """Every substring of ``url`` that must never be shown: the URL, its userinfo, the password
    (raw, decoded, re-encoded), and its query (which may carry credentials too)."""
    try:
        _scheme, userinfo, _hosts, rest = _split(url)
    except URLProblem:
        return [url]
    # a URL without credentials (mongodb://127.0.0.1:27017) holds nothing secret: masking it would
    # only hide where farm applied the migrations
    out = {url} if userinfo or "?" in rest else set()
    if userinfo:
        out.add(userinfo)
        user, _, password = userinfo.partition(":")
        for part in (password, user if not password else ""):
            if part:
                out.update({part, unquote(part), quote(unquote(part), safe="")})
    if "?" in rest:
        query = rest.split("?", 1)[1]
        if query:
            out.add(query)
    # longest first, so the URL is replaced before its parts
    return sorted((s for s in out if len(s) >= 3), key=len, reverse=True)


def scrub(text: str, url: str | None) -> str:
    """``text`` with every secret part of ``url`` replaced by ``***``."""
    if not url:
        return text
    for secret in secrets_of(url):
        text = text.replace(secret, "***")
    return text
