"""Every status of run_sandboxed, with real forked children (no mocks)."""

from __future__ import annotations

import ast
import inspect
from typing import Any

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.config import ExecutorConfig
from visrep.programs import sandbox, validate
from visrep.programs.pool import run_sandboxed
from visrep.programs.records import ExecResult

LIMITS = ExecutorConfig(timeout_s=1.0, memory_mb=256, max_output_chars=100)


def _call(env: dict[str, Any]) -> Any:
    return env["execute_command"](env["answer"])


def _run(body: str, limits: ExecutorConfig = LIMITS) -> ExecResult:
    source = "def execute_command(image):\n" + "".join(f"    {x}\n" for x in body.splitlines())
    return run_sandboxed(source, {"answer": 41}, _call, limits)


def test_ok_returns_what_call_computed() -> None:
    result = _run("return [image + 1, 'x']")
    assert (result.status, result.value, result.error) == ("ok", [42, "x"], "")
    assert result.duration_s > 0


def test_error_names_type_message_and_line() -> None:
    result = _run("x = 0\nreturn image / x")
    assert result.status == "error"
    assert result.error == "ZeroDivisionError: division by zero (line 3)"


def test_rejected_never_forks() -> None:
    result = _run("import os")
    assert (result.status, result.error) == ("rejected", "line 2: import is not allowed")


def test_timeout_kills_an_endless_loop() -> None:
    result = _run("while True:\n    pass", ExecutorConfig(timeout_s=0.3, memory_mb=256))
    assert result.status == "timeout"
    assert 0.3 <= result.duration_s < 2.0


@pytest.mark.parametrize("body", [
    "return len([0] * (10 ** 10))",
    "x = ['a' * 1000000 for _ in range(100000)]\nreturn len(x)",
])
def test_memory_bombs_hit_the_limit(body: str) -> None:
    result = _run(body)
    assert result.status == "memory", result
    assert "256 MB" in result.error


def test_benign_program_runs_right_after_hostile_ones() -> None:
    assert _run("while True:\n    pass").status == "timeout"
    assert _run("return [0] * (10 ** 10)").status == "memory"
    assert _run("return image + 1").value == 42


def test_printed_output_is_captured_and_capped() -> None:
    result = _run("print('hello')\nprint('x' * 100000)\nreturn 1")
    stdout = result.extra["stdout"]
    assert stdout.startswith("hello\nxxx")
    assert stdout.endswith("\n[... 99907 characters dropped]")  # 100007 printed, 100 kept
    assert len(stdout) < 200


def test_values_must_be_plain_data() -> None:
    result = run_sandboxed("def execute_command(image):\n    return image\n", {},
                           lambda env: env["execute_command"](object()), LIMITS)
    assert result.status == "error" and "not plain data" in result.error


def test_programs_see_only_safe_builtins() -> None:
    result = run_sandboxed("def execute_command(image):\n    return len(image)\n", {},
                           lambda env: sorted(env["__builtins__"]), LIMITS)
    assert result.value == sorted(sandbox.SAFE_BUILTIN_NAMES)


def test_sandbox_knows_nothing_of_the_visual_api() -> None:
    for module in (sandbox, validate):
        tree = ast.parse(inspect.getsource(module))
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in imported if m and m.startswith("visrep.visual")], module
