"""Running one validated program inside a worker: fresh globals, safe builtins, one result.

Layers of defence (``docs/programs.md``): the AST validator (``validate``) rejects
anything beyond plain expressions over the injected names; the program runs with a
minimal ``__builtins__`` in fresh globals; and it runs in a hardened worker process
(``isolation``) of a pre-forked pool (``pool``), so a crash, a runaway loop or a memory
bomb costs one worker, never the executor.  Workers send back JSON, never pickle, so even
a program that escaped the first layers cannot run code in the parent.

``run_program`` is what a worker does with one program (``visrep.programs.worker``).

The sandbox knows nothing about the visual API: the caller passes the ``namespace`` to
inject and ``call``, which runs inside the worker and turns the program's globals into
JSON-serialisable plain data (e.g. calls ``execute_command`` and converts its value).
"""

from __future__ import annotations
import __future__

import builtins
import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

from visrep.config import ExecutorConfig

PROGRAM_FILENAME = "<program>"
MAX_RESULT_BYTES = 1 << 20  # a program's plain value is a few boxes or scores
MAX_ERROR_CHARS = 300
SAFE_BUILTIN_NAMES = (
    "len", "range", "min", "max", "sorted", "sum", "abs", "int", "float", "str", "bool",
    "list", "dict", "set", "tuple", "enumerate", "zip", "any", "all", "round", "reversed",
    "isinstance", "print",
)
SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
# Programs are compiled with postponed annotations, inherited from nothing else: an
# annotation (ViperGPT's ``-> List[ImagePatch]``) stays a string, never evaluated, which is
# why the validator does not require its names to be defined.
COMPILE_FLAGS = __future__.annotations.compiler_flag

Setup = Callable[[], tuple[dict[str, Any], Callable[[dict[str, Any]], Any]]]


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


def one_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters (a message must not flood logs)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit - 10] + " ... [cut]"


def describe(exc: BaseException) -> str:
    """ "ExcType: message (line N)", N the deepest line of the program in the traceback.

    The message is cut to one short line, and an exception whose ``str`` itself fails (or
    is huge) cannot disguise itself: the type name always comes from the type.
    """
    lines = [line for frame, line in traceback.walk_tb(exc.__traceback__)
             if frame.f_code.co_filename == PROGRAM_FILENAME]
    where = f" (line {lines[-1]})" if lines else ""
    try:
        message = str(exc)[: MAX_ERROR_CHARS * 4]
    except BaseException:  # a message that raises is reported, not re-raised
        message = "<message could not be printed>"
    name = type(exc).__name__
    text = one_line(f"{name}: {message}" if message else name, MAX_ERROR_CHARS - len(where))
    return text + where


def _plain(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` if it is JSON of at most MAX_RESULT_BYTES, else an error payload."""
    try:
        size = len(json.dumps(payload))
    except (TypeError, ValueError, RecursionError) as exc:
        return {"status": "error", "error": one_line(f"result is not plain data: {exc}"),
                "stdout": payload.get("stdout", "")}
    if size > MAX_RESULT_BYTES:
        return {"status": "error", "error": f"result too large ({size} bytes > "
                                            f"{MAX_RESULT_BYTES})"}
    return payload


def run_program(source: str, setup: Setup, limits: ExecutorConfig) -> dict[str, Any]:
    """Run ``source`` here (in a worker) and return its result payload, never raising.

    ``setup()`` gives the names to inject and the ``call`` that computes the plain value
    from the program's globals.  The payload holds status (ok/error/memory), value, a
    one-line error and the captured (capped) stdout.
    """
    out = _CappedText(limits.max_output_chars)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out
    try:
        try:
            namespace, call = setup()
            env = {**namespace, "__builtins__": dict(SAFE_BUILTINS)}
            exec(compile(source, PROGRAM_FILENAME, "exec", flags=COMPILE_FLAGS, dont_inherit=True), env)
            payload: dict[str, Any] = {"status": "ok", "value": call(env)}
        except MemoryError:  # no traceback walk: memory may still be exhausted here
            payload = {"status": "memory",
                       "error": f"MemoryError: memory limit of {limits.memory_mb} MB exceeded"}
        except BaseException as exc:  # the program's failure is data, not ours
            payload = {"status": "error", "error": describe(exc)}
        payload["stdout"] = out.text()
        return _plain(payload)
    except MemoryError:  # even the report did not fit
        return {"status": "memory",
                "error": f"MemoryError: memory limit of {limits.memory_mb} MB exceeded"}
    finally:
        sys.stdout, sys.stderr = saved
