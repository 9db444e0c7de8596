"""The operating-system walls a sandbox worker puts up around itself right after the fork.

``harden`` runs once in each freshly forked worker, before it reads any program, and
returns which layers took effect (the pool reports them; ``docs/programs.md`` explains
each).  In order:

1. file descriptors: 0/1/2 point at /dev/null, the worker's socket becomes fd 3, every
   other inherited descriptor is closed (the executor's files, Ray's sockets, other
   workers' pipes);
2. the network: the worker moves into a network namespace of its own, which has no
   interface but a loopback that is down (as root directly; otherwise inside a new user
   namespace, where the kernel allows unprivileged ones), so no address is reachable
   even through a syscall seccomp does not know;
3. the filesystem: the worker changes into an empty directory and ``chroot``s there (as
   root, or with the user namespace's capability), so no path names any file;
4. privileges: as root it drops to uid/gid 65534 (nobody) with no supplementary groups;
5. resource limits: no core files, ``RLIMIT_FSIZE`` 0 (no file can grow), ``RLIMIT_NOFILE``
   4 (fds 0-3 are taken, so no new file, socket or pipe can be opened),
   ``RLIMIT_AS`` = what the fork inherited + ``memory_mb``, and ``RLIMIT_NPROC`` 0
   (no fork, no thread) -- the kernel ignores ``RLIMIT_NPROC`` for root, hence step 4
   and step 6;
6. seccomp (when libseccomp is installed): an allow-list.  Only the syscalls a worker
   running a program needs (``SECCOMP_ALLOWED``: reading and writing the descriptors it
   has, memory, time, its own signal mask and limits, exit) are allowed, some only with
   the arguments it uses (``SECCOMP_ALLOWED_IF``); every other syscall -- ``open*``,
   ``socket``, ``io_uring_*``, ``kill``/``tgkill``, ``clone``, ``execve``, ``ptrace``,
   ``bpf`` and whatever the kernel adds next -- fails with EPERM, whatever the uid.
   Syscalls of another ABI (32-bit ``int 0x80``) kill the worker.

A program reaches none of this through the language (imports and underscores are
rejected); these layers are for the program that finds a hole in the validator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import resource
import signal

WORKER_FD = 3  # the worker's socket after ``harden``; fds 0-2 are /dev/null
NOBODY = 65534
# What a worker does once hardened (checked with strace on the hostile and benign corpus):
# I/O on fds 0-3, memory, time, its signal handlers and mask, exit.  fstat is newfstatat
# in glibc (and statx elsewhere); with the chroot no path names a file.
SECCOMP_ALLOWED = (
    "read", "write", "readv", "writev", "close", "lseek", "fstat", "newfstatat", "statx",
    "recvfrom", "sendto", "recvmsg", "sendmsg", "shutdown", "getsockname", "getpeername",
    "getsockopt", "poll", "ppoll", "select",
    "pselect6", "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex",
    "sched_yield", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
    "restart_syscall", "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep",
    "clock_nanosleep", "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid",
    "getrusage", "getrandom", "exit", "exit_group",
)
# Allowed only when argument ``index`` equals one of ``values``: its own limits (pid 0;
# another pid of the same uid would be changed too), and fcntl's flag calls (F_SETOWN
# would let SIGIO signal another process).
SECCOMP_ALLOWED_IF: dict[str, tuple[int, tuple[int, ...]]] = {
    "prlimit64": (0, (0,)),
    "fcntl": (1, (fcntl.F_GETFD, fcntl.F_SETFD, fcntl.F_GETFL, fcntl.F_SETFL)),
}
_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_ACT_ERRNO_EPERM = 0x00050000 | errno.EPERM
_SCMP_CMP_EQ = 4
_PR_SET_PDEATHSIG = 1
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000


class _ArgCmp(ctypes.Structure):
    """libseccomp's ``struct scmp_arg_cmp``."""

    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def _load_libseccomp() -> ctypes.CDLL | None:
    """libseccomp via ctypes, loaded in the parent (the hardened worker cannot open it)."""
    name = ctypes.util.find_library("seccomp")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


_LIBSECCOMP = _load_libseccomp()
_LIBC = ctypes.CDLL(None, use_errno=True)


def _seccomp() -> str:
    """Install the allow-list filter; the result says whether it is on and why not."""
    lib = _LIBSECCOMP
    if lib is None:
        return "off (libseccomp not found)"
    ctx = lib.seccomp_init(_SCMP_ACT_ERRNO_EPERM)
    if not ctx:
        return "off (seccomp_init failed)"
    try:
        rules = [(name, None) for name in SECCOMP_ALLOWED]
        rules += [(name, (index, value)) for name, (index, values) in SECCOMP_ALLOWED_IF.items()
                  for value in values]
        for name, cond in rules:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:  # not a syscall on this architecture (e.g. ``time`` on arm64)
                continue
            args = (_ArgCmp * 1)(_ArgCmp(cond[0], _SCMP_CMP_EQ, cond[1], 0)) if cond else None
            if lib.seccomp_rule_add_array(ctx, _SCMP_ACT_ALLOW, number, 1 if cond else 0, args) != 0:
                return f"off (rule for {name} failed)"
        if lib.seccomp_load(ctx) != 0:
            return "off (seccomp_load failed)"
    finally:
        lib.seccomp_release(ctx)
    return f"on (allow-list of {len(SECCOMP_ALLOWED) + len(SECCOMP_ALLOWED_IF)} syscalls)"


def _network(root: bool) -> str:
    """Move into a network namespace of its own (before the chroot: the kernel refuses a
    new user namespace to a chrooted process); the result names what took effect."""
    flags = _CLONE_NEWNET if root else _CLONE_NEWUSER | _CLONE_NEWNET
    if _LIBC.unshare(flags) == 0:
        return "own namespace (no interface up)" + ("" if root else ", in a user namespace")
    return f"shared with the executor (unshare: {os.strerror(ctypes.get_errno())})"


def _descriptors(sock_fd: int) -> None:
    """0/1/2 -> /dev/null, ``sock_fd`` -> fd 3, everything else closed."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd != null:
            os.dup2(null, fd)
    if sock_fd != WORKER_FD:
        os.dup2(sock_fd, WORKER_FD)
    os.set_inheritable(WORKER_FD, False)
    os.closerange(WORKER_FD + 1, 1 << 20)


def address_space_cap(memory_mb: int) -> int:
    """Bytes of address space: what this process maps now plus ``memory_mb``.

    The inherited part counts because the executor (torch, a backend model) may map
    gigabytes already; a program's budget is the headroom above that.
    """
    with open("/proc/self/statm") as f:
        inherited = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    return inherited + memory_mb * (1 << 20)


def harden(sock_fd: int, empty_dir: str, memory_mb: int) -> dict[str, str]:
    """Wall the calling (freshly forked) process in; returns the layers and their state."""
    report: dict[str, str] = {}
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # ^C is the executor's to handle
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # not the main thread (cannot happen after fork; kept defensive)
        pass
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # die with the executor
    cap = address_space_cap(memory_mb)  # needs /proc: before the walls go up
    _descriptors(sock_fd)
    report["fds"] = "0-2 /dev/null, 3 socket, rest closed"
    root = os.geteuid() == 0
    report["network"] = _network(root)
    os.chdir(empty_dir)
    try:  # as root, or with CAP_SYS_CHROOT in the user namespace just made
        os.chroot(empty_dir)
        os.chdir("/")
        report["chroot"] = "yes"
    except OSError as exc:
        report["chroot"] = f"no ({exc.strerror})"
    report["uid"] = str(os.geteuid())
    if root:
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            report["uid"] = f"{NOBODY} (dropped from root)"
        except OSError as exc:
            report["uid"] = f"0 (could not drop root: {exc.strerror})"
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (WORKER_FD + 1, WORKER_FD + 1))
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    report["nproc"] = "0" + (" (ignored: still root)" if os.geteuid() == 0 else "")
    report["seccomp"] = _seccomp()
    return report


def set_cpu_budget(seconds: float) -> None:
    """SIGXCPU once this process has used ``seconds`` more CPU than it has so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(used + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
