"""How right were the teacher's labels on the crops each re-distillation arm trained on?

    python bench/redistill_labels.py RUN_DIR [RUN_DIR ...]

For every finished re-distillation stage of the given self-training runs, the crops of both
arms are rebuilt exactly as the stage drew them (same grow calls, same seeds), the teacher
labels them as the stage did (top class among all classes), and the labels are compared with
the world's annotation of each object.  On real data there is no oracle at training time,
but there are annotations to measure with afterwards; this says whether a targeted arm that
did not help was taught the teacher's own mistakes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import visrep  # noqa: E402,F401  (first: applies the torchvision fix)
from rayapps.redistill import STAGE, stage_objects  # noqa: E402
from visrep.selftrain.rundir import RunDir, run_config  # noqa: E402
from visrep.selftrain.tasks import world_dir  # noqa: E402
from visrep.visual.redistill import teacher_labels  # noqa: E402


def main(runs: list[str]) -> None:
    print("| run | after iteration | arm | crops | teacher right | teacher's class in ID |")
    print("|---|---|---|---|---|---|")
    for root in runs:
        rd = RunDir(Path(root))
        cfg = run_config(rd)
        world = world_dir(rd.root, cfg.world)
        for i in rd.iterations():
            if not rd.done(i, STAGE):
                continue
            arms = stage_objects(cfg, rd, i, world)
            student = Path(rd.stage_info(i, STAGE)["student_dir"])  # any student of the run names its teacher
            for arm, objects in arms.items():
                right, id_share = teacher_labels(student, world, objects)
                print(f"| {rd.root.name} | {i} | {arm} | {len(objects)} | {right:.2f} | {id_share:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
