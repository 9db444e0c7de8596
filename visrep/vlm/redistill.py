"""Re-distillation: a distilled student fine-tuned on new crops that the *teacher* labels,
mixed with the student's original distillation data.

The closed loop of self-training hands this the crops of objects the student's tools got
wrong (on real data there is no oracle to label them; the teacher is the large model that
does).  Each crop's targets are the teacher's: its clean-view image embedding (for the mse
and contrastive terms) and its top class among *all* classes (for cls and vl-align), so a
crop of a class the student never saw is learnt as the teacher sees it.  Every batch mixes
``mix`` of the original ID training crops (their labels and cached teacher features), so
the student does not forget what it knew.  The compute is fixed by ``steps`` ×
``batch_size``, whatever the crops, so a control run on random crops costs the same.

Everything the fine-tune needs of the original distillation (its config, world, crops,
teacher, cached features) is found through the ``distill_run`` the student's
``student.json`` names (``visrep.vlm.distill.Distill`` rebuilds it, from its caches).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from visrep.vlm.config import CHECKPOINT_ROW, ROWS, load_distill_config
from visrep.vlm.data import CLASSES
from visrep.vlm.distill import Distill, Setup
from visrep.vlm.evaluate import student_metrics
from visrep.vlm.features import encode_crops
from visrep.vlm.losses import class_logits
from visrep.vlm.models import ModelError
from visrep.vlm.student import StudentDir, load_student, save_student
from visrep.vlm.train import distill_student


@dataclass(frozen=True)
class Budget:
    """The fixed compute of one re-distillation: ``steps`` batches of ``batch_size``, ``mix``
    of each from the original data, at learning rate ``lr`` (cosine decay, as distillation)."""

    steps: int
    batch_size: int
    lr: float
    mix: float


def _original_run(student: StudentDir) -> Distill:
    meta = json.loads(student.meta.read_text())
    run = Path(meta.get("distill_run", ""))
    if not (run / "config.yaml").is_file():
        raise ModelError(f"{student.root}: its student.json names no distillation run with a config.yaml "
                         f"({str(run) or 'no distill_run'}); re-distillation needs the teacher and data it came from")
    return Distill(load_distill_config(str(run / "config.yaml")), progress=False)


def _teacher_targets(setup: Setup, temperature: float,
                     images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(class weights (C, D), the teacher's embeddings (N, D), its top class (N,)) for
    ``images``: every class, so the teacher labels classes the student never saw too."""
    class_w = setup.class_weights[ROWS[CHECKPOINT_ROW][1]]
    targets = encode_crops(setup.teacher, images)
    return class_w, targets, class_logits(targets, class_w, temperature).argmax(-1)


def teacher_classes(student_dir: Path, images: torch.Tensor) -> list[str]:
    """The class the teacher behind ``student_dir`` gives each crop, as re-distillation
    labels it (for measuring those labels against annotations afterwards)."""
    job = _original_run(StudentDir(Path(student_dir)))
    _, _, labels = _teacher_targets(job.setup(), job.cfg.losses.temperature, images)
    return [CLASSES[i] for i in labels.tolist()]


def redistill(student_dir: Path, out_dir: Path, images: torch.Tensor, budget: Budget, seed: int,
              progress: bool = False) -> dict[str, Any]:
    """Fine-tune the student of ``student_dir`` on ``images`` ((N, 3, S, S) uint8 crops at the
    student's crop size and margin) mixed with its original data; save it to ``out_dir``.

    Returns the new student's ID/OOD accuracy and imitation metrics on the original
    held-out crops (``metrics``), the same for the student it started from (``before``),
    the fraction of new crops the teacher put in an OOD class, the training time, and the
    original distillation's world (``distill_world``, where the tools' calibration is fitted).
    """
    source = StudentDir(Path(student_dir))
    job = _original_run(source)
    setup = job.setup()
    cfg = job.cfg
    if images.shape[0] == 0:
        raise ValueError("re-distillation got no crops")
    terms, _ = ROWS[CHECKPOINT_ROW]
    class_w, targets, labels = _teacher_targets(setup, cfg.losses.temperature, images)
    crops, split = setup.crops, setup.split
    mine = crops.train & crops.of_classes(split.id_classes)
    gen = torch.Generator().manual_seed(seed)
    total = budget.steps * budget.batch_size
    new = torch.randint(images.shape[0], (total - round(total * budget.mix),), generator=gen)
    old = mine.nonzero().flatten()[torch.randint(int(mine.sum()), (round(total * budget.mix),), generator=gen)]
    student = load_student(source.root)
    student.model.visual.requires_grad_(True)
    train = dataclasses.replace(cfg.student, epochs=1, batch_size=budget.batch_size, lr=budget.lr)
    stats = distill_student(student, torch.cat([images[new], crops.images[old]]),
                            torch.cat([labels[new], crops.labels[old]]),
                            torch.cat([targets[new], setup.features[old]]), class_w,
                            {k: getattr(cfg.losses, k) for k in terms}, train, cfg.losses.temperature,
                            cfg.losses.top_k, seed, progress, desc="re-distil student")
    student.freeze()
    feats = encode_crops(student, crops.images)
    metrics = student_metrics(feats, setup.features, crops, split, class_w, cfg.eval, cfg.losses.temperature,
                              cfg.run.seed)
    meta = json.loads(source.meta.read_text())
    before = meta.get("metrics", {})
    teacher_ood = sum(CLASSES[i] not in split.id_classes for i in labels.tolist()) / len(labels)
    meta.update(metrics=metrics, redistilled_from=str(source.root),
                redistill={"crops": int(images.shape[0]), "steps": stats.steps, "seed": seed,
                           **dataclasses.asdict(budget)})
    save_student(student, out_dir, meta)
    return {"metrics": metrics, "before": before, "crops": int(images.shape[0]), "teacher_ood_labels": teacher_ood,
            "train_s": stats.seconds, "steps": stats.steps, "final_loss": stats.final_loss,
            "distill_world": str(setup.world)}
