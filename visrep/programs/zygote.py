"""A clean process that forks the sandbox's workers, so a worker inherits nothing of the executor.

A worker forked straight from the executor holds a copy of everything the executor holds:
Ray's auth token and session state, credentials in its environment, the tasks and their
annotations.  The walls keep a program from sending any of it anywhere but its own answer,
which is still a channel.  So workers are forked from a *zygote* instead: a fresh
interpreter (``sys.executable -m visrep.programs.zygote``) started once per process, with
an environment of nothing but ``PATH``, the locale and ``visrep.DEFAULT_ENV``, that has
read only what a spawn request sent it.  It does not import torch (``visrep`` skips its
torchvision fix there): a worker needs none of it, and the zygote starts in a fraction of
a second.

Protocol on its control socket (both ends are ours; no program ever runs in the zygote)::

    pool   -> zygote   length (4 bytes) + cloudpickle of (sys.path, cloudpickle of
                       (prepare, limits, empty_dir))
    zygote -> pool     the worker's pid (8 bytes), its socket end as SCM_RIGHTS
                       (pid -1 and a message when the request could not be served)

``prepare`` is pickled by reference when importable (the executor's is), by value when not
(a test's closure); the zygote extends its ``sys.path`` with the pool's to import it.

The worker is made with ``clone(CLONE_PARENT)``: its parent is the pool's process, not the
zygote, so the pool waits for it, kills it and reads its exit status exactly as for a fork
of its own, and it dies with that process (``PR_SET_PDEATHSIG`` in ``harden``).  The raw
syscall skips CPython's after-fork hooks, which repair the state of other threads and
their locks: the zygote has no other thread and holds no lock but the GIL, which it keeps
across the call (a ``ctypes.PyDLL`` handle does not release it).
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import socket
import struct
import subprocess
import sys
import threading
from typing import Any

_LENGTH = struct.Struct("!I")
_PID = struct.Struct("!q")
_CLONE_PARENT = 0x00008000
_PR_SET_PDEATHSIG = 1
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}
SPAWN_TIMEOUT_S = 120.0  # the first request imports prepare's module
_KEPT_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR")


def _clean_env() -> dict[str, str]:
    from visrep import DEFAULT_ENV, ZYGOTE_ENV

    env = {key: os.environ[key] for key in _KEPT_ENV if key in os.environ}
    return {**env, **DEFAULT_ENV, "OMP_NUM_THREADS": "1", ZYGOTE_ENV: "1"}


class Zygote:
    """The pool's side: starts the zygote process and asks it for workers."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "visrep.programs.zygote", str(os.getpid()), str(theirs.fileno())],
            pass_fds=[theirs.fileno()], env=_clean_env(), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, cwd="/")
        theirs.close()
        self._sock = ours
        self._sock.settimeout(SPAWN_TIMEOUT_S)
        self._lock = threading.Lock()

    def spawn(self, prepare: Any, limits: Any, empty_dir: str) -> tuple[int, socket.socket]:
        """A new worker: (its pid, the pool's end of its socket); RuntimeError if it failed."""
        import cloudpickle

        inner = cloudpickle.dumps((prepare, limits, empty_dir))  # loaded once the path is extended
        payload = cloudpickle.dumps(([os.path.abspath(p) for p in sys.path], inner))
        with self._lock:
            self._sock.sendall(_LENGTH.pack(len(payload)) + payload)
            data, fds, _, _ = socket.recv_fds(self._sock, 4096, 1)
        if len(data) < _PID.size:
            raise ConnectionError("sandbox zygote exited (see its message above)")
        (pid,) = _PID.unpack_from(data)
        if pid < 0 or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise RuntimeError(f"sandbox zygote could not start a worker: {data[_PID.size:].decode()}")
        return pid, socket.socket(fileno=fds[0])

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self._sock.close()
        self.process.kill()
        self.process.wait()


_ZYGOTE: tuple[int, Zygote | OSError] | None = None
_ZYGOTE_LOCK = threading.Lock()
CLEAN = "nothing of the executor (forked by a clean zygote)"


def _zygote() -> Zygote | OSError:
    """This process's zygote (started on first use, again if it died or the process
    forked), or why it cannot start (remembered: the interpreter is not executable)."""
    global _ZYGOTE
    with _ZYGOTE_LOCK:
        current = None if _ZYGOTE is None or _ZYGOTE[0] != os.getpid() else _ZYGOTE[1]
        if current is None or (isinstance(current, Zygote) and not current.alive()):
            try:
                current = Zygote()
            except OSError as exc:
                current = exc
            _ZYGOTE = (os.getpid(), current)
        return current


def spawn_worker(prepare: Any, limits: Any, empty_dir: str) -> tuple[int, socket.socket, str]:
    """A new worker: (pid, the pool's end of its socket, what its memory inherits).

    From the zygote; where this process cannot start one (its user cannot execute the
    interpreter, as after a uid drop), forked from this process, and the third item says so.
    """
    from visrep.programs.worker import worker_main

    found = _zygote()
    if isinstance(found, Zygote):
        try:
            return (*found.spawn(prepare, limits, empty_dir), CLEAN)
        except OSError:
            if found.alive():
                raise
            found = _zygote()  # it died (killed from outside): a new one, once
            if isinstance(found, Zygote):
                return (*found.spawn(prepare, limits, empty_dir), CLEAN)
    ours, theirs = socket.socketpair()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (the child never returns)
        try:
            ours.close()
            worker_main(theirs.fileno(), empty_dir, prepare, limits)
        finally:
            os._exit(1)
    theirs.close()
    return pid, ours, f"the executor's memory (no zygote: {found.strerror or found})"


# -- the zygote process --
def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _clone_parent() -> int:
    """fork(), but the child's parent is this process's parent (see the module's doc)."""
    number = _SYS_CLONE.get(platform.machine())
    if number is None:
        raise OSError(f"no clone syscall number for {platform.machine()}")
    libc = ctypes.PyDLL(None, use_errno=True)
    pid = libc.syscall(ctypes.c_long(number), ctypes.c_ulong(_CLONE_PARENT | signal.SIGCHLD),
                       None, None, None, None)
    if pid < 0:
        raise OSError(ctypes.get_errno(), "clone(CLONE_PARENT) failed")
    return int(pid)


def _serve(control: socket.socket) -> None:
    import cloudpickle

    from visrep.programs.worker import worker_main

    while True:
        header = _recv_exact(control, _LENGTH.size)
        payload = None if header is None else _recv_exact(control, _LENGTH.unpack(header)[0])
        if payload is None:
            return
        try:
            path, inner = cloudpickle.loads(payload)
            sys.path.extend(p for p in path if p not in sys.path)
            prepare, limits, empty_dir = cloudpickle.loads(inner)
            ours, theirs = socket.socketpair()
            pid = _clone_parent()
        except Exception as exc:  # told to the pool, which raises it
            control.sendall(_PID.pack(-1) + f"{type(exc).__name__}: {exc}"[:2000].encode())
            continue
        if pid == 0:  # the worker
            control.close()
            ours.close()
            worker_main(theirs.fileno(), empty_dir, prepare, limits)
        theirs.close()
        socket.send_fds(control, [_PID.pack(pid)], [ours.fileno()])
        ours.close()


def main(argv: list[str]) -> None:
    """``python -m visrep.programs.zygote PARENT_PID CONTROL_FD``: serve until EOF."""
    parent, fd = int(argv[0]), int(argv[1])
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the pool's process died before we got here
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is the pool's process's to handle
    _serve(socket.socket(fileno=fd))


if __name__ == "__main__":
    main(sys.argv[1:])
    os._exit(0)
