"""Datasets as distributed → a world directory, converted once and reused.

A converted world is what the loaders read (instances.json, the kinds' task files,
world.json; ``visrep.world.build``'s layout), so the loop never knows where its tasks came
from.  Its manifest holds every input's path, size and modification time: converting the
same files again returns the world at once (no multi-GB parse), and changed files are
reported, not silently mixed.

Images stay where the user keeps them: ``<world>/images`` is a symlink to the one images
folder, or a folder of one symlink per split (``images/<split>`` → that split's folder,
file names prefixed ``<split>/``) when the splits' images sit apart, as COCO's train2017
and val2017 do.  Only the images a task names are kept; each must exist (any of
``loaders.IMAGE_SUFFIXES``, in either case), or the conversion stops naming it.

Task splits keep the dataset's names (GQA: the questions file's split; RefCOCO:
train/val/testA/testB); ``world.splits`` says which train and which are held out.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from visrep.world.build import WorldIndex, publish, write_formats
from visrep.world.captions import caption_tasks
from visrep.world.coco import read_instances_file
from visrep.world.gqa import read_questions, read_scene_graphs
from visrep.world.loaders import image_path
from visrep.world.records import Scene, Task
from visrep.world.refcoco import read_refs_pickle, ref_tasks

_SPLIT_IN_NAME = re.compile(r"(?:^|_)(train|val|testdev|test|challenge|submission)(?:\d{4})?(?:_|$)")


@dataclass(frozen=True)
class Source:
    """What a user brings: the dataset's files, each with its split where the file is one."""

    dataset: str  # gqa | refcoco | coco
    images: tuple[tuple[str, Path], ...]  # (split, folder); one ("", folder) when all sit together
    files: dict[str, tuple[tuple[str, Path], ...]] = field(default_factory=dict)  # role -> (split, file)
    candidates: int = 4  # coco: images per retrieval task
    seed: int = 0  # coco: the hard negatives' ties and the true image's position


@dataclass
class Converted:
    """A dataset read into the world's records: scenes by image id and the tasks."""

    scenes: dict[str, Scene]
    tasks: list[Task]
    notes: Counter = field(default_factory=Counter)  # what was dropped, and why


def split_of(path: Path) -> str:
    """The split a dataset file's name says (``val_balanced_questions.json`` → val,
    ``captions_train2017.json`` → train); ValueError when it says none."""
    m = _SPLIT_IN_NAME.search(Path(path).stem)
    if m is None:
        raise ValueError(f"{path}: the file name names no split (train, val, testdev, test ...): give SPLIT=FILE")
    return m.group(1)


def _gqa(source: Source) -> Converted:
    scenes: dict[str, Scene] = {}
    for _, path in source.files.get("scene_graphs", ()):
        scenes.update(read_scene_graphs(path))
    tasks = [t for split, path in source.files["questions"] for t in read_questions(path, split)]
    return Converted(scenes, tasks)


def _refcoco(source: Source) -> Converted:
    ((_, instances_file),), ((_, refs_file),) = source.files["instances"], source.files["refs"]
    coco = read_instances_file(instances_file)
    return Converted(coco.scenes, ref_tasks(read_refs_pickle(refs_file), coco, refs_file))


def _coco(source: Source) -> Converted:
    instances = {split: read_instances_file(path) for split, path in source.files["instances"]}
    scenes = {i: s for coco in instances.values() for i, s in coco.scenes.items()}
    tasks = []
    for split, path in source.files["captions"]:
        if split not in instances:
            raise ValueError(f"{path}: no instances file of split {split!r} gives its images' objects")
        tasks += caption_tasks(path, instances[split], split, source.candidates, source.seed)
    return Converted(scenes, tasks)


READERS: dict[str, Callable[[Source], Converted]] = {"gqa": _gqa, "refcoco": _refcoco, "coco": _coco}
ROLES: dict[str, tuple[str, ...]] = {  # each dataset's files, by role
    "gqa": ("questions", "scene_graphs"), "refcoco": ("refs", "instances"), "coco": ("instances", "captions"),
}


def _fingerprint(path: Path) -> list[Any]:
    """A file's absolute path, size and modification time: what says it is the same file."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def _params(source: Source) -> dict[str, Any]:
    for split, folder in source.images:
        if not Path(folder).is_dir():
            raise ValueError(f"images folder {folder} (split {split or 'all'}) does not exist")
    return {"dataset": source.dataset,
            "images": [[split, str(Path(folder).resolve())] for split, folder in source.images],
            "files": {role: [[split, *_fingerprint(Path(p))] for split, p in pairs]
                      for role, pairs in sorted(source.files.items())},
            "candidates": source.candidates, "seed": source.seed}


def _place_images(root: Path, source: Source, converted: Converted) -> dict[str, str]:
    """Link the images folder(s) into ``root/images``; return image id → file_name of every
    image a task names (ValueError naming the first that is missing)."""
    named = list(dict.fromkeys(i for t in converted.tasks for i in t.images))
    if len(source.images) == 1:
        os.symlink(Path(source.images[0][1]).resolve(), root / "images", target_is_directory=True)
        folders = {"": Path(source.images[0][1])}
    else:
        (root / "images").mkdir()
        for split, folder in source.images:
            os.symlink(Path(folder).resolve(), root / "images" / split, target_is_directory=True)
        folders = {f"{split}/": Path(folder) for split, folder in source.images}
    files = {}
    for image_id in named:
        for prefix in folders:
            found = image_path(root, prefix + image_id)
            if found.is_file():
                files[image_id] = str(found.relative_to(root / "images"))
                break
        else:
            where = ", ".join(str(f) for f in folders.values())
            raise ValueError(f"image {image_id!r} (of task {_first_task(converted.tasks, image_id)}) is not in {where}")
    return files


def _first_task(tasks: Iterable[Task], image_id: str) -> str:
    return next(t.id for t in tasks if image_id in t.images)


def _scenes_for(converted: Converted, root: Path, files: dict[str, str]) -> list[tuple[Scene, str]]:
    """(scene, split of its first task) of every image a task names; an image without a
    scene (GQA has no scene graphs for test images) gets an empty one of its file's size."""
    split_of_image: dict[str, str] = {}
    for task in converted.tasks:
        for image in task.images:
            split_of_image.setdefault(image, task.split)
    out = []
    for image_id, split in split_of_image.items():
        scene = converted.scenes.get(image_id)
        if scene is None:
            with Image.open(root / "images" / files[image_id]) as im:
                scene = Scene(image_id, im.width, im.height, ())
            converted.notes["images without annotations"] += 1
        out.append((scene, split))
    return out


def _write(root: Path, source: Source) -> dict[str, int]:
    converted = READERS[source.dataset](source)
    if not converted.tasks:
        raise ValueError(f"{source.dataset}: the files hold no task")
    files = _place_images(root, source, converted)
    scenes = _scenes_for(converted, root, files)
    if len(source.images) > 1:  # ids gain the split folder their file is in
        rename = {image_id: str(Path(name).with_suffix("")) for image_id, name in files.items()}
        scenes = [(Scene(rename[s.image_id], s.width, s.height, s.objects), split) for s, split in scenes]
        converted.tasks = [Task(t.id, t.kind, t.text, tuple(rename[i] for i in t.images), t.annotation, t.split,
                                t.meta) for t in converted.tasks]
        files = {rename[i]: name for i, name in files.items()}
    write_formats(root, scenes, converted.tasks, files)
    counts = Counter(f"{t.kind}/{t.split}" for t in converted.tasks)
    counts.update(f"images/{split}" for _, split in scenes)
    counts.update(converted.notes)
    return dict(sorted(counts.items()))


def convert(out_dir: Path, source: Source) -> WorldIndex:
    """The world converted from ``source`` in ``out_dir``: made once, reused while the
    inputs are the same files (``build.publish``).  Bad input raises ValueError, one line."""
    if source.dataset not in READERS:
        raise ValueError(f"unknown dataset {source.dataset!r} (known: {', '.join(READERS)})")
    missing = [role for role in ROLES[source.dataset] if not source.files.get(role)]
    if missing and not (source.dataset == "gqa" and missing == ["scene_graphs"]):
        raise ValueError(f"{source.dataset}: no {' or '.join(missing)} file given")
    return publish(Path(out_dir), _params(source), lambda tmp: _write(tmp, source))


def pairs(values: Sequence[str], infer: bool = True) -> tuple[tuple[str, Path], ...]:
    """``[SPLIT=]PATH`` arguments as (split, path); a bare path's split is its file name's
    (``split_of``) where ``infer``, else ""."""
    out = []
    for value in values:
        split, given, path = value.rpartition("=")
        if not given:
            split = split_of(Path(path)) if infer else ""
        out.append((split, Path(path)))
    return tuple(out)
