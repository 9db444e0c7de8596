"""Build the shapes world on disk, in the formats real data comes in.

Layout of a world directory::

    images/<image_id>.png   train_*, heldout_* and their retrieval negatives (*_negK)
    instances.json          COCO-style; annotations carry color/size/pattern/shape too (coco.py)
    refs.json               RefCOCO-style refs (bbox, or boxes for "all ..." phrases)
    questions.json          GQA-style questions
    retrieval.json          captions with candidate image ids and the true index
    world.json              manifest (parameters and counts), written last

Training images give "train" tasks; held-out images give the held-out splits
(records.HELDOUT_SPLITS) in turn, image n the split n mod 4, so each split has its own
images and about a quarter of the held-out tasks (which families and wordings each split
uses: language.py).

The task files are the kinds' (kinds.WORLD_KINDS); each is written, empty when its kind
was not asked for, so a world always has the same files.

Each image's content comes from ``random.Random(f"{seed}:{image_id}")``, so a world is a
pure function of its parameters (byte-identical json) and growing train_images leaves the
existing images unchanged.  The world is written to a temporary sibling directory and
renamed into place, so a crash never leaves a half world that a later run would trust.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visrep.config import WorldConfig
from visrep.world.coco import write_instances
from visrep.world.jsonio import dump_json
from visrep.world.kinds import WORLD_KINDS
from visrep.world.records import HELDOUT_SPLITS, TRAIN_SPLIT, Scene, Task
from visrep.world.render import render_scene
from visrep.world.scenes import generate_scene

MANIFEST = "world.json"
FORMAT_VERSION = 3  # 2: held-out tasks split by what they test; 3: y-up references (ViperGPT), refer.py keys
SPLITS = {"train": "train_images", "heldout": "heldout_images"}  # image id prefix -> count parameter


@dataclass(frozen=True)
class WorldIndex:
    """A built world: where it is, what made it, and how many tasks of each kind/split."""

    dir: Path
    params: dict[str, Any]
    counts: dict[str, int]  # "kind/split" -> tasks, plus "images/split"


def build_world(
    out_dir: Path, *, seed: int, image_size: int, min_objects: int, max_objects: int,
    train_images: int, heldout_images: int, tasks_per_image: int, retrieval_candidates: int,
    kinds: tuple[str, ...] | list[str],
) -> WorldIndex:
    """Build the world into ``out_dir``, or reuse the one there if its parameters match.

    Raises ValueError if ``out_dir`` holds a world built with other parameters, or holds
    files that are not a world.
    """
    unknown = {kind for kind in kinds if kind not in WORLD_KINDS}
    if unknown or retrieval_candidates < 2:
        raise ValueError(f"bad world parameters: unknown kinds {sorted(unknown)} or "
                         f"retrieval_candidates {retrieval_candidates} < 2")
    params = {
        "seed": seed, "image_size": image_size, "min_objects": min_objects,
        "max_objects": max_objects, "train_images": train_images,
        "heldout_images": heldout_images, "tasks_per_image": tasks_per_image,
        "retrieval_candidates": retrieval_candidates, "kinds": list(kinds),
    }
    return publish(Path(out_dir), params, lambda tmp: _write(tmp, params))


def publish(out_dir: Path, params: dict[str, Any], write: Callable[[Path], dict[str, int]]) -> WorldIndex:
    """The world of ``params`` in ``out_dir``: the one there if its manifest says the same
    ``params``, else ``write(tmp)`` into a temporary sibling (which returns the counts),
    renamed into place with its manifest, so a crash never leaves a half world.

    Raises ValueError if ``out_dir`` holds a world of other parameters or files that are
    not a world.
    """
    existing = _existing(out_dir, params)
    if existing:
        return existing
    tmp = out_dir.parent / f".{out_dir.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        counts = write(tmp)
        dump_json(tmp / MANIFEST, {"format": FORMAT_VERSION, "params": params, "counts": counts})
        if out_dir.is_dir():
            out_dir.rmdir()  # empty, or _existing would have raised
        os.rename(tmp, out_dir)
    except OSError:
        if not (out_dir / MANIFEST).is_file():  # not a concurrent builder finishing first
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _existing(out_dir, params)


def build_world_from(out_dir: Path, cfg: WorldConfig) -> WorldIndex:
    """``build_world`` with the parameters of a ``world:`` config section."""
    params = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in ("dir", "splits")}
    return build_world(out_dir, **params)


def _existing(out_dir: Path, params: dict[str, Any]) -> WorldIndex | None:
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        if out_dir.exists() and any(out_dir.iterdir()):
            raise ValueError(f"{out_dir} exists, is not empty and has no {MANIFEST}: not a world")
        return None
    found = json.loads(manifest.read_text())
    if found.get("format") != FORMAT_VERSION:
        raise ValueError(f"{out_dir} holds a world of format {found.get('format')} (this visrep writes "
                         f"{FORMAT_VERSION}); remove it or build elsewhere")
    if found.get("params") != params:
        diff = {k: (found.get("params", {}).get(k), v) for k, v in params.items()
                if found.get("params", {}).get(k) != v}
        raise ValueError(f"{out_dir} holds a world with other parameters (found, wanted): {diff}; "
                         "remove it or build elsewhere")
    return WorldIndex(out_dir, params, found["counts"])


def _image_tasks(
    scene: Scene, rng: random.Random, split: str, params: dict[str, Any], first: int,
) -> tuple[list[Task], list[Scene]]:
    """tasks_per_image tasks of each kind for one image (numbered from ``first``), and the
    retrieval negatives they need rendered."""
    tasks: list[Task] = []
    negatives: list[Scene] = []
    for kind in params["kinds"]:
        generate = WORLD_KINDS[kind].generate
        for _ in range(params["tasks_per_image"]):
            tid = f"{kind}/{first + len(tasks)}"
            n = len(negatives)
            ids = [f"{scene.image_id}_neg{n + k}" for k in range(1, params["retrieval_candidates"])]
            made = generate(scene, rng, tid, split, ids)
            if made:
                tasks.append(made[0])
                negatives += made[1]
    return tasks, negatives


def _write(root: Path, params: dict[str, Any]) -> dict[str, int]:
    """Generate, render and write every image and task; return the counts."""
    (root / "images").mkdir()
    scenes: list[tuple[Scene, str]] = []
    tasks: list[Task] = []
    for split, count_key in SPLITS.items():
        for n in range(params[count_key]):
            image_id = f"{split}_{n:05d}"
            rng = random.Random(f"{params['seed']}:{image_id}")
            scene = generate_scene(
                rng, image_id, params["image_size"], params["min_objects"], params["max_objects"],
            )
            task_split = TRAIN_SPLIT if split == "train" else HELDOUT_SPLITS[n % len(HELDOUT_SPLITS)]
            image_tasks, negatives = _image_tasks(scene, rng, task_split, params, len(tasks))
            tasks += image_tasks
            scenes += [(s, split) for s in (scene, *negatives)]
    for scene, _ in scenes:
        render_scene(scene).save(root / "images" / f"{scene.image_id}.png", format="PNG")
    write_formats(root, scenes, tasks)
    counts = Counter(f"{t.kind}/{t.split}" for t in tasks)
    counts.update(f"images/{split}" for _, split in scenes)
    return dict(sorted(counts.items()))


def write_formats(root: Path, scenes: list[tuple[Scene, str]], tasks: list[Task],
                  file_names: dict[str, str] | None = None) -> None:
    """instances.json (``file_names`` as ``write_instances``), and every kind's task file
    (its tasks in the order given)."""
    written = write_instances(root, scenes, file_names)
    for kind, spec in WORLD_KINDS.items():
        dump_json(root / spec.file, spec.write([t for t in tasks if t.kind == kind], written))
