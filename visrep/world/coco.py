"""instances.json, COCO-style: every image's scene, written by the world and read back.

The world writes one category per colour × shape and adds color/size/pattern/shape to each
annotation.  Real COCO files lack those fields: they read as "unknown", and the category
name stands in for the shape.  Converted GQA scene graphs (``visrep.world.gqa``) add each
object's ``attributes`` and ``relations``.  Task files refer to images by COCO id (``Instances.ids``)
or to annotations by id (``Instances.annotations``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

from visrep.world.jsonio import box_to_xywh, dump_json, field, read_json, xywh_to_box
from visrep.world.records import COLORS, SHAPES, UNKNOWN, Scene, SceneObject

FILE = "instances.json"
CATEGORIES = [f"{c} {s}" for c in COLORS for s in SHAPES]  # category_id = index + 1


class Written(NamedTuple):
    """What ``write_instances`` numbered, for the task files that point into it."""

    coco_id: dict[str, int]  # image id → COCO image id
    annotation: dict[tuple[str, tuple[float, ...]], tuple[int, int]]  # (image id, box) → (ann id, category id)


class Instances(NamedTuple):
    """instances.json read back."""

    ids: dict[int, str]  # COCO image id → image id
    annotations: dict[Any, dict]  # annotation id → annotation
    scenes: dict[str, Scene]  # image id → scene


def write_instances(root: Path, scenes: list[tuple[Scene, str]],
                    file_names: dict[str, str] | None = None) -> Written:
    """Write the (scene, split) pairs to ``root/instances.json``; return the ids given.

    ``file_names`` (image id → path under the images folder) defaults to ``<id>.png``, where
    the shapes world renders.  A shapes world's categories are the 64 colour × shape
    classes; real data's are its object names.  An annotation carries the shapes world's
    color/size/pattern/shape when they are known, and real data's ``attributes`` and
    ``relations`` (each {"name", "object": the other annotation's id}) when it has any.
    """
    coco_id = {s.image_id: n + 1 for n, (s, _) in enumerate(scenes)}
    seen = {o.class_name for s, _ in scenes for o in s.objects}
    names = CATEGORIES if seen <= set(CATEGORIES) else sorted(seen)
    category_id = {name: n + 1 for n, name in enumerate(names)}
    images, annotations, numbered = [], [], {}
    for scene, split in scenes:
        images.append({"id": coco_id[scene.image_id],
                       "file_name": (file_names or {}).get(scene.image_id, f"{scene.image_id}.png"),
                       "width": scene.width, "height": scene.height, "split": split})
        first = len(annotations) + 1  # the scene's objects get consecutive ids from here
        for obj in scene.objects:
            x, y, w, h = box_to_xywh(obj.box)
            ann = {"id": len(annotations) + 1, "image_id": coco_id[scene.image_id],
                   "category_id": category_id[obj.class_name], "bbox": [x, y, w, h],
                   "area": w * h, "iscrowd": 0}
            if obj.color != UNKNOWN:
                ann.update(color=obj.color, size=obj.size, pattern=obj.pattern, shape=obj.shape)
            if obj.attributes:
                ann["attributes"] = list(obj.attributes)
            if obj.relations:
                ann["relations"] = [{"name": r, "object": first + k} for r, k in obj.relations]
            annotations.append(ann)
            numbered[(scene.image_id, tuple(obj.box))] = (ann["id"], ann["category_id"])
    categories = [{"id": n + 1, "name": name, "supercategory": name.split()[-1]} for n, name in enumerate(names)]
    dump_json(root / FILE, {"images": images, "annotations": annotations, "categories": categories})
    return Written(coco_id, numbered)


def image_id_of(file_name: str) -> str:
    """The image id of an image's ``file_name``: the path without its suffix, folders kept
    (``train2014/x.jpg`` → ``train2014/x``), so equal names in two folders stay two images
    and ``images/<id>.<suffix>`` (loaders.image_path) finds the file again."""
    return str(Path(file_name).with_suffix(""))


def read_instances(root: Path) -> Instances:
    """``root/instances.json`` read back (``read_instances_file``)."""
    return read_instances_file(Path(root) / FILE)


def read_instances_file(path: Path) -> Instances:
    """A COCO instances file (the world's, or COCO's own ``instances_<split>.json``), checked:
    ValueError naming the file and fault.

    Crowd regions (``iscrowd: 1``: a group of objects under one box) are kept as
    annotations, for a ref that names one, but are not objects of the scene.
    """
    if not Path(path).is_file():
        raise ValueError(f"{path}: no such file (a world's objects are COCO instances; GQA's scene graphs "
                         "are converted into them by python -m visrep.world convert gqa)")
    data = read_json(path, dict)
    categories = {field(c, "id", path, "category", int): field(c, "name", path, "category", str)
                  for c in field(data, "categories", path, "top level", list)}
    ids: dict[int, str] = {}
    sizes, objects, where_of = {}, {}, {}
    for n, image in enumerate(field(data, "images", path, "top level", list)):
        where = f"images[{n}]"
        image_id = image_id_of(field(image, "file_name", path, where, str))
        if image_id in where_of:
            raise ValueError(f"{path}: {where}: file_name {image['file_name']!r} is the image of "
                             f"{where_of[image_id]} too")
        where_of[image_id] = where
        ids[field(image, "id", path, where, int)] = image_id
        sizes[image_id] = (field(image, "width", path, where, int), field(image, "height", path, where, int))
        objects[image_id] = []
    annotations, index = {}, {}
    for n, ann in enumerate(field(data, "annotations", path, "top level", list)):
        where = f"annotations[{n}]"
        coco_image = field(ann, "image_id", path, where, int)
        category = field(ann, "category_id", path, where, int)
        if coco_image not in ids or category not in categories:
            raise ValueError(f"{path}: {where}: unknown image_id {coco_image} or category_id {category}")
        annotations[ann.get("id")] = ann
        box = xywh_to_box(field(ann, "bbox", path, where), path, where)
        if ann.get("iscrowd"):
            continue
        scene_objects = objects[ids[coco_image]]
        index[ann.get("id")] = len(scene_objects)
        scene_objects.append((ann, SceneObject(
            shape=ann.get("shape", categories[category]), color=ann.get("color", UNKNOWN),
            size=ann.get("size", UNKNOWN), pattern=ann.get("pattern", UNKNOWN), box=box,
            attributes=tuple(_words(ann, "attributes", path, where)),
        )))
    scenes = {i: Scene(i, *sizes[i], tuple(_related(obj, ann, index, path) for ann, obj in objs))
              for i, objs in objects.items()}
    return Instances(ids, annotations, scenes)


def _words(ann: dict, key: str, path: Path, where: str) -> list[str]:
    """An annotation's optional list of words (``attributes``), checked."""
    words = ann.get(key, [])
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ValueError(f"{path}: {where}: field {key!r} is not a list of words")
    return words


def _related(obj: SceneObject, ann: dict, index: dict[Any, int], path: Path) -> SceneObject:
    """``obj`` with its annotation's relations (``with_relations``), checked to be a list."""
    relations = ann.get("relations", [])
    if not isinstance(relations, list):
        raise ValueError(f"{path}: annotation {ann.get('id')}: field 'relations' is not a list")
    return with_relations(obj, relations, index)


def with_relations(obj: SceneObject, relations: Any, index: dict[Any, int]) -> SceneObject:
    """``obj`` with relations given as ``[{"name", "object": the other's id}]`` (GQA's scene
    graphs, and the instances file written from them), each to the index of the other object
    in the scene (``index``: id → index); one to an object not there (a crowd region, an
    unknown id) is dropped."""
    pairs = tuple((r["name"], index[r["object"]]) for r in relations
                  if isinstance(r, dict) and isinstance(r.get("name"), str) and r.get("object") in index)
    return dataclasses.replace(obj, relations=pairs) if pairs else obj
