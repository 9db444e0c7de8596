"""GQA as distributed: ``*_questions.json`` files (one per split) and ``*_sceneGraphs.json``.

Schemas (https://cs.stanford.edu/people/dorarad/gqa/download.html):

- questions: ``{qid: {imageId, question, answer, fullAnswer, isBalanced, types: {structural,
  semantic, detailed}, semantic: [...], annotations: {...}, ...}}``.  A file is one split and
  has no split field; test and challenge files have no ``answer`` (unlabelled tasks).
- scene graphs: ``{imageId: {width, height, objects: {objId: {name, x, y, w, h,
  attributes: [...], relations: [{name, object: objId}]}}}}``; GQA ships them for train and
  val images only.

A questions file is streamed (ijson), keeping only what a task needs, so it never sits in
memory whole: ``json.load`` of a 1 M-question file took 5.2 GB, the whole conversion
3.3 GB (``bench/gqa_load.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from visrep.world.coco import with_relations
from visrep.world.jsonio import field
from visrep.world.kinds import question_task
from visrep.world.records import UNKNOWN, Scene, SceneObject, Task
from visrep.world.streams import json_items


def read_questions(path: Path, split: str) -> Iterator[Task]:
    """The questions of one GQA questions file as vqa tasks of ``split``, streamed."""
    shared: dict = {}
    for qid, record in json_items(path, dict):
        yield question_task(qid, record, path, split, shared)


def _object(obj: Any, path: Path, where: str) -> SceneObject:
    x, y = field(obj, "x", path, where, (int, float)), field(obj, "y", path, where, (int, float))
    w, h = field(obj, "w", path, where, (int, float)), field(obj, "h", path, where, (int, float))
    attributes = field(obj, "attributes", path, where, list) if "attributes" in obj else []
    return SceneObject(shape=field(obj, "name", path, where, str), color=UNKNOWN, size=UNKNOWN, pattern=UNKNOWN,
                       box=(float(x), float(y), float(x + w), float(y + h)),
                       attributes=tuple(str(a) for a in attributes))


def _scene(image_id: str, graph: Any, path: Path) -> Scene:
    """One image's scene graph as a scene: objects with names, attributes and relations."""
    where = f"scene graph {image_id}"
    objects = field(graph, "objects", path, where, dict)
    index = {obj_id: n for n, obj_id in enumerate(objects)}
    out = tuple(with_relations(_object(obj, path, f"{where}: object {obj_id}"), obj.get("relations", []), index)
                for obj_id, obj in objects.items())
    return Scene(image_id, field(graph, "width", path, where, int), field(graph, "height", path, where, int),
                 out)


def read_scene_graphs(path: Path) -> dict[str, Scene]:
    """Every image's scene from a GQA scene-graphs file, keyed by image id."""
    return {str(image_id): _scene(str(image_id), graph, path) for image_id, graph in json_items(path, dict)}
