"""What a program that escaped the validator could do in a worker.

``main()`` (run by ``test_os_wall.py`` in its own process; given a UID as the process's
first argument, root drops to it first, after the imports: the interpreter may live where
that uid cannot read) listens on a TCP port
of 127.0.0.1, starts a one-worker ``WorkerPool`` whose ``prepare`` -- code that runs in the
hardened worker, as an escaped program would -- tries raw syscalls through ctypes (numbers
resolved by libseccomp for this architecture), and prints one JSON object: the worker's
isolation report, each attempt's outcome (``allowed`` or the errno name), whether the
listener saw a connection, and the control: some of the same calls made by the probe
process itself, unhardened.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import select
import socket
import sys
from typing import Any

from visrep.config import ExecutorConfig
from visrep.programs.pool import Job, WorkerPool

_LIBC = ctypes.CDLL(None, use_errno=True)
_NAMES = ("io_uring_setup", "socket", "connect", "openat", "tgkill", "kill", "prlimit64", "fcntl",
          "execve", "clone", "ptrace", "bpf", "perf_event_open", "userfaultfd", "process_vm_readv",
          "unshare", "setns")


def _numbers() -> dict[str, int]:
    """Syscall numbers of this architecture, resolved before the fork (libseccomp)."""
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    return {name: lib.seccomp_syscall_resolve_name(name.encode()) for name in _NAMES}


def _attempt(number: int, *args: Any) -> str:
    ctypes.set_errno(0)
    result = _LIBC.syscall(ctypes.c_long(number), *args)
    return "allowed" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


def _probe(context: dict[str, Any], rpc: Any) -> tuple[dict[str, Any], Any]:
    """Runs inside the hardened worker: every attempt an escaped program could make."""
    n, parent, port = context["numbers"], context["parent"], context["port"]
    params = ctypes.create_string_buffer(120)  # struct io_uring_params
    address = ctypes.create_string_buffer(socket.inet_aton("127.0.0.1").rjust(8, b"\0"), 16)
    address[0:2] = (socket.AF_INET).to_bytes(2, sys.byteorder)
    address[2:4] = port.to_bytes(2, "big")
    limit = (ctypes.c_uint64 * 2)(1 << 30, 1 << 30)
    outcomes = {
        "io_uring_setup": _attempt(n["io_uring_setup"], 8, params),
        "socket": _attempt(n["socket"], socket.AF_INET, socket.SOCK_STREAM, 0),
        "connect (fd 3 is the worker's own socket)": _attempt(n["connect"], 3, address, 16),
        "openat /etc/passwd": _attempt(n["openat"], -100, b"/etc/passwd", os.O_RDONLY),
        "tgkill the executor": _attempt(n["tgkill"], parent, parent, 0),
        "kill the executor": _attempt(n["kill"], parent, 0),
        "prlimit64 the executor": _attempt(n["prlimit64"], parent, 0, limit, None),
        "fcntl F_SETOWN (SIGIO to the executor)": _attempt(n["fcntl"], 3, 8, parent),
        "execve /bin/true": _attempt(n["execve"], b"/bin/true", None, None),
        "clone": _attempt(n["clone"], 17, None, None, None, None),
        "ptrace the executor": _attempt(n["ptrace"], 16, parent, None, None),
        "bpf": _attempt(n["bpf"], 0, None, 0),
        "perf_event_open": _attempt(n["perf_event_open"], None, 0, -1, -1, 0),
        "userfaultfd": _attempt(n["userfaultfd"], 0),
        "process_vm_readv the executor": _attempt(n["process_vm_readv"], parent, None, 0, None, 0, 0),
        "unshare": _attempt(n["unshare"], 0x10000000),
        "setns": _attempt(n["setns"], 3, 0),
    }
    try:
        with socket.socket() as sock:
            sock.connect(("127.0.0.1", port))
        outcomes["python socket connect"] = "allowed"
    except OSError as exc:
        outcomes["python socket connect"] = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    try:
        with open("/etc/passwd") as f:
            f.read()
        outcomes["python open /etc/passwd"] = "allowed"
    except OSError as exc:
        outcomes["python open /etc/passwd"] = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return {}, lambda env: outcomes


def _control(numbers: dict[str, int]) -> dict[str, str]:
    """The same raw calls in this (unhardened) process: they work here, so an EPERM in the
    worker is the wall's doing."""
    params = ctypes.create_string_buffer(120)
    outcomes: dict[str, str] = {}
    for name, args in (("io_uring_setup", (8, params)), ("socket", (socket.AF_INET, socket.SOCK_STREAM, 0)),
                       ("openat", (-100, b"/etc/passwd", os.O_RDONLY))):
        ctypes.set_errno(0)
        fd = _LIBC.syscall(ctypes.c_long(numbers[name]), *args)
        outcomes[name] = "allowed" if fd >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
        if fd >= 0:
            os.close(fd)
    return outcomes


def main() -> None:
    if len(sys.argv) > 1 and int(sys.argv[1]) != os.geteuid():
        uid = int(sys.argv[1])
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    limits = ExecutorConfig(timeout_s=5.0, memory_mb=256, workers=1)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        context = {"numbers": _numbers(), "parent": os.getpid(), "port": listener.getsockname()[1]}
        control = _control(context["numbers"])
        with WorkerPool([], _probe, None, limits, workers=1) as pool:
            isolation = pool.isolation
            (result,) = pool.run([Job("def execute_command(image):\n    return 1\n", context)])
        connected = bool(select.select([listener], [], [], 0.5)[0])
    print(json.dumps({"uid": os.geteuid(), "isolation": isolation, "status": result.status,
                      "error": result.error, "outcomes": result.value, "connected": connected,
                      "control": control}))


