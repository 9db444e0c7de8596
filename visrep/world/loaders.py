"""Read a world directory back — the embedded world's files or real data of the same shape.

One set of loaders for both, so the self-training loop never knows whether its tasks
came from the shapes world or from COCO/RefCOCO/GQA files a user brought.  The formats are
described where they are written and read: instances.json in coco.py, each kind's task
file in kinds.py.  Bad input raises ValueError with one line naming the file and what is
wrong.
"""

from __future__ import annotations

from pathlib import Path

from visrep.world.coco import read_instances
from visrep.world.kinds import WORLD_KINDS
from visrep.world.records import HELDOUT, TRAIN_SPLIT, Scene, Task

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def load_scenes(root: Path) -> dict[str, Scene]:
    """Every image's scene (objects with attributes and boxes), keyed by image id."""
    return read_instances(root).scenes


def in_split(task: Task, split: str | None) -> bool:
    """Whether the task is of ``split``: None takes every task, ``HELDOUT`` every split but
    ``TRAIN_SPLIT`` (the generated held-out splits, or a real file's val/test splits)."""
    if split == HELDOUT:
        return task.split != TRAIN_SPLIT
    return split is None or task.split == split


def load_tasks(root: Path, split: str | None = None) -> list[Task]:
    """All tasks of the directory (by kind, in TASK_KINDS order), optionally of one split
    (``in_split``)."""
    root = Path(root)
    present = [(root / spec.file, spec.read) for spec in WORLD_KINDS.values() if (root / spec.file).is_file()]
    if not present:
        raise ValueError(f"{root}: no task file ({', '.join(spec.file for spec in WORLD_KINDS.values())})")
    tasks = [t for path, read in present for t in read(path)]
    return [t for t in tasks if in_split(t, split)]


def images_dir(root: Path) -> Path:
    """The folder that holds a world directory's images (what pixel backends read)."""
    return Path(root) / "images"


def image_path(root: Path, image_id: str) -> Path:
    """The image file of an image id: images/<image_id> with a .png/.jpg/.jpeg suffix.

    When no such file exists the .png path is returned (where a world writes it), so a
    missing image fails where it is opened, with the path in the error.
    """
    folder = images_dir(root)
    for suffix in IMAGE_SUFFIXES:
        if (folder / f"{image_id}{suffix}").is_file():
            return folder / f"{image_id}{suffix}"
    return folder / f"{image_id}{IMAGE_SUFFIXES[0]}"
