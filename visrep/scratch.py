"""Scratch directories owned by a process: ``<tmp>/<prefix><pid>-<random>``.

A process killed outright (SIGKILL, OOM, a lost driver's actors) cannot remove what it put
in the temp dir, so each directory names its owner's pid, and the next process that asks
for one with the same prefix first removes those whose owner is gone.  The sandbox pool
keeps its workers' empty root here; the sampler points vLLM's temp files (its
``vllm_dist_*`` rendezvous files) here while an engine starts (``temp_dir_at``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale(prefix: str) -> list[Path]:
    """Remove this user's ``prefix`` dirs whose owner process is gone; returns them.

    Another user's are left alone: they cannot be removed from here (an unprivileged sandbox
    probe died on ``chmod`` of root's), and that user's next process removes them."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid = path.name.removeprefix(prefix).split("-", 1)[0]
        if not pid.isdigit() or alive(int(pid)):
            continue
        try:
            if path.lstat().st_uid != os.getuid():
                continue
            path.chmod(0o700)  # a sandbox root is read-only
        except FileNotFoundError:  # another process removed it first
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def owned_dir(prefix: str) -> str:
    """A new dir of this process under ``prefix``, after removing the dead owners' ones."""
    remove_stale(prefix)
    return tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")


@contextmanager
def temp_dir_at(path: str) -> Iterator[None]:
    """The process's temp dir (``tempfile`` and ``TMPDIR``, which child processes inherit) is
    ``path`` inside the block, and what it was after it: a library that writes temp files
    while it starts (vLLM) puts them there, and nothing else in the process is changed."""
    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = path
    try:
        yield
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
