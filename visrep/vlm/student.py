"""The distilled student as the visual tools load it.

``load_student(dir)`` returns a :class:`~visrep.vlm.models.VLModel` in eval mode with

- ``image_size``: the square input side in pixels;
- ``preprocess(pil_images) -> Tensor (B, 3, H, W)``: RGB, resized, normalised;
- ``encode_images(Tensor (B, 3, H, W)) -> Tensor (B, D)``, L2-normalised;
- ``encode_texts(list[str]) -> Tensor (T, D)``, L2-normalised (the teacher's text tower);
- ``meta``: what ``student.json`` recorded (classes, split, crop margin, metrics).

Crops should be made as in training: :func:`visrep.vlm.data.object_crop` with
``meta["crop_margin"]`` (a square box grown by the margin, background outside the image).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from visrep.vlm.models import ModelError, VLModel, load_model, save_model

STUDENT_FILE = "student.json"


def save_student(vl: VLModel, out_dir: Path, meta: dict[str, Any]) -> Path:
    """Write the student checkpoint dir (model files plus ``student.json``)."""
    out = save_model(vl, Path(out_dir), {"role": "student"})
    (out / STUDENT_FILE).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return out


def load_student(ckpt_dir: str | Path) -> VLModel:
    """The student saved in ``ckpt_dir`` (``<distill run>/student``), ready for inference."""
    ckpt_dir = Path(ckpt_dir)
    if not (ckpt_dir / STUDENT_FILE).is_file():
        raise ModelError(f"{ckpt_dir} is not a student checkpoint (no {STUDENT_FILE}); "
                         "run `python -m rayapps.distill` to make one")
    vl = load_model(ckpt_dir)
    vl.meta.update(json.loads((ckpt_dir / STUDENT_FILE).read_text()))
    return vl.freeze()
