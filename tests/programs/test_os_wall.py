"""The sandbox's OS wall against a program that got past the validator: raw syscalls via
ctypes (io_uring, tgkill, socket, connect, open and more) all fail inside a hardened worker
and no connection reaches a listener on 127.0.0.1 -- as root and as an unprivileged user.

The probe (``escape_probe.py``) runs as its own process so it can run as another uid; as
root the test runs it both as root and as uid 65534 (the probe drops to it before it
starts the pool), otherwise as the current user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("escape_probe.py")
USERS = {"root": 0, "unprivileged": 65534} if os.geteuid() == 0 else {"unprivileged": os.geteuid()}


def _probe(uid: int) -> dict:
    # imported, not run as __main__: the worker's prepare is then pickled by reference
    run = f"import sys; sys.path.insert(0, {str(PROBE.parent)!r}); import escape_probe; escape_probe.main()"
    out = subprocess.run([sys.executable, "-c", run, str(uid)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("who", sorted(USERS))
def test_an_escaped_program_cannot_open_connect_signal_or_use_io_uring(who: str) -> None:
    found = _probe(USERS[who])
    assert found["uid"] == USERS[who]
    # outside the worker the same raw calls work: the wall, not the machine, refuses them
    assert found["control"]["socket"] == "allowed" and found["control"]["openat"] == "allowed", found
    assert found["status"] == "ok", found
    allowed = {name: outcome for name, outcome in found["outcomes"].items() if outcome != "EPERM"}
    assert not allowed, allowed
    assert not found["connected"]
    isolation = found["isolation"]
    assert isolation["seccomp"].startswith("on (allow-list"), isolation
    assert isolation["chroot"] == "yes" or not isolation["network"].startswith("own"), isolation
    if who == "root":  # a uid-dropped probe cannot execute this interpreter: it forks itself
        assert isolation["memory"].startswith("nothing of the executor"), isolation
