"""Scratch dirs of dead processes: this user's are removed, another user's are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from visrep.scratch import owned_dir, remove_stale

PREFIX = "visrep-test-scratch-"  # each test its own (xdist may run them at once)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    return int(proc.stdout)


def test_a_dead_owners_read_only_dir_is_removed_and_a_live_ones_kept() -> None:
    dead = Path(tempfile.mkdtemp(prefix=f"{PREFIX}a-{_dead_pid()}-"))
    (dead / "f").write_text("x")
    dead.chmod(0o500)  # read-only, as a sandbox root
    mine = Path(owned_dir(PREFIX + "a-"))
    try:
        assert not dead.exists()
        assert mine.is_dir() and mine.name.startswith(f"{PREFIX}a-{os.getpid()}-")
        assert remove_stale(PREFIX + "a-") == []  # this process is alive
    finally:
        mine.rmdir()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to make another user's dir")
def test_another_users_dir_is_left_to_them() -> None:
    dead = Path(tempfile.mkdtemp(prefix=f"{PREFIX}b-{_dead_pid()}-"))
    dead.chmod(0o555)
    pid = os.fork()
    if pid == 0:  # a child that is not root: what an unprivileged sandbox probe is
        code = 1
        try:
            os.setuid(65534)
            code = 0 if remove_stale(PREFIX + "b-") == [] and dead.exists() else 2
        finally:
            os._exit(code)
    try:
        assert os.waitpid(pid, 0)[1] == 0  # no PermissionError, nothing removed
        assert remove_stale(PREFIX + "b-") == [dead]  # its owner (root) removes it
    finally:
        if dead.exists():
            dead.chmod(0o700)
            dead.rmdir()
