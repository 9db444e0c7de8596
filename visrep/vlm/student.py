"""The distilled student as the visual tools load it.

``load_student(dir)`` returns a :class:`~visrep.vlm.models.VLModel` in eval mode with

- ``image_size``: the square input side in pixels;
- ``preprocess(pil_images) -> Tensor (B, 3, H, W)``: RGB, resized, normalised;
- ``encode_images(Tensor (B, 3, H, W)) -> Tensor (B, D)``, L2-normalised;
- ``encode_texts(list[str]) -> Tensor (T, D)``, L2-normalised (the teacher's text tower);
- ``meta``: what ``student.json`` recorded (classes, split, crop margin, metrics).

Crops should be made as in training: :func:`visrep.vlm.data.object_crop` with
``meta["crop_margin"]`` (a square box grown by the margin, background outside the image).

A student directory's layout is :class:`StudentDir`'s alone: every module that reads or
writes one of its files asks it for the path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visrep.vlm.models import ModelError, VLModel, load_model, save_model

STUDENT_FILE = "student.json"


@dataclass(frozen=True)
class StudentDir:
    """The files of a distilled student directory (``<distill run>/student``).

    ``meta``: ``student.json`` (beside the model files: classes, split, crop margin);
    ``proposals``: the class-agnostic box detector (``visrep.vlm.proposals``);
    ``calibration``: the visual backend's fitted thresholds (``backend.json``).
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def meta(self) -> Path:
        return self.root / STUDENT_FILE

    @property
    def proposals(self) -> Path:
        return self.root / "proposals.pt"

    @property
    def calibration(self) -> Path:
        return self.root / "backend.json"

    def has_student(self) -> bool:
        """A distilled student was saved here."""
        return self.meta.is_file()

    def ready_for_tools(self) -> bool:
        """The visual backend can load it: proposals and calibration are both there."""
        return self.proposals.is_file() and self.calibration.is_file()


def save_student(vl: VLModel, out_dir: Path, meta: dict[str, Any]) -> Path:
    """Write the student checkpoint dir (model files plus ``student.json``)."""
    out = save_model(vl, Path(out_dir), {"role": "student"})
    StudentDir(out).meta.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return out


def load_student(ckpt_dir: str | Path) -> VLModel:
    """The student saved in ``ckpt_dir`` (``<distill run>/student``), ready for inference."""
    student = StudentDir(Path(ckpt_dir))
    if not student.has_student():
        raise ModelError(f"{student.root} is not a student checkpoint (no {STUDENT_FILE}); "
                         "run `python -m rayapps.distill` to make one")
    vl = load_model(student.root)
    vl.meta.update(json.loads(student.meta.read_text()))
    return vl.freeze()
