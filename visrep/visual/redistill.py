"""A re-distilled student made ready for the tools: crops of a world's objects, the
student fine-tuned on them (``visrep.vlm.redistill``), its proposals copied and its
calibration fitted again (the fine-tune moves its similarity scores)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from visrep.visual.calibration import prepare_student_dir
from visrep.vlm.data import crops_at
from visrep.vlm.redistill import Budget, redistill, teacher_classes
from visrep.vlm.student import StudentDir
from visrep.world import load_scenes
from visrep.world.records import Box


def redistill_for_tools(student_dir: Path, out_dir: Path, world_dir: Path, objects: Sequence[tuple[str, Box]],
                        budget: Budget, seed: int) -> dict[str, Any]:
    """Fine-tune the student of ``student_dir`` on the crops of ``objects`` (image id, box)
    of ``world_dir``; ``out_dir`` then holds a student the tools load.  Returns
    ``visrep.vlm.redistill.redistill``'s summary."""
    source = StudentDir(Path(student_dir))
    meta = json.loads(source.meta.read_text())
    images = crops_at(Path(world_dir), objects, int(meta["crop_size"]), float(meta["crop_margin"]))
    result = redistill(source.root, Path(out_dir), images, budget, seed)
    target = StudentDir(Path(out_dir))
    shutil.copyfile(source.proposals, target.proposals)
    prepare_student_dir(target.root, Path(result["distill_world"]))
    return result


def teacher_labels(student_dir: Path, world_dir: Path, objects: Sequence[tuple[str, Box]]) -> tuple[float, float]:
    """How the teacher labels the crops of ``objects`` when re-distilling ``student_dir``:
    (the fraction whose label is the world's class of the object, the fraction labelled
    with a class the student was distilled on)."""
    if not objects:
        return 0.0, 0.0
    meta = json.loads(StudentDir(Path(student_dir)).meta.read_text())
    images = crops_at(Path(world_dir), objects, int(meta["crop_size"]), float(meta["crop_margin"]))
    labels = teacher_classes(Path(student_dir), images)
    scenes = load_scenes(Path(world_dir))
    truth = [min(scenes[image].objects, key=lambda o: sum(abs(a - b) for a, b in zip(o.box, box))).class_name
             for image, box in objects]
    seen = set(meta.get("id_classes", ()))
    right = sum(a == b for a, b in zip(labels, truth)) / len(objects)
    return right, sum(label in seen for label in labels) / len(objects)
