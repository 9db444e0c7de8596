"""Run one program on one task: the only place the visual API meets the sandbox.

detect and vqa tasks run the program once, on ``task.images[0]``.  retrieve tasks run it
once per candidate image, each run returning the caption's score on that image; the value
is the list of scores (the reward ranks them).  One failing candidate fails the task, with
that run's status: a program that cannot score every candidate cannot rank them.
"""

from __future__ import annotations

from typing import Any

from visrep.config import ExecutorConfig
from visrep.programs.records import ExecResult
from visrep.programs.sandbox import run_sandboxed
from visrep.visual.api import api_calls, api_namespace, to_plain
from visrep.visual.backend import VisualBackend
from visrep.world.records import Task, TaskKind


def _run_on_image(source: str, kind: TaskKind, backend: VisualBackend, image_id: str,
                  size: tuple[int, int], limits: ExecutorConfig) -> ExecResult:
    """One sandboxed run; the child returns (plain value, API calls made)."""
    namespace, root = api_namespace(backend, image_id, size)

    def call(env: dict[str, Any]) -> tuple[Any, int]:
        return to_plain(env["execute_command"](root), kind), api_calls(root)

    result = run_sandboxed(source, namespace, call, limits)
    if result.status != "ok":
        return result
    value, calls = result.value
    return ExecResult("ok", value, duration_s=result.duration_s, api_calls=calls,
                      extra=result.extra)


def execute(program_source: str, task: Task, backend: VisualBackend,
            sizes: dict[str, tuple[int, int]], limits: ExecutorConfig) -> ExecResult:
    """Execute ``program_source`` on ``task``; the value is plain data for the reward.

    ``api_calls`` and ``duration_s`` are summed over runs; ``extra`` holds the printed
    text (``stdout``, capped per run) and, when a retrieve run fails, its ``candidate``.
    """
    if not task.images:
        raise ValueError(f"task {task.id} has no images")
    images = task.images if task.kind == "retrieve" else task.images[:1]
    values: list[Any] = []
    duration, calls, stdout = 0.0, 0, []
    for index, image_id in enumerate(images):
        result = _run_on_image(program_source, task.kind, backend, image_id,
                               sizes[image_id], limits)
        duration += result.duration_s
        calls += result.api_calls
        if "stdout" in result.extra:
            stdout.append(result.extra["stdout"])
        extra = {"stdout": "".join(stdout)} if stdout else {}
        if result.status != "ok":
            if task.kind == "retrieve":
                extra["candidate"] = index
            return ExecResult(result.status, None, result.error, duration, calls, extra)
        values.append(result.value)
    value = values if task.kind == "retrieve" else values[0]
    return ExecResult("ok", value, "", duration, calls, extra)
