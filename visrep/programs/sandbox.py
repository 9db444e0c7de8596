"""Run one validated program in a forked child with CPU, memory and wall-clock limits.

Layers of defence: the AST validator (``validate``) rejects anything beyond plain
expressions over the injected names; the program then runs with a minimal
``__builtins__``; and it runs in a child process, so a crash, a runaway loop or a memory
bomb costs one child, never the executor.  The child inherits the parent's memory by
``fork`` (the backend needs no pickling) and sends back JSON, never pickle, so even a
program that escaped the first two layers cannot run code in the parent.

The sandbox knows nothing about the visual API: the caller passes the ``namespace`` to
inject and ``call``, which runs inside the child and turns the program's globals into
JSON-serialisable plain data (e.g. calls ``execute_command`` and converts its value).

Fork-per-run caveat: forking a process that runs other threads (torch intra-op pools, Ray)
is only safe because the child runs pure Python; a pre-forked pool will replace this and
keep ``run_sandboxed``'s interface.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import resource
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from visrep.config import ExecutorConfig
from visrep.programs.records import EXEC_STATUSES, ExecResult
from visrep.programs.validate import ProgramRejected, validate

PROGRAM_FILENAME = "<program>"
MAX_RESULT_BYTES = 1 << 20  # a program's plain value is a few boxes or scores
SAFE_BUILTIN_NAMES = (
    "len", "range", "min", "max", "sorted", "sum", "abs", "int", "float", "str", "bool",
    "list", "dict", "set", "tuple", "enumerate", "zip", "any", "all", "round", "reversed",
    "isinstance", "print",
)
SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}


class _CappedText:
    """A stdout that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap, self.parts, self.kept, self.dropped = cap, [], 0, 0

    def write(self, text: str) -> int:
        room = max(self.cap - self.kept, 0)
        self.parts.append(text[:room])
        self.kept += min(len(text), room)
        self.dropped += max(len(text) - room, 0)
        return len(text)

    def flush(self) -> None:
        """Nothing to flush; present because print(flush=True) calls it."""

    def text(self) -> str:
        tail = f"\n[... {self.dropped} characters dropped]" if self.dropped else ""
        return "".join(self.parts) + tail


def _describe(exc: BaseException) -> str:
    """ "ExcType: message (line N)", N the deepest line of the program in the traceback."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if f.filename == PROGRAM_FILENAME]
    where = f" (line {lines[-1]})" if lines else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _apply_limits(limits: ExecutorConfig) -> None:
    """CPU seconds from the timeout; address space = what the fork inherited + memory_mb.

    The inherited part is counted because the parent (torch, a backend model) may map
    gigabytes already; the program's budget is the headroom above that.
    """
    cpu = math.ceil(limits.timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    with open("/proc/self/statm") as f:
        inherited = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = inherited + limits.memory_mb * (1 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _error_payload(message: str) -> bytes:
    return json.dumps({"status": "error", "error": message}).encode()


def _run_child(source: str, namespace: dict[str, Any], call: Callable[[dict[str, Any]], Any],
               limits: ExecutorConfig, fd: int) -> NoReturn:
    """Child side: limit, run, write one JSON payload to ``fd``, exit without cleanup.

    Exit code 0 means a payload was written; anything else reaches the parent as an error.
    """
    code = 1
    try:
        out = _CappedText(limits.max_output_chars)
        sys.stdout = sys.stderr = out
        try:
            _apply_limits(limits)
            env = {"__builtins__": dict(SAFE_BUILTINS), **namespace}
            exec(compile(source, PROGRAM_FILENAME, "exec"), env)
            payload = {"status": "ok", "value": call(env)}
        except MemoryError:  # no traceback walk: memory may still be exhausted here
            payload = {"status": "memory",
                       "error": f"MemoryError: memory limit of {limits.memory_mb} MB exceeded"}
        except BaseException as exc:  # the program's failure is data, not ours
            payload = {"status": "error", "error": _describe(exc)}
        payload["stdout"] = out.text()
        try:
            data = json.dumps(payload).encode()
        except (TypeError, ValueError) as exc:
            data = _error_payload(f"result is not plain data: {exc}")
        if len(data) > MAX_RESULT_BYTES:
            data = _error_payload(f"result too large ({len(data)} bytes)")
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)


def _read_until(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Read ``fd`` to EOF or until ``deadline``; returns (data, timed_out)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return b"".join(chunks), True
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), False
        size += len(chunk)
        if size <= MAX_RESULT_BYTES + 4096:
            chunks.append(chunk)


def _from_payload(data: bytes, wait_status: int, limits: ExecutorConfig) -> ExecResult:
    """Map what the child sent (or how it died) to an ExecResult."""
    if data:
        try:
            payload = json.loads(data)
            status = payload["status"]
        except (ValueError, KeyError, TypeError):
            return ExecResult("error", error=f"unreadable result ({len(data)} bytes)")
        if status not in EXEC_STATUSES:
            return ExecResult("error", error=f"unknown status {status!r} from the child")
        extra = {"stdout": payload["stdout"]} if payload.get("stdout") else {}
        return ExecResult(status, payload.get("value"), payload.get("error", ""), extra=extra)
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        if sig == signal.SIGXCPU:
            return ExecResult("timeout", error=f"CPU limit of {limits.timeout_s}s exceeded")
        return ExecResult("memory", error=f"killed by {signal.Signals(sig).name} "
                                          f"(most likely the {limits.memory_mb} MB limit)")
    return ExecResult("error", error=f"exited with code {os.waitstatus_to_exitcode(wait_status)} "
                                     "without a result")


def run_sandboxed(source: str, namespace: dict[str, Any], call: Callable[[dict[str, Any]], Any],
                  limits: ExecutorConfig) -> ExecResult:
    """Validate ``source``, run it in a forked child, and return what ``call`` computed.

    Statuses: rejected (validation), error ("ExcType: message (line N)"), timeout (wall
    clock or CPU limit), memory (MemoryError or killed by the address-space limit), ok.
    """
    start = time.monotonic()
    try:
        validate(source, set(namespace) | set(SAFE_BUILTINS))
    except ProgramRejected as exc:
        return ExecResult("rejected", error=str(exc), duration_s=time.monotonic() - start)
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _run_child(source, namespace, call, limits, write_fd)
    os.close(write_fd)
    try:
        data, timed_out = _read_until(read_fd, start + limits.timeout_s)
    finally:
        os.close(read_fd)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, wait_status = os.waitpid(pid, 0)
    if timed_out:
        result = ExecResult("timeout", error=f"wall-clock limit of {limits.timeout_s}s exceeded")
    else:
        result = _from_payload(data, wait_status, limits)
    return ExecResult(result.status, result.value, result.error,
                      duration_s=time.monotonic() - start, extra=result.extra)
