"""Fixtures of the distillation tests: a small world and an untrained student checkpoint.

``student_dir`` is what ``visrep.vlm.student.load_student`` reads, made in about a second
(random image tower, the teacher's locked MiniLM text tower): enough for API contracts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from visrep.vlm.data import CLASSES, split_classes
from visrep.vlm.models import create_model
from visrep.vlm.student import save_student
from visrep.world import build_world


@pytest.fixture(scope="session")
def vlm_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_world(tmp_path_factory.mktemp("vlm") / "world", seed=3, image_size=96, min_objects=2,
                       max_objects=4, train_images=12, heldout_images=0, tasks_per_image=1,
                       retrieval_candidates=2, kinds=("detect",)).dir


@pytest.fixture(scope="session")
def student_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained student checkpoint directory (seeded)."""
    torch.manual_seed(0)
    teacher = create_model("visrep-teacher")
    student = create_model("visrep-student")
    student.model.load_state_dict(
        {k: v for k, v in teacher.model.state_dict().items() if not k.startswith("visual.")}, strict=False)
    student.lock_text()
    split = split_classes(0)
    return save_student(student, tmp_path_factory.mktemp("student") / "student", {
        "row": "untrained", "classes": list(CLASSES), "id_classes": list(split.id_classes),
        "ood_classes": list(split.ood_classes), "crop_margin": 0.15, "crop_size": 32,
        "teacher": "visrep-teacher", "temperature": 0.07, "metrics": {}})
