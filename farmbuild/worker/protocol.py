"""Framing between farmbuild and its worker: 4-byte big-endian length + UTF-8 JSON."""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
MAX_FRAME = 512 * 1024 * 1024


class ProtocolEOF(Exception):
    """The other side closed the pipe (the worker died)."""


class ProtocolTimeout(Exception):
    pass


def send(stream: BinaryIO, message: Any) -> None:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks = []
    while n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProtocolTimeout()
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise ProtocolTimeout()
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise ProtocolEOF()
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv(fd: int, deadline: float | None = None) -> Any:
    """Read one frame from a raw file descriptor, waiting until ``deadline`` (monotonic)."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size, deadline))
    if size > MAX_FRAME:
        raise ProtocolEOF()
    return json.loads(_read_exact(fd, size, deadline).decode("utf-8"))
