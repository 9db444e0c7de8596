"""How a program of each task kind is run: on which of the task's images, and how those
runs make the task's one result (``RUN_POLICY``, a registry that raises on an unknown kind).

detect and vqa tasks run the program once, on ``task.images[0]``.  retrieve tasks run it
once per candidate image (in parallel over the workers), each run returning the caption's
score on that image; the value is the list of scores (the reward ranks them).  One failing
candidate fails the task, with the status of the first failing one: a program that cannot
score every candidate cannot rank them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from visrep.programs.records import ExecResult
from visrep.world.records import KindTable, Task


@dataclass(frozen=True)
class RunPolicy:
    """The images a task's program runs on, and how their results combine into one."""

    images: Callable[[Task], tuple[str, ...]]
    combine: Callable[[list[ExecResult]], ExecResult]


def _first_image(task: Task) -> tuple[str, ...]:
    return tuple(task.images[:1])


def _every_image(task: Task) -> tuple[str, ...]:
    return tuple(task.images)


def _single(runs: list[ExecResult]) -> ExecResult:
    return runs[0]


def _per_candidate(runs: list[ExecResult]) -> ExecResult:
    """One result from one run per candidate: the list of their values, or the first failure.

    ``api_calls`` and ``duration_s`` are summed over runs; ``extra`` holds the printed
    text (``stdout``, capped per run) and, when a run fails, its ``candidate``.
    """
    duration = sum(r.duration_s for r in runs)
    calls = sum(r.api_calls for r in runs)
    stdout = "".join(r.extra.get("stdout", "") for r in runs)
    extra: dict[str, Any] = {"stdout": stdout} if stdout else {}
    for index, run in enumerate(runs):
        if run.status != "ok":
            stdout = "".join(r.extra.get("stdout", "") for r in runs[:index + 1])
            extra = {"stdout": stdout} if stdout else {}
            extra["candidate"] = index
            calls = sum(r.api_calls for r in runs[:index + 1])
            return ExecResult(run.status, None, run.error, duration, calls, extra)
    return ExecResult("ok", [r.value for r in runs], "", duration, calls, extra)


RUN_POLICY: KindTable[RunPolicy] = KindTable("run policy", {
    "detect": RunPolicy(_first_image, _single),
    "vqa": RunPolicy(_first_image, _single),
    "retrieve": RunPolicy(_every_image, _per_candidate),
})
