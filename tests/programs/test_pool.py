"""The worker pool: fast reuse, parallel jobs, and a parent that never trusts a worker.

Tests that need a misbehaving worker use ``prepare`` (which runs inside the worker) to act
as a program that escaped every other wall would: write garbage to the socket, forge a
status, exit silently.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.config import ExecutorConfig
from visrep.programs import frames, isolation, worker
from visrep.programs import pool as pool_module
from visrep.programs.isolation import WORKER_FD
from visrep.programs.pool import Job, WorkerPool

LIMITS = ExecutorConfig(timeout_s=1.0, memory_mb=256, workers=2, recycle_after=3)
PROGRAM = "def execute_command(image):\n    return image + 1\n"


def _plain(context: Any, rpc: Any) -> tuple[dict[str, Any], Any]:
    return {}, lambda env: env["execute_command"](context)


def test_workers_are_reused_and_recycled_after_recycle_after_programs() -> None:
    with WorkerPool([], _plain, None, LIMITS, workers=1) as pool:
        first = pool.pids
        assert [r.value for r in pool.run([Job(PROGRAM, i) for i in range(3)])] == [1, 2, 3]
        assert pool.pids != first and pool.replaced == 1  # retired after 3
        assert pool.run([Job(PROGRAM, 5)])[0].value == 6


def test_tool_calls_go_to_the_parent_with_the_parents_context() -> None:
    seen: list[Any] = []

    def prepare(context: Any, rpc: Any) -> tuple[dict[str, Any], Any]:
        return {"ask": rpc}, lambda env: env["execute_command"](None)

    def serve(context: Any, request: Any) -> Any:
        seen.append((context, request))
        return request * 2

    source = "def execute_command(image):\n    return [ask(1), ask('x')]\n"
    with WorkerPool(["ask"], prepare, serve, LIMITS) as pool:
        (result,) = pool.run([Job(source, {"image": "a"})])
    assert (result.value, result.api_calls) == ([2, "xx"], 2)
    assert seen == [({"image": "a"}, 1), ({"image": "a"}, "x")]


def _rogue(context: Any, rpc: Any) -> tuple[dict[str, Any], Any]:
    """Plays a compromised worker: speaks to the parent behind the pool's back."""
    def act(env: dict[str, Any]) -> Any:
        if context == "oversize":
            os.write(WORKER_FD, struct.pack(">I", 1 << 30))
        elif context == "garbage":
            os.write(WORKER_FD, struct.pack(">I", 5) + b"{{{{{")
        elif context == "forge":
            data = json.dumps({"op": "result", "status": "rejected", "retire": False}).encode()
            os.write(WORKER_FD, struct.pack(">I", len(data)) + data)
        elif context == "exit":
            os._exit(0)
        elif context == "silent":
            while True:
                pass
        return 1
    return {}, act


@pytest.mark.parametrize(("mode", "status", "message"), [
    ("oversize", "error", "too large"),
    ("garbage", "error", "unreadable frame"),
    ("forge", "error", "unknown status"),
    ("exit", "error", "exited with code 0 without a result"),
    ("silent", "timeout", "wall-clock limit"),
])
def test_a_misbehaving_worker_is_replaced_and_blamed_once(mode: str, status: str,
                                                          message: str) -> None:
    with WorkerPool([], _rogue, None, LIMITS, workers=1) as pool:
        before = pool.pids
        (result,) = pool.run([Job(PROGRAM, mode)])
        assert (result.status, result.value) == (status, None) and message in result.error
        assert pool.pids != before
        assert pool.run([Job(PROGRAM, "fine")])[0].value == 1


def test_jobs_run_in_parallel_over_the_workers() -> None:
    slow = "def execute_command(image):\n    n = 0\n    for i in range(3000000):\n        n += i\n    return image\n"
    with WorkerPool([], _plain, None, LIMITS, workers=2) as pool:
        results = pool.run([Job(slow, i) for i in range(4)])
    assert [r.value for r in results] == [0, 1, 2, 3]


def test_worker_isolation_report_names_every_layer() -> None:
    with WorkerPool([], _plain, None, LIMITS, workers=1) as pool:
        report = pool.isolation
    assert set(report) == {"memory", "fds", "network", "chroot", "uid", "nproc", "seccomp"}


SECRETS: dict[str, str] = {}  # filled at run time by the test below, in the executor only


def _inherited(context: Any, rpc: Any) -> tuple[dict[str, Any], Any]:
    """Runs in the worker: what of the executor's environment and run-time state it sees."""
    found = {"env": sorted(k for k in os.environ if k in ("VISREP_TEST_TOKEN", "RAY_AUTH_TOKEN")),
             "state": dict(SECRETS)}
    return {}, lambda env: found


def test_a_worker_inherits_nothing_of_the_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISREP_TEST_TOKEN", "s3cret")
    monkeypatch.setenv("RAY_AUTH_TOKEN", "s3cret")
    monkeypatch.setitem(SECRETS, "token", "s3cret")
    with WorkerPool([], _inherited, None, LIMITS, workers=1) as pool:
        (result,) = pool.run([Job(PROGRAM, 1)])
        memory = pool.isolation["memory"]
        # still this process's child (clone(CLONE_PARENT)): waitable, not ChildProcessError
        assert os.waitid(os.P_PID, pool.pids[0], os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    assert memory.startswith("nothing of the executor"), memory
    assert result.value == {"env": [], "state": {}}, result  # a fork of this process sees both


def test_the_pool_knows_nothing_of_the_visual_api() -> None:
    for module in (pool_module, worker, frames, isolation):
        tree = ast.parse(inspect.getsource(module))
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in imported if m and m.startswith("visrep.visual")], module


def test_one_program_leaves_nothing_for_the_next_on_the_same_worker() -> None:
    def prepare(context: Any, rpc: Any) -> tuple[dict[str, Any], Any]:
        return {}, lambda env: [sorted(k for k in env if k != "__builtins__"),
                                sorted(env["__builtins__"]), env["execute_command"](None)]

    first = ("def execute_command(image):\n    secret = 'answer'\n    print(secret)\n"
             "    len = None\n    return secret\n")
    second = "def execute_command(image):\n    return 1\n"
    with WorkerPool([], prepare, None, LIMITS, workers=1) as pool:
        a, b = pool.run([Job(first), Job(second)])
    assert a.value[2] == "answer" and a.extra == {"stdout": "answer\n"}
    assert b.value[0] == ["execute_command"] and "len" in b.value[1] and b.extra == {}


def test_a_pool_removes_the_empty_dirs_killed_pools_left_behind(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = tmp_path / f"{pool_module.EMPTY_DIR_PREFIX}{gone.pid}-abc"
    live = tmp_path / f"{pool_module.EMPTY_DIR_PREFIX}{os.getppid()}-def"
    for path in (stale, live):
        path.mkdir()
        path.chmod(0o555)
    with WorkerPool([], _plain, None, LIMITS, workers=1) as pool:
        ours = Path(pool._empty_dir)
        assert ours.name.startswith(f"{pool_module.EMPTY_DIR_PREFIX}{os.getpid()}-")
        assert not stale.exists() and live.exists()
    assert not ours.exists()


def test_a_zygote_killed_from_outside_is_replaced_on_the_next_spawn() -> None:
    from visrep.programs import zygote

    with WorkerPool([], _plain, None, LIMITS, workers=1) as pool:
        first = zygote._zygote()
        assert isinstance(first, zygote.Zygote)
        first.process.kill()
        first.process.wait()
        os.kill(pool.pids[0], 9)  # its worker goes too; the pool asks for a new one
        (result,) = pool.run([Job(PROGRAM, 1)])
    assert (result.status, result.value) == ("ok", 2)
    assert zygote._zygote() is not first
