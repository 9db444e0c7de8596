"""Read a world directory back — the embedded world's files or real data of the same shape.

One set of loaders for both, so the self-training loop never knows whether its tasks
came from the shapes world or from COCO/RefCOCO/GQA files a user brought.  The formats are
described where they are written and read: instances.json in coco.py, each kind's task
file in kinds.py.  Bad input raises ValueError with one line naming the file and what is
wrong.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Mapping
from pathlib import Path

from visrep.world.coco import read_instances
from visrep.world.kinds import WORLD_KINDS
from visrep.world.records import HELDOUT, TRAIN_SPLIT, Scene, Task

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
ROLES = ("train", "heldout", "skip")  # what a dataset split may be used as (world.splits)


def load_scenes(root: Path) -> dict[str, Scene]:
    """Every image's scene (objects with attributes and boxes), keyed by image id."""
    return read_instances(root).scenes


def split_role(split: str, splits: Mapping[str, str] | None = None) -> str:
    """What a task of ``split`` is used as: ``splits[split]`` (``world.splits``) where given,
    else "train" for ``TRAIN_SPLIT`` and "heldout" for every other split."""
    role = (splits or {}).get(split, "train" if split == TRAIN_SPLIT else "heldout")
    if role not in ROLES:
        raise ValueError(f"world.splits: split {split!r} maps to {role!r}, not one of {', '.join(ROLES)}")
    return role


def in_split(task: Task, split: str | None, splits: Mapping[str, str] | None = None) -> bool:
    """Whether the task is of ``split``: None takes every task, ``TRAIN_SPLIT`` and ``HELDOUT``
    the tasks used as training or held out (``split_role``), any other name that split."""
    if split in (TRAIN_SPLIT, HELDOUT):
        return split_role(task.split, splits) == ("train" if split == TRAIN_SPLIT else "heldout")
    return split is None or task.split == split


def load_tasks(root: Path, split: str | None = None) -> list[Task]:
    """All tasks of the directory (by kind, in TASK_KINDS order), optionally of one split
    (``in_split``; a run's ``world.splits`` mapping is applied by its caller, to tasks read once)."""
    root = Path(root)
    present = [(root / spec.file, spec.read) for spec in WORLD_KINDS.values() if (root / spec.file).is_file()]
    if not present:
        raise ValueError(f"{root}: no task file ({', '.join(spec.file for spec in WORLD_KINDS.values())}); "
                         "GQA, RefCOCO or COCO files as distributed: python -m visrep.world convert first")
    with _collector_paused():
        tasks = [t for path, read in present for t in read(path)]
    return tasks if split is None else [t for t in tasks if in_split(t, split)]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a task file is read: reading makes a
    few small containers per task, none in a cycle, and on a 1 M-question world the
    collector's repeated full passes over them were a third of the load's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def images_dir(root: Path) -> Path:
    """The folder that holds a world directory's images (what pixel backends read)."""
    return Path(root) / "images"


def image_path(root: Path, image_id: str) -> Path:
    """The image file of an image id: images/<image_id> with one of ``IMAGE_SUFFIXES`` in
    lower or upper case (``.JPG``).  An image id keeps the folders of its ``file_name``
    (``coco.image_id_of``), so ``train2014/x`` is images/train2014/x.jpg.

    When no such file exists the .png path is returned (where a world writes it), so a
    missing image fails where it is opened, with the path in the error.
    """
    folder = images_dir(root)
    for suffix in IMAGE_SUFFIXES:
        for case in (suffix, suffix.upper()):
            if (folder / f"{image_id}{case}").is_file():
                return folder / f"{image_id}{case}"
    return folder / f"{image_id}{IMAGE_SUFFIXES[0]}"
