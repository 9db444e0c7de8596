"""The hostile corpus (tests/programs/hostile/*.py): every program fails safely, nothing leaks.

Each file states its expected status and a fragment of the expected message in its header
(``# expect: timeout`` / ``# error: limit``).  They run through the real executor (pool,
memo, oracle) on a vqa task whose annotation holds the answer, interleaved with a benign
program, so "a benign program right after still succeeds" is checked after every one.
"""

from __future__ import annotations

import copy
import os
import re
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.config import ExecutorConfig
from visrep.programs.executor import ProgramExecutor
from visrep.programs.pool import Job, WorkerPool
from visrep.programs.records import ExecResult
from visrep.visual.oracle import OracleBackend
from visrep.world.records import Scene, SceneObject, Task

CORPUS = sorted((Path(__file__).parent / "hostile").glob("*.py"))
LIMITS = ExecutorConfig(timeout_s=1.0, memory_mb=256, workers=2, max_output_chars=1000)
SCENE = Scene("img", 128, 96, (SceneObject("star", "red", "small", "solid", (10.0, 10.0, 30.0, 30.0)),
                               SceneObject("circle", "blue", "large", "striped",
                                           (60.0, 40.0, 100.0, 80.0))))
TASK = Task("v", "vqa", "Is there a red star?", ("img",), {"answer": "yes"})
BENIGN = "def execute_command(image):\n    return bool_to_yesno(image.exists('red star'))\n"


def _header(path: Path) -> tuple[str, str]:
    text = path.read_text()
    expect = re.search(r"^# expect: (\w+)$", text, re.M)
    error = re.search(r"^# error: (.+)$", text, re.M)
    assert expect and error, f"{path.name} lacks its '# expect:'/'# error:' header"
    return expect.group(1), error.group(1)


def test_the_corpus_is_large_and_covers_every_failure_status() -> None:
    assert len(CORPUS) >= 40
    assert {_header(p)[0] for p in CORPUS} == {"rejected", "error", "timeout", "memory"}


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("canary")
    (root / "canary.txt").write_text("untouched")
    return root


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_hostile_program_fails_safely_and_the_executor_keeps_serving(
        canary: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(canary)  # a relative open('canary.txt', 'w') would land here
    oracle = OracleBackend({SCENE.image_id: SCENE})
    scenes_before = copy.deepcopy(oracle._scenes)
    task_before = copy.deepcopy(TASK)
    with ProgramExecutor(oracle, {"img": (128, 96)}, LIMITS) as executor:
        assert executor.run([(BENIGN, TASK)])[0].value == "yes"  # fills the memo
        assert executor.memo is not None
        memo_before = executor.memo.snapshot()
        empty_dir = Path(executor.pool._empty_dir)
        items = [(source, TASK) for path in CORPUS for source in (path.read_text(), BENIGN)]
        results = executor.run(items)
        assert len(executor.pool.pids) == LIMITS.workers
        last = executor.run([(BENIGN, TASK)])[0]
        memo_after = executor.memo.snapshot()
    failures = []
    for path, hostile, benign in zip(CORPUS, results[0::2], results[1::2]):
        expect, fragment = _header(path)
        ok = (hostile.status == expect and fragment in hostile.error and hostile.value is None
              and "\n" not in hostile.error and len(hostile.error) <= 300)
        if not ok or (benign.status, benign.value) != ("ok", "yes"):
            failures.append(f"{path.name}: {hostile} / then {benign.status}")
        assert len(hostile.extra.get("stdout", "")) <= LIMITS.max_output_chars + 60
    assert not failures, "\n".join(failures)
    assert (last.status, last.value) == ("ok", "yes")
    # nothing outside the sandbox changed
    assert _tree(canary) == {"canary.txt": "untouched"}
    assert not list(empty_dir.parent.glob(empty_dir.name))  # removed by close()
    assert oracle._scenes == scenes_before and TASK == task_before
    assert all(memo_after[image][key] == value
               for image, calls in memo_before.items() for key, value in calls.items())


def _attempt(fn: Any) -> str:
    try:
        fn()
    except BaseException as exc:  # what the wall answered
        return type(exc).__name__
    return "allowed"


def _escaped(context: dict[str, Any], rpc: Any) -> tuple[dict[str, Any], Any]:
    """Runs in the worker as if a program had escaped the validator: try the walls."""

    def fork() -> None:
        if os.fork() == 0:
            os._exit(0)

    tries = {
        "read /etc/passwd": lambda: open("/etc/passwd").read(),
        "write the canary": lambda: open(context["canary"], "w").write("pwned"),
        "create a file here": lambda: open("new.txt", "w").write("x"),
        "open a socket": lambda: socket.socket().connect(("127.0.0.1", 9)),
        "fork": fork,
        "start a thread": lambda: threading.Thread(target=print).start(),
    }
    if context["seccomp"]:
        tries["signal the executor"] = lambda: os.kill(os.getppid(), 0)
        tries["exec a binary"] = lambda: os.execv("/bin/true", ["true"])
    outcomes = {name: _attempt(fn) for name, fn in tries.items()}
    outcomes["fds"] = sorted(int(fd) for fd in _listdir_or_empty("/proc/self/fd"))
    return {}, lambda env: outcomes


def _listdir_or_empty(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def test_os_walls_hold_for_a_program_that_escaped_validation(canary: Path) -> None:
    target = canary / "canary.txt"
    with WorkerPool([], _escaped, None, LIMITS, workers=1) as pool:
        isolation = pool.isolation
        context = {"canary": str(target), "seccomp": isolation["seccomp"].startswith("on")}
        (result,) = pool.run([Job("def execute_command(image):\n    return 1\n", context)])
    assert result.status == "ok", result
    outcomes = result.value
    assert all(v != "allowed" for k, v in outcomes.items() if k != "fds"), outcomes
    assert set(outcomes["fds"]) <= {0, 1, 2, 3}
    assert target.read_text() == "untouched"
    if os.geteuid() == 0:  # root: the kernel ignores RLIMIT_NPROC, so these must hold
        assert isolation["uid"].startswith("65534") or isolation["seccomp"].startswith("on"), isolation


def test_a_worker_killed_from_outside_is_replaced_without_blaming_a_program() -> None:
    oracle = OracleBackend({SCENE.image_id: SCENE})
    with ProgramExecutor(oracle, {"img": (128, 96)}, LIMITS) as executor:
        victim = executor.pool.pids[0]
        os.kill(victim, 9)
        os.waitid(os.P_PID, victim, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped
        results: list[ExecResult] = executor.run([(BENIGN, TASK)] * 4)
        assert [r.value for r in results] == ["yes"] * 4
        assert victim not in executor.pool.pids and len(executor.pool.pids) == 2


SLOW = "def execute_command(image):\n    n = 0\n    for i in range(3000000):\n        n += 1\n    return n\n"


def test_a_worker_killed_from_outside_mid_program_reruns_the_program() -> None:
    limits = ExecutorConfig(timeout_s=20.0, memory_mb=256, workers=1)
    with WorkerPool([], lambda context, rpc: ({}, lambda env: env["execute_command"](None)), None,
                    limits, workers=1) as pool:
        victim = pool.pids[0]
        killer = threading.Timer(0.05, os.kill, (victim, 9))  # while the loop runs
        killer.start()
        (result,) = pool.run([Job(SLOW)])
        killer.join()
        assert victim not in pool.pids and pool.replaced == 1
    assert (result.status, result.value) == ("ok", 3000000), result  # not "memory": not its fault
