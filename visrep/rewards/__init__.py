"""Reward scorers: one pure function per task kind, ``REWARDS`` by kind, and ``score``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from visrep.programs.records import ExecResult
from visrep.rewards.detect import detect_reward
from visrep.rewards.records import Reward
from visrep.rewards.retrieve import retrieve_reward
from visrep.rewards.vqa import normalize_answer, vqa_reward
from visrep.world.records import KindTable, Task

__all__ = ["REWARDS", "Reward", "detect_reward", "normalize_answer", "retrieve_reward", "score", "vqa_reward"]

# (a program's plain value, the task's annotation) → its reward; annotations as records.Task says
REWARDS: KindTable[Callable[[Any, dict[str, Any]], Reward]] = KindTable("reward", {
    "detect": lambda value, annotation: detect_reward(value, annotation["boxes"]),
    "vqa": lambda value, annotation: vqa_reward(value, annotation["answer"]),
    "retrieve": lambda value, annotation: retrieve_reward(value, int(annotation["index"])),
})


def score(task: Task, result: ExecResult) -> Reward:
    """The reward of one executed program on its task; a failed run earns 0.

    Raises ValueError on a task of an unknown kind.
    """
    if result.status != "ok":
        return Reward(0.0, f"program {result.status}")
    return REWARDS[task.kind](result.value, task.annotation)
