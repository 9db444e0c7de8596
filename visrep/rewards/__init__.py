"""Reward scorers: one pure function per task kind, and ``score`` to dispatch on a task."""

from __future__ import annotations

from visrep.programs.records import ExecResult
from visrep.rewards.detect import detect_reward
from visrep.rewards.records import Reward
from visrep.rewards.retrieve import retrieve_reward
from visrep.rewards.vqa import normalize_answer, vqa_reward
from visrep.world.records import Task

__all__ = ["Reward", "detect_reward", "normalize_answer", "retrieve_reward", "score", "vqa_reward"]


def score(task: Task, result: ExecResult) -> Reward:
    """The reward of one executed program on its task; a failed run earns 0."""
    if result.status != "ok":
        return Reward(0.0, f"program {result.status}")
    if task.kind == "detect":
        return detect_reward(result.value, task.annotation["boxes"])
    if task.kind == "vqa":
        return vqa_reward(result.value, task.annotation["answer"])
    if task.kind == "retrieve":
        return retrieve_reward(result.value, int(task.annotation["index"]))
    raise ValueError(f"task {task.id}: unknown kind {task.kind!r}")
