"""instances.json, COCO-style: every image's scene, written by the world and read back.

The world writes one category per colour × shape and adds color/size/pattern/shape to each
annotation.  Real COCO files lack those fields: they read as "unknown", and the category
name stands in for the shape.  Task files refer to images by COCO id (``Instances.ids``)
or to annotations by id (``Instances.annotations``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from visrep.world.jsonio import box_to_xywh, dump_json, field, read_json, xywh_to_box
from visrep.world.records import COLORS, SHAPES, UNKNOWN, Scene, SceneObject

FILE = "instances.json"
CATEGORIES = [f"{c} {s}" for c in COLORS for s in SHAPES]  # category_id = index + 1


class Instances(NamedTuple):
    """instances.json read back."""

    ids: dict[int, str]  # COCO image id → image id
    annotations: dict[Any, dict]  # annotation id → annotation
    scenes: dict[str, Scene]  # image id → scene


def write_instances(root: Path, scenes: list[tuple[Scene, str]]) -> dict[str, int]:
    """Write the (scene, split) pairs to ``root/instances.json``; return image id → COCO id."""
    coco_id = {s.image_id: n + 1 for n, (s, _) in enumerate(scenes)}
    images, annotations = [], []
    for scene, split in scenes:
        images.append({"id": coco_id[scene.image_id], "file_name": f"{scene.image_id}.png",
                       "width": scene.width, "height": scene.height, "split": split})
        for obj in scene.objects:
            x, y, w, h = box_to_xywh(obj.box)
            annotations.append({
                "id": len(annotations) + 1, "image_id": coco_id[scene.image_id],
                "category_id": CATEGORIES.index(obj.class_name) + 1, "bbox": [x, y, w, h],
                "area": w * h, "iscrowd": 0, "color": obj.color, "size": obj.size,
                "pattern": obj.pattern, "shape": obj.shape,
            })
    categories = [{"id": n + 1, "name": name, "supercategory": name.split()[1]}
                  for n, name in enumerate(CATEGORIES)]
    dump_json(root / FILE, {"images": images, "annotations": annotations, "categories": categories})
    return coco_id


def read_instances(root: Path) -> Instances:
    """``root/instances.json`` read back, checked (ValueError naming the file and fault)."""
    path = Path(root) / FILE
    data = read_json(path, dict)
    categories = {field(c, "id", path, "category", int): field(c, "name", path, "category", str)
                  for c in field(data, "categories", path, "top level", list)}
    ids, sizes, objects = {}, {}, {}
    for n, image in enumerate(field(data, "images", path, "top level", list)):
        where = f"images[{n}]"
        image_id = Path(field(image, "file_name", path, where, str)).stem
        ids[field(image, "id", path, where, int)] = image_id
        sizes[image_id] = (field(image, "width", path, where, int), field(image, "height", path, where, int))
        objects[image_id] = []
    annotations = {}
    for n, ann in enumerate(field(data, "annotations", path, "top level", list)):
        where = f"annotations[{n}]"
        coco_image = field(ann, "image_id", path, where, int)
        category = field(ann, "category_id", path, where, int)
        if coco_image not in ids or category not in categories:
            raise ValueError(f"{path}: {where}: unknown image_id {coco_image} or category_id {category}")
        annotations[ann.get("id")] = ann
        objects[ids[coco_image]].append(SceneObject(
            shape=ann.get("shape", categories[category]), color=ann.get("color", UNKNOWN),
            size=ann.get("size", UNKNOWN), pattern=ann.get("pattern", UNKNOWN),
            box=xywh_to_box(field(ann, "bbox", path, where), path, where),
        ))
    scenes = {i: Scene(i, *sizes[i], tuple(objs)) for i, objs in objects.items()}
    return Instances(ids, annotations, scenes)
