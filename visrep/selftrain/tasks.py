"""The tasks a self-training run works on: its world, the train and held-out splits, the probe.

Each choice is seeded from ``run.seed``, so a resumed run works on the same tasks.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from visrep.cli import SetupError, resolve_path
from visrep.config import PromptConfig, WarmStartConfig, WorldConfig
from visrep.world import build_world_from, load_scenes, load_tasks
from visrep.world.kinds import labelled
from visrep.world.loaders import in_split
from visrep.world.records import HELDOUT, TRAIN_SPLIT, Task


def world_dir(run_root: Path, cfg: WorldConfig) -> Path:
    """Where the run's world lives: ``world.dir`` when set (it must exist), else ``<run>/world``."""
    if cfg.dir:
        root = resolve_path(cfg.dir)
        if not root.is_dir():
            raise SetupError(f"world.dir {root} does not exist")
        return root
    return run_root / "world"


def run_world(run_root: Path, cfg: WorldConfig) -> Path:
    """The run's world (``world_dir``), built (once) into ``<run>/world`` when ``world.dir`` is unset."""
    root = world_dir(run_root, cfg)
    if not cfg.dir:
        build_world_from(root, cfg)
    return root


def loop_tasks(world: Path, kinds: Sequence[str], eval_tasks: int, seed: int,
               splits: Mapping[str, str] | None = None) -> tuple[list[Task], list[Task]]:
    """(train, held-out) tasks of ``kinds``, by the ``world.splits`` mapping; held-out cut to
    a seeded ``eval_tasks`` sample when that is set (evaluation is one greedy program per
    task, on every iteration).  Unlabelled tasks (a test file's questions) are left out:
    nothing can score them."""
    tasks = [t for t in load_tasks(world) if t.kind in kinds and labelled(t)]  # read once: GB-size worlds
    train = [t for t in tasks if in_split(t, TRAIN_SPLIT, splits)]
    heldout = [t for t in tasks if in_split(t, HELDOUT, splits)]
    if eval_tasks:
        heldout = random.Random(seed).sample(heldout, min(eval_tasks, len(heldout)))
    if not train or not heldout:
        raise SetupError(f"{world}: no train or held-out tasks of kinds {list(kinds)}")
    scenes = load_scenes(world)
    for task in (*train, *heldout):  # found here, not at grow after the warm start
        missing = [image for image in task.images if image not in scenes]
        if missing:
            raise SetupError(f"{world}: task {task.id} ({task.kind}) names image {missing[0]!r}, "
                             "which the world's instances file does not have")
    return train, heldout


def probe_tasks(train: list[Task], count: int, seed: int) -> list[Task]:
    """The seeded sample of training tasks the few-shot probe samples programs for."""
    return random.Random(seed).sample(train, min(count, len(train)))


def warm_start_reason(solved: float, ws: WarmStartConfig, prompt: PromptConfig) -> str:
    """Why the run warm-starts on its seeds after the probe solved ``solved`` of its tasks,
    or "" when it does not.

    The probe's prompt shows the API and worked examples; when the loop samples from another
    ``prompt``, what the base model solves with the probe's says nothing of what it writes
    from the loop's (a GQA run skipped the warm start on 1 of 10 probe tasks, then sampled
    prose).  ``min_solve_rate`` 0: never warm-start."""
    if ws.min_solve_rate <= 0:
        return ""
    if solved < ws.min_solve_rate:
        return f"< {ws.min_solve_rate:.0%}"
    return "but the loop samples from another prompt (`prompt`)" if prompt != ws.probe_prompt else ""
