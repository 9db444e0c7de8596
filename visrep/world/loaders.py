"""Read a world directory back — the embedded world's files or real data of the same shape.

One set of loaders for both, so the self-training loop never knows whether its tasks
came from the shapes world or from COCO/RefCOCO/GQA files a user brought:

- instances.json (COCO): attribute fields are optional ("unknown" when absent; the
  category name then stands in for the shape).
- refs.json (RefCOCO): ``boxes`` (list), ``bbox`` or ``ann_id`` (looked up in
  instances.json), all [x, y, w, h]; ``image_id`` a COCO id or an image id string;
  one task per sentence.
- questions.json (GQA): ``split`` and ``types`` are optional.
- retrieval.json: a list of {id, caption, images, index, split}.

Records without a split get split "unknown".  Bad input raises ValueError with one line
naming the file and what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from visrep.world.records import Box, Scene, SceneObject, Task

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
UNKNOWN = "unknown"


def _read(path: Path, kind: type) -> Any:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read JSON ({exc})") from None
    if not isinstance(data, kind):
        raise ValueError(f"{path}: expected a JSON {kind.__name__} at the top level")
    return data


def _get(record: Any, key: str, path: Path, where: str, kind: type | tuple[type, ...] = object) -> Any:
    """record[key], checked; the error names the file, the record and the field."""
    if not isinstance(record, dict) or key not in record:
        raise ValueError(f"{path}: {where}: missing field {key!r}")
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ValueError(f"{path}: {where}: field {key!r} has bad value {value!r}")
    return value


def _box(xywh: Any, path: Path, where: str) -> Box:
    if not (isinstance(xywh, list) and len(xywh) == 4 and all(isinstance(v, (int, float)) for v in xywh)):
        raise ValueError(f"{path}: {where}: box {xywh!r} is not [x, y, w, h]")
    x, y, w, h = (float(v) for v in xywh)
    return (x, y, x + w, y + h)


def _instances(root: Path) -> tuple[dict[int, str], dict[int, dict], dict[str, Scene]]:
    """COCO id → image id, annotation id → annotation, and the scenes."""
    path = Path(root) / "instances.json"
    data = _read(path, dict)
    categories = {_get(c, "id", path, "category", int): _get(c, "name", path, "category", str)
                  for c in _get(data, "categories", path, "top level", list)}
    ids, sizes, objects = {}, {}, {}
    for n, image in enumerate(_get(data, "images", path, "top level", list)):
        where = f"images[{n}]"
        image_id = Path(_get(image, "file_name", path, where, str)).stem
        ids[_get(image, "id", path, where, int)] = image_id
        sizes[image_id] = (_get(image, "width", path, where, int), _get(image, "height", path, where, int))
        objects[image_id] = []
    annotations = {}
    for n, ann in enumerate(_get(data, "annotations", path, "top level", list)):
        where = f"annotations[{n}]"
        coco_image = _get(ann, "image_id", path, where, int)
        category = _get(ann, "category_id", path, where, int)
        if coco_image not in ids or category not in categories:
            raise ValueError(f"{path}: {where}: unknown image_id {coco_image} or category_id {category}")
        annotations[ann.get("id")] = ann
        objects[ids[coco_image]].append(SceneObject(
            shape=ann.get("shape", categories[category]), color=ann.get("color", UNKNOWN),
            size=ann.get("size", UNKNOWN), pattern=ann.get("pattern", UNKNOWN),
            box=_box(_get(ann, "bbox", path, where), path, where),
        ))
    scenes = {i: Scene(i, *sizes[i], tuple(objs)) for i, objs in objects.items()}
    return ids, annotations, scenes


def load_scenes(root: Path) -> dict[str, Scene]:
    """Every image's scene (objects with attributes and boxes), keyed by image id."""
    return _instances(root)[2]


def _ref_tasks(root: Path, path: Path) -> list[Task]:
    tasks, coco = [], None
    for n, ref in enumerate(_read(path, list)):
        where = f"refs[{n}]"
        image = _get(ref, "image_id", path, where, (int, str))
        if coco is None and (isinstance(image, int) or not ("bbox" in ref or "boxes" in ref)):
            coco = _instances(root)  # COCO ids and ann_ids are resolved through instances.json
        if isinstance(image, int):
            if image not in coco[0]:
                raise ValueError(f"{path}: {where}: image_id {image} not in instances.json")
            image = coco[0][image]
        if "boxes" in ref:
            boxes = [_box(b, path, where) for b in _get(ref, "boxes", path, where, list)]
        elif "bbox" in ref:
            boxes = [_box(ref["bbox"], path, where)]
        elif ref.get("ann_id") in coco[1]:
            boxes = [_box(coco[1][ref["ann_id"]].get("bbox"), path, where)]
        else:
            raise ValueError(f"{path}: {where}: needs 'boxes', 'bbox' or an 'ann_id' in instances.json")
        ref_id = _get(ref, "ref_id", path, where, (int, str))
        meta = {"template": ref["template"]} if "template" in ref else {}
        for k, sentence in enumerate(_get(ref, "sentences", path, where, list)):
            text = _get(sentence, "sent", path, f"{where}.sentences[{k}]", str)
            tid = f"detect/{ref_id}" + (f".{k}" if k else "")
            tasks.append(Task(tid, "detect", text, (image,), {"boxes": [list(b) for b in boxes]},
                              ref.get("split", UNKNOWN), meta))
    return tasks


def _question_tasks(path: Path) -> list[Task]:
    tasks = []
    for qid, q in _read(path, dict).items():
        where = f"question {qid}"
        template = q.get("types", {}).get("detailed") if isinstance(q, dict) else None
        tasks.append(Task(
            f"vqa/{qid}", "vqa", _get(q, "question", path, where, str),
            (_get(q, "imageId", path, where, str),),
            {"answer": _get(q, "answer", path, where, str)}, q.get("split", UNKNOWN),
            {"template": template} if template else {},
        ))
    return tasks


def _retrieval_tasks(path: Path) -> list[Task]:
    tasks = []
    for n, r in enumerate(_read(path, list)):
        where = f"retrieval[{n}]"
        images = tuple(_get(r, "images", path, where, list))
        index = _get(r, "index", path, where, int)
        if not images or not all(isinstance(i, str) for i in images) or not 0 <= index < len(images):
            raise ValueError(f"{path}: {where}: index {index} does not pick one of images {list(images)}")
        tasks.append(Task(
            f"retrieve/{_get(r, 'id', path, where, (int, str))}", "retrieve",
            _get(r, "caption", path, where, str), images, {"index": index},
            r.get("split", UNKNOWN), {"template": r["template"]} if "template" in r else {},
        ))
    return tasks


def load_tasks(root: Path, split: str | None = None) -> list[Task]:
    """All tasks of the directory (detect, then vqa, then retrieve), optionally one split."""
    root = Path(root)
    files = {"refs.json": lambda p: _ref_tasks(root, p), "questions.json": _question_tasks,
             "retrieval.json": _retrieval_tasks}
    present = [(root / name, read) for name, read in files.items() if (root / name).is_file()]
    if not present:
        raise ValueError(f"{root}: no task file (refs.json, questions.json, retrieval.json)")
    tasks = [t for path, read in present for t in read(path)]
    return [t for t in tasks if split is None or t.split == split]


def image_path(root: Path, image_id: str) -> Path:
    """The image file of an image id: images/<image_id> with a .png/.jpg/.jpeg suffix.

    When no such file exists the .png path is returned (where a world writes it), so
    ``image_path(root, "").parent`` names the image folder and a missing image fails
    where it is opened, with the path in the error.
    """
    folder = Path(root) / "images"
    for suffix in IMAGE_SUFFIXES:
        if (folder / f"{image_id}{suffix}").is_file():
            return folder / f"{image_id}{suffix}"
    return folder / f"{image_id}{IMAGE_SUFFIXES[0]}"
