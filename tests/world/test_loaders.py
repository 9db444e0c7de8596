from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from visrep.world import image_path, load_scenes, load_tasks
from visrep.world.loaders import images_dir
from visrep.world.render import render_scene


def test_scenes_round_trip_to_identical_pngs(world: Path) -> None:
    """instances.json holds everything an image is drawn from: re-rendering gives the same PNG."""
    scenes = load_scenes(world)
    assert len(scenes) == len(list((world / "images").iterdir()))
    for image_id, scene in scenes.items():
        png = io.BytesIO()
        render_scene(scene).save(png, format="PNG")
        assert png.getvalue() == image_path(world, image_id).read_bytes(), image_id


def test_tasks_round_trip(world: Path) -> None:
    tasks = load_tasks(world)
    manifest = json.loads((world / "world.json").read_text())["counts"]
    for key, count in manifest.items():
        kind, split = key.split("/")
        if kind != "images":
            assert sum(t.kind == kind and t.split == split for t in tasks) == count
    assert len({t.id for t in tasks}) == len(tasks)
    assert all(t.id.startswith(t.kind + "/") and t.meta["template"] and t.meta["reference"] for t in tasks)
    assert all(image_path(world, i).is_file() for t in tasks for i in t.images)


@pytest.fixture()
def real(tmp_path: Path) -> Path:
    """Files in the shape real COCO / RefCOCO / GQA data comes in, without world extras."""
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "COCO_000042.jpg").write_bytes(b"")
    (tmp_path / "instances.json").write_text(json.dumps({
        "images": [{"id": 42, "file_name": "COCO_000042.jpg", "width": 640, "height": 480}],
        "annotations": [{"id": 7, "image_id": 42, "category_id": 1, "bbox": [10, 20, 30, 40],
                         "area": 1200, "iscrowd": 0}],
        "categories": [{"id": 1, "name": "person", "supercategory": "person"}],
    }))
    (tmp_path / "refs.json").write_text(json.dumps([
        {"ref_id": 5, "image_id": 42, "split": "testA", "ann_id": 7, "category_id": 1,
         "sentences": [{"sent": "man on the left", "sent_id": 1}, {"sent": "left guy", "sent_id": 2}]},
        {"ref_id": 6, "image_id": 42, "split": "val", "bbox": [1, 2, 3, 4],
         "sentences": [{"sent": "tiny thing"}]},
    ]))
    (tmp_path / "questions.json").write_text(json.dumps({
        "201307251": {"imageId": "COCO_000042", "question": "Is the man happy?", "answer": "yes",
                      "fullAnswer": "Yes, the man is happy.", "isBalanced": True},
    }))
    return tmp_path


def test_real_formats_load(real: Path) -> None:
    scene = load_scenes(real)["COCO_000042"]
    assert (scene.width, scene.height) == (640, 480)
    person = scene.objects[0]
    assert (person.shape, person.color, person.pattern, person.box) == (
        "person", "unknown", "unknown", (10.0, 20.0, 40.0, 60.0))
    tasks = {t.id: t for t in load_tasks(real)}
    assert sorted(tasks) == ["detect/5", "detect/5.1", "detect/6", "vqa/201307251"]
    assert tasks["detect/5.1"].text == "left guy" and tasks["detect/5"].split == "testA"
    assert tasks["detect/5"].annotation == {"boxes": [[10.0, 20.0, 40.0, 60.0]]}
    assert tasks["detect/6"].annotation == {"boxes": [[1.0, 2.0, 4.0, 6.0]]}
    assert tasks["vqa/201307251"].annotation == {"answer": "yes"} and tasks["vqa/201307251"].split == "unknown"
    assert [t.id for t in load_tasks(real, "val")] == ["detect/6"]
    assert all(t.meta == {} for t in tasks.values())  # no template, no reference program: absent
    assert image_path(real, "COCO_000042").suffix == ".jpg"


def test_questions_parsed_typed_read_as_the_checked_path(tmp_path: Path) -> None:
    """questions.json is parsed into typed records (msgspec, the fast path) and read again
    through the field checks when it does not parse so: both give the same tasks, record by
    record, over every optional field (and a bad record still fails in the checked path's words)."""
    from visrep.world.kinds import question_task
    from visrep.world.records import UNKNOWN

    records = {
        "1": {"imageId": "a", "question": "Q1?", "answer": "yes", "split": "val",
              "types": {"detailed": "existRelS", "semantic": "rel"}, "fullAnswer": "Yes."},
        "2": {"imageId": 2354786, "question": "Q2?", "answer": "yes", "types": None},  # GQA's int ids
        "3": {"imageId": "c", "question": "Q3?"},  # test/challenge: no answer
        "4": {"imageId": "d", "question": "Q4?", "answer": "no", "types": {"detailed": "existRelS"},
              "reference": "return 'no'"},
        "5": {"imageId": "e", "question": "Q5?", "answer": "no", "reference": "return 'no'"},
    }
    path = tmp_path / "questions.json"
    path.write_text(json.dumps(records))
    checked = [question_task(qid, q, path, UNKNOWN, {}) for qid, q in records.items()]
    assert load_tasks(tmp_path) == checked
    assert [t.split for t in checked] == ["val", UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN]
    assert checked[2].annotation == {} and checked[1].images == ("2354786",)
    path.write_text(json.dumps({**records, "6": {"imageId": True, "question": "Q?"}}))
    with pytest.raises(ValueError, match=r"questions.json: question 6: field 'imageId' has bad value True"):
        load_tasks(tmp_path)


@pytest.mark.parametrize("name,content,message", [
    ("questions.json", {"1": {"imageId": "a", "answer": "no"}},
     r"questions.json: question 1: missing field 'question'"),
    ("questions.json", [], r"questions.json: expected a JSON dict"),
    ("refs.json", [{"ref_id": 1, "image_id": "COCO_000042", "bbox": [1, 2, 3]}],
     r"refs.json: refs\[0\]: box \[1, 2, 3\] is not \[x, y, w, h\]"),
    ("refs.json", [{"ref_id": 1, "image_id": 99, "bbox": [1, 2, 3, 4], "sentences": []}],
     r"refs.json: refs\[0\]: image_id 99 not in instances.json"),
    ("retrieval.json", [{"id": 1, "caption": "c", "images": ["a"], "index": 3}],
     r"retrieval.json: retrieval\[0\]: index 3"),
    ("questions.json", {"1": {"imageId": "a", "question": "Q?", "answer": "no", "reference": None}},
     r"questions.json: question 1: field 'reference' has bad value None"),
    ("instances.json", "{not json", r"instances.json: cannot read JSON"),
])
def test_bad_input_names_file_and_fault(real: Path, name: str, content: object, message: str) -> None:
    path = real / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    loader = load_scenes if name == "instances.json" else load_tasks
    with pytest.raises(ValueError, match=message) as info:
        loader(real)
    assert "\n" not in str(info.value)


def test_missing_image_and_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no task file"):
        load_tasks(tmp_path)
    assert image_path(tmp_path, "x") == tmp_path / "images" / "x.png"  # not there: world's layout
    assert images_dir(tmp_path) == tmp_path / "images"
