"""The closed loop's stage: re-distil the student on the crops its tools got wrong, measure
it against the student it replaces (and, at equal compute, against random crops), and hand
the executors the new one.

Runs after evaluation of every ``redistill.every``-th iteration.  Each arm (``targeted``;
``random`` with ``redistill.control``) is one Ray task that fine-tunes the current student
(``visrep.visual.redistill.redistill_for_tools``) on the head, with a learner rank's CPUs
(the learner group is released first), then one
fresh executor on the new student answers (a) exactly the tool calls the evaluation asked
of the old one (tool-error rate before/after) and (b) the evaluation's programs again
(held-out accuracy with student tools, before/after).  The targeted student replaces the
executors' student for the iterations that follow; the control is measured, then dropped.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from rayapps.cluster import task_options
from rayapps.inputs import Inputs
from rayapps.pipeline import Pools, run_given
from rayapps.pools import spawn_executors
from visrep.config import Config, VisualConfig
from visrep.selftrain import trajectories as T
from visrep.selftrain.attribution import read_calls
from visrep.selftrain.metrics import phase_metrics
from visrep.selftrain.redistill import error_rates, failing_tools, random_objects, wrong_objects
from visrep.selftrain.rundir import RunDir
from visrep.visual.redistill import redistill_for_tools
from visrep.vlm.redistill import Budget
from visrep.world import load_scenes
from visrep.world.records import Box, Task

TARGETED, RANDOM = "targeted", "random"
STAGE = "redistill"


def due(cfg: Config, i: int) -> bool:
    """Whether iteration ``i`` ends with a re-distillation stage (it learns from the judged
    tool calls, so it needs student tools and ``visual.attribute``)."""
    every = cfg.redistill.every
    return cfg.visual.backend == "student" and cfg.visual.attribute and every > 0 and i % every == 0


def current_student(cfg: Config, rd: RunDir) -> str:
    """The student the tools use now: the last finished stage's (stages run in iteration
    order, so it is in effect for every stage not yet run), else ``visual.student_dir``."""
    for i in reversed(rd.iterations()):
        if rd.done(i, STAGE):
            return str(rd.stage_info(i, STAGE)["student_dir"])
    return cfg.visual.student_dir


def _measure(cfg: Config, visual: VisualConfig, inputs: Inputs, pools: Pools, heldout: list[Task],
             calls: list[dict[str, Any]], sources: dict[str, str], arm: str) -> tuple[Any, dict[str, Any]]:
    """A fresh executor on ``inputs`` (with ``visual``'s student): its verdicts on the
    evaluation's ``calls`` and the evaluation programs' rows with its tools.  Returns (the
    executor, what it measured)."""
    executor = spawn_executors(dataclasses.replace(cfg, visual=visual, resources=dataclasses.replace(
        cfg.resources, executors=1)), inputs)[0]
    agree = ray.get(executor.rejudge.remote(calls))
    out = run_given(Pools([], [executor], pools.scorers, cfg.visual.backend), heldout,
                    lambda task: sources[task.id], phase=f"{STAGE}_{arm}", batch_tasks=cfg.sampler.batch_tasks)
    return executor, {"agree": agree, "rows": out.rows}


def _grow_calls(cfg: Config, rd: RunDir, i: int) -> list[dict[str, Any]]:
    """The judged calls of the grow phases since the last stage (the stage learns from them)."""
    every = max(1, cfg.redistill.every)
    return [c for j in range(max(1, i - every + 1), i + 1) for c in read_calls(rd.tool_calls(j, "grow"))]


def _seed(cfg: Config, i: int) -> int:
    return cfg.run.seed * 1000 + i


def stage_objects(cfg: Config, rd: RunDir, i: int, world: Path) -> dict[str, list[tuple[str, Box]]]:
    """Iteration ``i``'s stage's crops per arm, as (image id, box): the objects of the calls
    the student got wrong in grow (``targeted``), and with ``redistill.control`` as many
    random objects of the same images (``random``, first: its executor is gone before the
    targeted one, which stays, is made).  Seeded: the same for a rerun or an analysis."""
    calls, seed = _grow_calls(cfg, rd, i), _seed(cfg, i)
    targeted = wrong_objects(calls, cfg.redistill.max_crops, seed)
    arms: dict[str, list[tuple[str, Box]]] = {}
    if cfg.redistill.control:
        train_images = {c["image_id"] for c in calls}
        scenes = [s for image_id, s in sorted(load_scenes(world).items()) if image_id in train_images]
        arms[RANDOM] = random_objects(scenes, len(targeted), seed)
    arms[TARGETED] = targeted
    return arms


def run_stage(cfg: Config, rd: RunDir, i: int, pools: Pools, world: Path,
              heldout: list[Task]) -> tuple[dict[str, float], str]:
    """Iteration ``i``'s stage: (its metrics, the student the tools use from now on);
    ``pools.executors`` are replaced with ones on that student."""
    rc, res = cfg.redistill, cfg.resources
    start = time.perf_counter()
    student = current_student(cfg, rd)
    grow_calls = _grow_calls(cfg, rd, i)
    eval_calls = read_calls(rd.tool_calls(i, "eval"))
    eval_rows = T.read_rows(rd.trajectories(i, "eval"))
    sources = {row[T.TASK_ID]: row[T.SOURCE] for row in eval_rows}
    failing = failing_tools(grow_calls)
    seed = _seed(cfg, i)
    arms = stage_objects(cfg, rd, i, world)
    targeted = arms[TARGETED]
    before = error_rates(eval_calls, [c["agree"] for c in eval_calls], failing)
    info: dict[str, float] = {f"{STAGE}/failing_tools": float(len(failing)), f"{STAGE}/crops": float(len(targeted))}
    info.update({f"{STAGE}/before/tool_error/{k}": v for k, v in before.items()})
    info.update({f"{STAGE}/before/{k.removeprefix('eval/')}": v
                 for k, v in phase_metrics(eval_rows, "eval").items() if k.startswith("eval/reward/")})
    budget = Budget(rc.steps, rc.batch_size, rc.lr, rc.mix)
    # On the head, beside the teacher and the distillation's data (the controller's cache) and
    # the run dir it writes the new student into: nothing of it is on another node's disk.
    head = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    task = ray.remote(redistill_for_tools).options(**task_options(res.learner_cpus, 0), scheduling_strategy=head)
    assert pools.inputs is not None  # spawn_pools sets them; each arm swaps in its student
    keep = None
    for arm, objects in arms.items():
        if not objects:
            print(f"re-distillation ({arm}): no crops (the tools made no mistake on train images); skipped")
            continue
        out_dir = rd.iteration(i) / "students" / arm
        result = ray.get(task.remote(Path(student), out_dir, world, objects, budget, seed))
        visual = dataclasses.replace(cfg.visual, student_dir=str(out_dir))
        inputs = pools.inputs.with_student(visual)  # the new student packed once: measured, then kept
        executor, measured = _measure(cfg, visual, inputs, pools, heldout, eval_calls, sources, arm)
        after = error_rates(eval_calls, measured["agree"], failing)
        info.update({f"{STAGE}/{arm}/tool_error/{k}": v for k, v in after.items()})
        info.update({f"{STAGE}/{arm}/{k.removeprefix(f'{STAGE}_{arm}/')}": v for k, v in
                     phase_metrics(measured["rows"], f"{STAGE}_{arm}").items() if "/reward/" in k})
        info.update({f"{STAGE}/{arm}/student/{k}": v for k, v in result["metrics"].items()})
        info.update({f"{STAGE}/{arm}/{k}": float(result[k]) for k in ("crops", "teacher_ood_labels", "train_s")})
        print(f"re-distillation ({arm}, {len(objects)} crops): held-out tool error on the failing primitives "
              f"{before['failing']:.3f} -> {after['failing']:.3f}", flush=True)
        if arm == TARGETED:
            keep = (executor, out_dir, visual, inputs)
            info.update({f"{STAGE}/before/student/{k}": v for k, v in result["before"].items()})
        else:
            ray.get(executor.close.remote())
            ray.kill(executor)
    if keep is not None:
        for old in pools.executors:
            ray.get(old.close.remote())
            ray.kill(old)
        executor, _, visual, pools.inputs = keep
        pools.executors = [executor, *spawn_executors(dataclasses.replace(
            cfg, visual=visual, resources=dataclasses.replace(res, executors=res.executors - 1)), pools.inputs)]
    info["time/redistill_s"] = time.perf_counter() - start
    return info, str(keep[1]) if keep is not None else student
