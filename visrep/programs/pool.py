"""A pool of pre-forked, hardened worker processes that run validated programs.

(Over 300 lines on purpose: the parent's dispatch, deadline and replacement logic is one
state machine, read and audited as a whole.)

The executor process (the *parent*) starts ``workers`` processes once; each is forked by
the process's zygote (``visrep.programs.zygote``: a clean interpreter, so a worker holds
nothing of the executor's memory or environment) with the parent as its parent, walls
itself in (``visrep.programs.isolation``) and then serves programs one at a time over a
private socket.  The parent never trusts a worker: it enforces the wall-clock
deadline, reads at most ``MAX_FRAME_BYTES`` per message, and kills and replaces a worker
that is late, dead, over a limit or speaks out of protocol; the next program gets a fresh
worker and the pool keeps serving.

Protocol (``visrep.programs.frames``: length-prefixed JSON, never pickle, so a worker cannot
run code in the parent; the worker's side is ``visrep.programs.worker``)::

    worker -> parent  {"op": "hello", "isolation": {...}}              once, after harden
    parent -> worker  {"op": "run", "source": ..., "context": ...}    one program
    worker -> parent  {"op": "call", "request": ...}                  0..max_tool_calls
    parent -> worker  {"value": ...} | {"error": "..."}               the answer to a call
    worker -> parent  {"op": "result", "status": ..., ...}            end of the program

``call`` frames are how a program reaches tools: the pool hands each request, with the
job's ``context`` as the *parent* holds it, to ``serve`` in the parent (which computes it,
e.g. through a memo), so a worker can neither name another job's data nor touch the
tools' state.  The pool knows nothing of the visual API: ``prepare`` (run in the worker
per program) builds the program's namespace and the ``call`` that turns its globals into
plain data, given the job's context and an ``rpc`` function.

Per program a worker builds fresh globals with a fresh copy of the safe builtins; the
injected names are functions and immutable data, and the validator forbids assigning to
attributes, so a program cannot leave state for the next one.  A worker still retires
(exits; the parent replaces it) after ``recycle_after`` programs, after a ``memory``
result, and when its peak memory has grown by half of ``memory_mb``.

``run_sandboxed`` runs a single program in a one-off pool of one worker (the "fresh
process" baseline of ``bench/sandbox.py``; the executor keeps its pool).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from visrep.config import ExecutorConfig
from visrep.programs.frames import NO_FRAME, Garbled, Oversize, encode, pop_frame
from visrep.programs.records import EXEC_STATUSES, ExecResult
from visrep.programs.sandbox import SAFE_BUILTINS, one_line
from visrep.programs.validate import ProgramRejected, validate
from visrep.programs.worker import Prepare
from visrep.programs.zygote import spawn_worker
from visrep.scratch import owned_dir

MAX_SOURCE_CHARS = 64 * 1024
HELLO_TIMEOUT_S = 30.0

Serve = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Job:
    """One program to run; ``context`` is plain data that ``prepare`` and ``serve`` read."""

    source: str
    context: Any = None


class _Worker:
    __slots__ = ("pid", "sock", "isolation", "buf")

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid, self.sock, self.isolation, self.buf = pid, sock, {}, bytearray()


class _Running:
    __slots__ = ("index", "job", "start", "deadline", "calls")

    def __init__(self, index: int, job: Job, timeout_s: float) -> None:
        self.index, self.job, self.calls = index, job, 0
        self.start = time.monotonic()
        self.deadline = self.start + timeout_s


def _kill(worker: _Worker) -> int:
    """SIGKILL (if still alive) and reap; returns the wait status."""
    try:
        os.kill(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _, status = os.waitpid(worker.pid, 0)
    worker.sock.close()
    return status


def _shutdown(workers: list[_Worker], empty_dir: str, owner: int) -> None:
    if os.getpid() != owner:  # a forked copy of the pool: its workers are not ours
        return
    for worker in workers:
        try:
            _kill(worker)
        except ChildProcessError:
            pass
    workers.clear()
    shutil.rmtree(empty_dir, ignore_errors=True)


EMPTY_DIR_PREFIX = "visrep-sandbox-"  # a ``visrep.scratch`` dir: + the owner's pid + "-" + random


def _death(status: int, limits: ExecutorConfig) -> ExecResult:
    """The result of a worker that died without sending one."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return ExecResult("timeout", error=f"CPU limit of {limits.timeout_s}s exceeded")
        return ExecResult("memory", error=f"worker killed by {signal.Signals(sig).name} "
                                          f"(memory or stack limit, {limits.memory_mb} MB)")
    code = os.waitstatus_to_exitcode(status)
    return ExecResult("error", error=f"worker exited with code {code} without a result")


class WorkerPool:
    """Pre-forked sandbox workers; ``run(jobs)`` returns one ``ExecResult`` per job.

    ``names`` are the names ``prepare`` injects (for validation); ``serve(context,
    request)`` answers the tool calls of a job in the parent (None: programs get no tools).
    Use as a context manager or call ``close``; workers also die with the parent.
    """

    def __init__(self, names: Iterable[str], prepare: Prepare, serve: Serve | None,
                 limits: ExecutorConfig, workers: int | None = None) -> None:
        self.limits = limits
        self._names = set(names) | set(SAFE_BUILTINS)
        self._prepare, self._serve = prepare, serve
        self._empty_dir = owned_dir(EMPTY_DIR_PREFIX)
        os.chmod(self._empty_dir, 0o555)  # root owns it; nobody can list it, nobody can write
        self._workers: list[_Worker] = []
        self._finalizer = weakref.finalize(self, _shutdown, self._workers, self._empty_dir,
                                           os.getpid())
        self.replaced = 0  # workers killed or retired and replaced since start
        for _ in range(max(1, workers if workers is not None else limits.workers)):
            self._workers.append(self._spawn())

    # -- lifecycle --
    def _spawn(self) -> _Worker:
        pid, sock, inherits = spawn_worker(self._prepare, self.limits, self._empty_dir)
        worker = _Worker(pid, sock)
        try:
            hello = self._read_frame_blocking(worker, time.monotonic() + HELLO_TIMEOUT_S)
        except (Oversize, Garbled):
            hello = None
        if not isinstance(hello, dict) or hello.get("op") != "hello":
            status = _kill(worker)
            raise RuntimeError(f"sandbox worker failed to start: {_death(status, self.limits).error}")
        worker.isolation = {"memory": inherits, **{str(k): str(v) for k, v in dict(hello["isolation"]).items()}}
        return worker

    def _replace(self, worker: _Worker, kill: bool = True) -> None:
        if kill:
            _kill(worker)
        self._workers[self._workers.index(worker)] = self._spawn()
        self.replaced += 1

    def close(self) -> None:
        """Kill every worker and remove the empty directory (idempotent)."""
        self._finalizer()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def isolation(self) -> dict[str, str]:
        """The layers the (first) worker reported at start (see ``isolation.harden``)."""
        return dict(self._workers[0].isolation) if self._workers else {}

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers]

    # -- frames --
    def _read_frame_blocking(self, worker: _Worker, deadline: float) -> Any:
        while True:
            frame = pop_frame(worker.buf)
            if frame is not NO_FRAME:
                return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([worker.sock], [], [], remaining)[0]:
                return None
            if not self._fill(worker):
                return None

    @staticmethod
    def _fill(worker: _Worker) -> bool:
        """Read what is there; False at EOF."""
        try:
            chunk = worker.sock.recv(1 << 16)
        except OSError:
            return False
        worker.buf += chunk
        return bool(chunk)

    def _send(self, worker: _Worker, obj: Any, deadline: float) -> bool:
        try:
            worker.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            worker.sock.sendall(encode(obj))
            return True
        except OSError:
            return False
        finally:
            worker.sock.settimeout(None)

    # -- running --
    def _check(self, source: str) -> str | None:
        """The rejection message, or None when ``source`` may run."""
        if len(source) > MAX_SOURCE_CHARS:
            return f"line 1: program longer than {MAX_SOURCE_CHARS} characters"
        try:
            validate(source, self._names)
        except ProgramRejected as exc:
            return str(exc)
        return None

    def run(self, jobs: list[Job]) -> list[ExecResult]:
        """Run every job (in parallel over the workers); results in the order of ``jobs``."""
        results: list[ExecResult | None] = [None] * len(jobs)
        queue: deque[int] = deque()
        for i, job in enumerate(jobs):
            t0 = time.monotonic()
            rejected = self._check(job.source)
            if rejected is None:
                queue.append(i)
            else:
                results[i] = ExecResult("rejected", error=rejected,
                                        duration_s=time.monotonic() - t0)
        busy: dict[int, _Running] = {}  # pid -> the job it runs
        killed: set[int] = set()  # jobs whose worker was SIGKILLed from outside once (re-run)
        while queue or busy:
            for worker in [w for w in self._workers if w.pid not in busy]:
                if not queue:
                    break
                if os.waitpid(worker.pid, os.WNOHANG)[0]:  # died while idle (killed from outside)
                    worker.sock.close()
                    self._workers[self._workers.index(worker)] = self._spawn()
                    self.replaced += 1
                    continue
                index = queue.popleft()
                running = _Running(index, jobs[index], self.limits.timeout_s)
                message = {"op": "run", "source": jobs[index].source,
                           "context": jobs[index].context}
                if self._send(worker, message, running.deadline):
                    busy[worker.pid] = running
                else:  # died while idle: replace it and give the job to the next one
                    self._replace(worker)
                    queue.appendleft(index)
            if not busy:  # every free worker had to be replaced: dispatch again
                continue
            by_pid = {w.pid: w for w in self._workers}
            wait = min(r.deadline for r in busy.values()) - time.monotonic()
            socks = [by_pid[pid].sock for pid in busy]
            ready = select.select(socks, [], [], max(wait, 0.0))[0] if wait > 0 else []
            for sock in ready:
                worker = next(w for w in self._workers if w.sock is sock)
                requeue = self._on_readable(worker, busy, results, killed)
                if requeue is not None:
                    queue.appendleft(requeue)
            now = time.monotonic()
            for pid, running in list(busy.items()):
                if now >= running.deadline:
                    worker = by_pid[pid]
                    del busy[pid]
                    self._replace(worker)
                    results[running.index] = self._finish(running, ExecResult(
                        "timeout", error=f"wall-clock limit of {self.limits.timeout_s}s exceeded"))
        return [r for r in results if r is not None]

    def _finish(self, running: _Running, result: ExecResult) -> ExecResult:
        return ExecResult(result.status, result.value, result.error,
                          duration_s=time.monotonic() - running.start, api_calls=running.calls,
                          extra=result.extra)

    def _on_readable(self, worker: _Worker, busy: dict[int, _Running], results: list[ExecResult | None],
                     killed: set[int]) -> int | None:
        """Handle what ``worker`` sent; returns a job to run again: one whose worker was
        SIGKILLed from outside (an operator, the OOM killer), the first time -- the program
        is not to blame for that; a second SIGKILL is taken as its memory.  The limits this
        pool sets never SIGKILL (RLIMIT_AS fails allocations, RLIMIT_CPU sends SIGXCPU)."""
        running = busy[worker.pid]
        alive = self._fill(worker)
        try:
            while (frame := pop_frame(worker.buf)) is not NO_FRAME:
                if isinstance(frame, dict) and frame.get("op") == "call":
                    self._answer(worker, running, frame.get("request"))
                    continue
                del busy[worker.pid]
                result, retire = self._result_of(frame)
                results[running.index] = self._finish(running, result)
                if retire or worker.buf:
                    self._replace(worker)
                return None
        except (Oversize, Garbled) as exc:
            del busy[worker.pid]
            self._replace(worker)
            results[running.index] = self._finish(running, ExecResult("error", error=str(exc)))
            return None
        if not alive:
            del busy[worker.pid]
            status = _kill(worker)
            self._workers[self._workers.index(worker)] = self._spawn()
            self.replaced += 1
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL and running.index not in killed:
                killed.add(running.index)
                return running.index
            results[running.index] = self._finish(running, _death(status, self.limits))
        return None

    def _answer(self, worker: _Worker, running: _Running, request: Any) -> None:
        running.calls += 1
        if self._serve is None:
            reply: dict[str, Any] = {"error": "no tools in this sandbox"}
        elif running.calls > self.limits.max_tool_calls:
            reply = {"error": f"tool-call limit of {self.limits.max_tool_calls} exceeded"}
        else:
            try:
                reply = {"value": self._serve(running.job.context, request)}
            except Exception as exc:  # a bad request is the program's error, not ours
                reply = {"error": one_line(f"{type(exc).__name__}: {exc}")}
        self._send(worker, reply, running.deadline)  # a worker that stops reading times out

    def _result_of(self, frame: Any) -> tuple[ExecResult, bool]:
        """The worker's result frame as an ExecResult (checked: the worker is untrusted)."""
        if not isinstance(frame, dict) or frame.get("op") != "result":
            return ExecResult("error", error="worker broke the protocol"), True
        status = frame.get("status")
        if status not in EXEC_STATUSES or status == "rejected":
            return ExecResult("error", error=f"unknown status {one_line(repr(status))}"), True
        stdout = frame.get("stdout")
        extra = {"stdout": stdout} if isinstance(stdout, str) and stdout else {}
        error = frame.get("error", "")
        error = one_line(error) if isinstance(error, str) else "unreadable error"
        value = frame.get("value") if status == "ok" else None
        return ExecResult(status, value, error, extra=extra), bool(frame.get("retire", True))


def run_sandboxed(source: str, namespace: dict[str, Any], call: Callable[[dict[str, Any]], Any],
                  limits: ExecutorConfig) -> ExecResult:
    """Validate ``source`` and run it in a freshly forked, hardened worker (one-off).

    Statuses: rejected (validation), error ("ExcType: message (line N)"), timeout (wall
    clock or CPU limit), memory (MemoryError or killed by the address-space limit), ok.
    Programs get no tools here; the executor's pool serves those (``WorkerPool``).
    """
    with WorkerPool(namespace, lambda context, rpc: (namespace, call), None, limits,
                    workers=1) as pool:
        return pool.run([Job(source)])[0]
