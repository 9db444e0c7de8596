"""COCO captions as retrieval tasks: each caption against its image and hard negatives.

COCO's ``captions_<split>.json`` is ``{images: [...], annotations: [{id, image_id,
caption}]}``; the categories of each image come from the matching ``instances_<split>.json``.
A caption's candidates are its image and ``candidates - 1`` other images of the same split
that share the most object categories with it (Jaccard similarity of the category sets,
ties broken by a seeded draw): the images a caption's nouns alone cannot tell apart, so
the program has to check what the caption says about them.  The true image's position is
drawn too.  Each caption is one task, with the caption's annotation id as task id.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from visrep.world.coco import Instances
from visrep.world.jsonio import field, read_json
from visrep.world.records import Task

_ROWS = 1024  # images per block of the similarity matrix: ~4 MB per 1k images of the split


def hard_negatives(instances: Instances, images: list[str], count: int, seed: int) -> dict[str, list[str]]:
    """For each image, the ``count`` others of ``images`` whose category sets are most alike."""
    if len(images) <= count:
        raise ValueError(f"{count + 1} candidates per caption need more than {count} images of the split; "
                         f"it has {len(images)}")
    names = sorted({o.class_name for i in images for o in instances.scenes[i].objects})
    column = {name: n for n, name in enumerate(names)}
    member = np.zeros((len(images), max(len(names), 1)), dtype=np.float32)  # (I, C)
    for row, image in enumerate(images):
        for obj in instances.scenes[image].objects:
            member[row, column[obj.class_name]] = 1.0
    sizes = member.sum(1)
    noise = np.random.default_rng(seed).random((len(images),), dtype=np.float32) * 1e-3  # seeded ties
    out = {}
    for start in range(0, len(images), _ROWS):
        block = member[start:start + _ROWS]
        inter = block @ member.T  # (B, I)
        union = sizes[start:start + _ROWS, None] + sizes[None, :] - inter
        score = np.where(union > 0, inter / np.maximum(union, 1), 0.0) + noise[None, :]
        score[np.arange(len(block)), np.arange(start, start + len(block))] = -1.0  # never the image itself
        best = np.argsort(-score, axis=1)[:, :count]
        out.update({images[start + r]: [images[c] for c in best[r]] for r in range(len(block))})
    return out


def caption_tasks(path: Path, instances: Instances, split: str, candidates: int, seed: int) -> list[Task]:
    """The retrieval tasks of a COCO captions file of ``split``."""
    data = read_json(path, dict)
    captions = []
    for n, ann in enumerate(field(data, "annotations", path, "top level", list)):
        where = f"annotations[{n}]"
        image = field(ann, "image_id", path, where, int)
        if image not in instances.ids:
            raise ValueError(f"{path}: {where}: image_id {image} is not in the instances file")
        captions.append((field(ann, "id", path, where, (int, str)), instances.ids[image],
                         field(ann, "caption", path, where, str).strip()))
    images = sorted({image for _, image, _ in captions})
    negatives = hard_negatives(instances, images, candidates - 1, seed)
    rng = random.Random(f"{seed}:{split}")
    tasks = []
    for caption_id, image, text in captions:
        order = list(negatives[image])
        index = rng.randrange(candidates)
        order.insert(index, image)
        tasks.append(Task(f"retrieve/{caption_id}", "retrieve", text, tuple(order), {"index": index}, split))
    return tasks
