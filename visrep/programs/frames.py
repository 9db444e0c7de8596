"""The sandbox's wire format: length-prefixed JSON frames, never pickle.

A frame is a 4-byte big-endian length and that many bytes of JSON, so a worker can send
only data: even a program that escaped every other wall cannot make the parent run code.
A worker reads the parent's frames with ``recv_frame`` (the parent is trusted); the parent
reads a worker's with ``pop_frame`` from a buffer it fills itself, and treats a frame over
``MAX_FRAME_BYTES`` or one that is not JSON as a broken worker.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

from visrep.programs.sandbox import MAX_RESULT_BYTES

MAX_FRAME_BYTES = MAX_RESULT_BYTES + 64 * 1024  # a result, its stdout and JSON overhead
HEADER = struct.Struct(">I")
NO_FRAME = object()  # "no complete frame yet"


class Oversize(Exception):
    """A worker announced a frame over ``MAX_FRAME_BYTES``."""

    def __init__(self, size: int) -> None:
        super().__init__(f"message from the worker too large ({size} bytes > {MAX_FRAME_BYTES})")


class Garbled(Exception):
    """A worker sent a frame that is not JSON."""


def encode(obj: Any) -> bytes:
    """``obj`` as one frame."""
    data = json.dumps(obj).encode()
    return HEADER.pack(len(data)) + data


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    parts, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def recv_frame(sock: socket.socket) -> Any:
    """One frame from the parent (trusted), or None at EOF."""
    header = _recv_exact(sock, HEADER.size)
    if header is None:
        return None
    data = _recv_exact(sock, HEADER.unpack(header)[0])
    return None if data is None else json.loads(data)


def pop_frame(buf: bytearray) -> Any:
    """The next complete frame taken from ``buf``, ``NO_FRAME`` if incomplete; raises
    Oversize or Garbled (the worker is untrusted)."""
    if len(buf) < HEADER.size:
        return NO_FRAME
    (size,) = HEADER.unpack_from(buf)
    if size > MAX_FRAME_BYTES:
        raise Oversize(size)
    if len(buf) < HEADER.size + size:
        return NO_FRAME
    data = bytes(buf[HEADER.size:HEADER.size + size])
    del buf[:HEADER.size + size]
    try:
        return json.loads(data)
    except ValueError:
        raise Garbled(f"unreadable frame ({size} bytes)") from None
