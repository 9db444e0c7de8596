"""A sandbox worker's side of the pool: harden, greet, then run programs one at a time.

Runs in the forked child of ``visrep.programs.pool.WorkerPool`` and never returns.  Right
after the fork it walls itself in (``visrep.programs.isolation``), says hello with the
layers it got, and serves ``run`` frames until EOF or retirement: after
``recycle_after`` programs, after a ``memory`` result, or when its peak memory has grown by
half of ``memory_mb``.  A program reaches tools only through ``rpc``, a ``call`` frame the
parent answers (``CallRefused`` when it refuses; the executor's side of the tools turns
that into the visual API's ``ToolError``, so the worker knows nothing of tools).
"""

from __future__ import annotations

import gc
import os
import resource
import socket
from collections.abc import Callable
from typing import Any, NoReturn

from visrep.config import ExecutorConfig
from visrep.programs import isolation
from visrep.programs.frames import encode, recv_frame
from visrep.programs.sandbox import run_program

Rpc = Callable[[Any], Any]
Prepare = Callable[[Any, Rpc], tuple[dict[str, Any], Callable[[dict[str, Any]], Any]]]


class CallRefused(RuntimeError):
    """A call the parent refused or that failed there (the message says why)."""


def worker_main(sock_fd: int, empty_dir: str, prepare: Prepare,
                limits: ExecutorConfig) -> NoReturn:
    """Harden, greet, then run programs until EOF or retirement; never returns."""
    try:
        gc.freeze()  # what the fork inherited is never collected here (no stray finalizers)
        report = isolation.harden(sock_fd, empty_dir, limits.memory_mb)
        sock = socket.socket(fileno=isolation.WORKER_FD)
        sock.sendall(encode({"op": "hello", "isolation": report}))
        peak0 = _peak_kib()
        for served in range(1, limits.recycle_after + 1):
            request = recv_frame(sock)
            if request is None:
                break
            payload = _serve_one(sock, request, prepare, limits)
            grew = _peak_kib() - peak0 > limits.memory_mb * 512
            payload["retire"] = (payload["status"] == "memory" or grew
                                 or served == limits.recycle_after)
            sock.sendall(encode(payload))
            if payload["retire"]:
                break
    finally:
        os._exit(0)


def _peak_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _serve_one(sock: socket.socket, request: dict[str, Any], prepare: Prepare,
               limits: ExecutorConfig) -> dict[str, Any]:
    """Run one program; the payload of its ``result`` frame (JSON-safe, size-capped)."""
    isolation.set_cpu_budget(limits.timeout_s)

    def rpc(call: Any) -> Any:
        sock.sendall(encode({"op": "call", "request": call}))
        reply = recv_frame(sock)
        if reply is None:
            raise CallRefused("the executor went away")
        if "error" in reply:
            raise CallRefused(reply["error"])
        return reply["value"]

    def setup() -> tuple[dict[str, Any], Callable[[dict[str, Any]], Any]]:
        return prepare(request["context"], rpc)

    return {"op": "result", **run_program(request["source"], setup, limits)}
