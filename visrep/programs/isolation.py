"""The operating-system walls a sandbox worker puts up around itself right after the fork.

``harden`` runs once in each freshly forked worker, before it reads any program, and
returns which layers took effect (the pool reports them; ``docs/programs.md`` explains
each).  In order:

1. file descriptors: 0/1/2 point at /dev/null, the worker's socket becomes fd 3, every
   other inherited descriptor is closed (the executor's files, Ray's sockets, other
   workers' pipes);
2. the filesystem: the worker changes into an empty directory; as root it also
   ``chroot``s there, so no path names any file;
3. privileges: as root it drops to uid/gid 65534 (nobody) with no supplementary groups;
4. resource limits: no core files, ``RLIMIT_FSIZE`` 0 (no file can grow), ``RLIMIT_NOFILE``
   4 (fds 0-3 are taken, so no new file, socket or pipe can be opened),
   ``RLIMIT_AS`` = what the fork inherited + ``memory_mb``, and ``RLIMIT_NPROC`` 0
   (no fork, no thread) -- the kernel ignores ``RLIMIT_NPROC`` for root, hence step 3
   and step 5;
5. seccomp (when libseccomp is installed): the syscalls that open, connect, execute,
   fork, clone (threads too), trace or signal others fail with EPERM, whatever the uid.

A program reaches none of this through the language (imports and underscores are
rejected); these layers are for the program that finds a hole in the validator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import resource
import signal

WORKER_FD = 3  # the worker's socket after ``harden``; fds 0-2 are /dev/null
NOBODY = 65534
SECCOMP_DENIED = (
    "open", "openat", "openat2", "creat", "socket", "socketpair", "connect", "bind",
    "listen", "accept", "accept4", "execve", "execveat", "fork", "vfork", "clone",
    "clone3", "ptrace", "kill", "process_vm_readv", "process_vm_writev", "mount",
    "umount2", "unshare", "setns", "chroot", "pivot_root", "link", "linkat", "symlink",
    "symlinkat", "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir",
    "mkdirat", "rmdir", "chmod", "fchmod", "fchmodat", "truncate", "ftruncate",
)
_SCMP_ACT_ALLOW = 0x7FFF0000
_SCMP_ACT_ERRNO_EPERM = 0x00050000 | errno.EPERM
_PR_SET_PDEATHSIG = 1


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
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                     ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    return lib


_LIBSECCOMP = _load_libseccomp()
_LIBC = ctypes.CDLL(None, use_errno=True)


def _seccomp() -> str:
    """Install the deny-list filter; the result says whether it is on and why not."""
    lib = _LIBSECCOMP
    if lib is None:
        return "off (libseccomp not found)"
    ctx = lib.seccomp_init(_SCMP_ACT_ALLOW)
    if not ctx:
        return "off (seccomp_init failed)"
    for name in SECCOMP_DENIED:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number >= 0 and lib.seccomp_rule_add(ctx, _SCMP_ACT_ERRNO_EPERM, number, 0) != 0:
            return f"off (rule for {name} failed)"
    if lib.seccomp_load(ctx) != 0:
        return "off (seccomp_load failed)"
    return "on"


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
    os.chdir(empty_dir)
    root = os.geteuid() == 0
    report["chroot"] = "no (not root)"
    if root:
        try:
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
