"""Datasets as distributed → worlds: GQA, RefCOCO and COCO captions, and every loader problem
a user bringing real files met (each handled, or reported in one line)."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
from pathlib import Path

import pytest
from realformats import GQA_QUESTIONS, REFS, write_coco, write_gqa, write_refcoco

from visrep.config import ExecutorConfig, VisualConfig, load_config
from visrep.programs.__main__ import main as programs_main
from visrep.programs.executor import executor_for_world
from visrep.programs.text import as_source
from visrep.world import build_world_from, image_path, load_scenes, load_tasks
from visrep.world.__main__ import main
from visrep.world.convert import Source, convert, split_of
from visrep.world.loaders import split_role
from visrep.world.records import UNKNOWN
from visrep.world.refcoco import read_refs_pickle


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real")
    write_gqa(root / "gqa")
    write_refcoco(root / "coco14")
    write_coco(root / "coco")
    return root


def _gqa_args(data: Path, out: Path) -> list[str]:
    g = data / "gqa"
    return ["convert", "gqa", str(out), "--images", str(g / "images"),
            *[a for s in ("train", "val", "test") for a in ("--questions", str(g / f"{s}_balanced_questions.json"))],
            *[a for s in ("train", "val") for a in ("--scene-graphs", str(g / f"{s}_sceneGraphs.json"))]]


def _refcoco_args(data: Path, out: Path) -> list[str]:
    c = data / "coco14"
    return ["convert", "refcoco", str(out), "--images", str(c / "train2014"),
            "--refs", str(c / "refcoco" / "refs(unc).p"), "--instances", str(c / "refcoco" / "instances.json")]


def _coco_args(data: Path, out: Path) -> list[str]:
    c = data / "coco"
    return ["convert", "coco", str(out), "--candidates", "3",
            *[a for s in ("train", "val") for a in ("--images", f"{s}={c / f'{s}2017'}",
                                                    "--instances", str(c / "annotations" / f"instances_{s}2017.json"),
                                                    "--captions", str(c / "annotations" / f"captions_{s}2017.json"))]]


@pytest.fixture(scope="module")
def gqa(data: Path) -> Path:
    assert main(_gqa_args(data, data / "w_gqa")) == 0
    return data / "w_gqa"


def test_gqa_questions_and_scene_graphs(gqa: Path, capsys: pytest.CaptureFixture) -> None:
    tasks = load_tasks(gqa)
    assert {t.split for t in tasks} == {"train", "val", "test"}  # the file is the split
    assert len(load_tasks(gqa, "train")) == len(GQA_QUESTIONS["train"])
    assert len(load_tasks(gqa, "heldout")) == len(GQA_QUESTIONS["val"]) + len(GQA_QUESTIONS["test"])
    labelled = {t.text: t.annotation for t in tasks}
    assert labelled["What color is the nose?"] == {"answer": "pink"}
    assert labelled["Is there a spoon?"] == {}  # test files have no answers: unlabelled, still loaded
    assert next(t for t in tasks if t.text == "Is the bench wooden?").meta == {"template": "verifyAttr"}
    scene = load_scenes(gqa)["2370001"]
    woman, flag = scene.objects[:2]
    assert (woman.shape, woman.color, woman.box) == ("woman", UNKNOWN, (20.0, 15.0, 365.0, 512.0))
    assert flag.attributes == ("american", "red", "white") and flag.relations == (("to the left of", 0),)
    assert load_scenes(gqa)["n390001"].objects == ()  # a test image: no scene graph, its size from the file
    assert image_path(gqa, "2380002").is_file()
    # a second conversion of the same files reuses the world without parsing them
    mtime = (gqa / "world.json").stat().st_mtime_ns
    assert main(_gqa_args(gqa.parent, gqa)) == 0
    assert (gqa / "world.json").stat().st_mtime_ns == mtime and "vqa/val=4" in capsys.readouterr().out


def test_refcoco_pickle_and_its_splits(data: Path) -> None:
    out = data / "w_ref"
    assert main(_refcoco_args(data, out)) == 0
    tasks = load_tasks(out)
    assert len(tasks) == sum(len(s) for s in REFS.values())  # one task per sentence
    assert {t.split for t in tasks} == {"train", "val", "testA", "testB"}
    assert len(load_tasks(out, "heldout")) == 5 and len(load_tasks(out, "train")) == 6
    motorbike = next(t for t in tasks if t.text == "the motorbike in the middle")
    assert motorbike.annotation == {"boxes": [[90.0, 95.0, 690.0, 450.0]]}
    assert motorbike.images == ("COCO_train2014_000000000009",)
    scene = load_scenes(out)["COCO_train2014_000000000009"]
    assert sorted(o.shape for o in scene.objects) == ["bench", "bicycle", "motorcycle"]  # the crowd region is not one
    assert image_path(out, motorbike.images[0]).is_file()


def test_coco_captions_become_retrieval_with_hard_negatives(data: Path) -> None:
    out = data / "w_coco"
    assert main(_coco_args(data, out)) == 0
    tasks = {t.text: t for t in load_tasks(out)}
    suit = tasks["A smiling woman in an orange space suit stands in front of a flag."]
    assert suit.split == "train" and len(suit.images) == 3
    assert suit.images[suit.annotation["index"]] == "train/000000001001"
    assert "train/000000001003" in suit.images  # the other photo with a person: the hardest negative
    assert all(i.startswith("val/") for i in tasks["A patch of green grass."].images)  # negatives of its own split
    assert all(image_path(out, i).is_file() for t in tasks.values() for i in t.images)


def test_world_splits_mapping() -> None:
    assert [split_role(s) for s in ("train", "val", "testA")] == ["train", "heldout", "heldout"]
    assert split_role("val", {"val": "train"}) == "train" and split_role("testB", {"testB": "skip"}) == "skip"
    with pytest.raises(ValueError, match="maps to 'dev'"):
        split_role("val", {"val": "dev"})
    assert [split_of(Path(n)) for n in ("val_balanced_questions.json", "captions_train2017.json",
                                        "testdev_all_questions.json")] == ["val", "train", "testdev"]


def test_plain_unpickler_refuses_code(tmp_path: Path) -> None:
    evil = tmp_path / "refs(unc).p"
    evil.write_bytes(pickle.dumps([{"ref_id": 1, "call": os.system}], protocol=2))
    with pytest.raises(ValueError, match=r"refs\(unc\)\.p: not a refs pickle of plain data \(refuses global posix"):
        read_refs_pickle(evil)
    reduce = tmp_path / "reduce.p"
    reduce.write_bytes(b"cos\nsystem\n(S'touch " + str(tmp_path / "pwned").encode() + b"'\ntR.")
    with pytest.raises(ValueError, match="refuses global os.system"):
        read_refs_pickle(reduce)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("case,message", [
    ("no images folder", r"images folder .*nowhere .*does not exist"),
    ("missing image", r"image '2380002' \(of task vqa/10000002\) is not in"),
    ("bad json", r"val_balanced_questions.json: cannot read JSON"),
    ("types not a dict", r"question 10000000: field 'types' has bad value 'x'"),
    ("no split in the name", r"questions.json: the file name names no split"),
    ("not a world dir", r"exists, is not empty and has no world.json"),
])
def test_conversion_errors_are_one_line(data: Path, tmp_path: Path, case: str, message: str,
                                        capsys: pytest.CaptureFixture) -> None:
    g = tmp_path / "gqa"
    write = {"val": json.loads((data / "gqa" / "val_balanced_questions.json").read_text())}
    images = data / "gqa" / "images"
    out = tmp_path / "out"
    if case == "no images folder":
        images = tmp_path / "nowhere"
    elif case == "missing image":
        images = tmp_path / "some_images"
        images.mkdir()
        (images / "2380001.jpg").symlink_to(data / "gqa" / "images" / "2380001.jpg")
    elif case == "types not a dict":
        write["val"]["10000000"]["types"] = "x"
    elif case == "not a world dir":
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    g.mkdir()
    questions = g / ("questions.json" if case == "no split in the name" else "val_balanced_questions.json")
    questions.write_text("{oops" if case == "bad json" else json.dumps(write["val"]))
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", "gqa", str(out), "--images", str(images), "--questions", str(questions),
              "--scene-graphs", str(data / "gqa" / "val_sceneGraphs.json")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert re.search(message, err), err
    assert not out.exists() or case == "not a world dir"  # nothing half-written
    assert not list(tmp_path.glob(".out.tmp*"))


def test_gqa_types_null_and_int_image_ids(tmp_path: Path) -> None:
    (tmp_path / "questions.json").write_text(json.dumps({
        "1": {"imageId": 2375429, "question": "Is it red?", "answer": "no", "types": None}}))
    (tmp_path / "instances.json").write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    (task,) = load_tasks(tmp_path)
    assert task.images == ("2375429",) and task.meta == {}


def test_image_files_as_users_keep_them(tmp_path: Path) -> None:
    """file_name folders and absolute paths are kept; .JPG/.webp/.bmp are found; two images of
    one base name in two folders stay two scenes."""
    (tmp_path / "images" / "a").mkdir(parents=True)
    (tmp_path / "images" / "b").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for rel in ("a/x.JPG", "b/x.webp", "y.bmp"):
        (tmp_path / "images" / rel).write_bytes(b"")
    (elsewhere / "z.jpeg").write_bytes(b"")
    files = ["a/x.JPG", "b/x.webp", "y.bmp", str(elsewhere / "z.jpeg")]
    (tmp_path / "instances.json").write_text(json.dumps({
        "images": [{"id": n, "file_name": f, "width": 4, "height": 4} for n, f in enumerate(files)],
        "annotations": [{"id": 1, "image_id": 0, "category_id": 1, "bbox": [0, 0, 2, 2], "iscrowd": 0},
                        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2], "iscrowd": 1}],
        "categories": [{"id": 1, "name": "person"}]}))
    scenes = load_scenes(tmp_path)
    assert len(scenes) == 4 and len(scenes["a/x"].objects) == 1 and scenes["b/x"].objects == ()
    assert [image_path(tmp_path, i).name for i in ("a/x", "b/x", "y", str(elsewhere / "z"))] == [
        "x.JPG", "x.webp", "y.bmp", "z.jpeg"]
    (tmp_path / "instances.json").write_text(json.dumps({
        "images": [{"id": n, "file_name": "x.jpg", "width": 4, "height": 4} for n in range(2)],
        "annotations": [], "categories": []}))
    with pytest.raises(ValueError, match=r"images\[1\]: file_name 'x.jpg' is the image of images\[0\] too"):
        load_scenes(tmp_path)


def test_source_needs_its_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="refcoco: no refs file given"):
        convert(tmp_path / "w", Source("refcoco", (("", tmp_path),), {"instances": (("", tmp_path / "i.json"),)}))
    with pytest.raises(ValueError, match="unknown dataset 'vqa2'"):
        convert(tmp_path / "w", Source("vqa2", (("", tmp_path),)))


def test_a_task_without_a_scene_fails_alone(gqa: Path) -> None:
    """A task naming an image the world has no scene of is that task's error, not the batch's."""
    good = load_tasks(gqa, "train")[0]
    stray = dataclasses.replace(good, id="vqa/stray", images=("no_such_image",))
    with executor_for_world(gqa, VisualConfig("oracle"), ExecutorConfig(workers=1)) as executor:
        source = as_source("return 'yes'")
        ok, bad = executor.run([(source, good), (source, stray)])
    assert (ok.status, ok.value) == ("ok", "yes")
    assert bad.status == "error"
    assert bad.error == "task vqa/stray: image 'no_such_image' is not in the world's instances.json"


def test_a_bad_world_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    program = tmp_path / "p.py"
    program.write_text("return 'yes'\n")
    assert programs_main(["run", str(program), "--world", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == f"error: world {tmp_path / 'nowhere'} does not exist\n"
    assert programs_main(["run", str(program), "--world", str(tmp_path)]) == 2  # a folder, but no world
    assert capsys.readouterr().err.startswith(f"error: {tmp_path}: no task file")


def test_world_refs_carry_what_refer_py_indexes(tmp_path: Path) -> None:
    """refer.py's createIndex reads ref_id, ann_id, category_id, image_id and each sentence's
    sent_id, tokens, raw and sent; the world's one-object refs have them all, pointing at the
    right annotation.  (A phrase naming several objects has ann_ids: refer.py has no form for it.)"""
    build_world_from(tmp_path, load_config("tiny").world)
    instances = json.loads((tmp_path / "instances.json").read_text())
    anns = {a["id"]: a for a in instances["annotations"]}
    refs = json.loads((tmp_path / "refs.json").read_text())
    single = [r for r in refs if "bbox" in r]
    assert single and len(single) + sum("ann_ids" in r for r in refs) == len(refs)
    for ref in single:
        ann = anns[ref["ann_id"]]
        assert (ann["bbox"], ann["category_id"], ann["image_id"]) == (ref["bbox"], ref["category_id"], ref["image_id"])
        assert ref["sent_ids"] == [s["sent_id"] for s in ref["sentences"]]
        assert all(s["tokens"] == s["sent"].split() and s["raw"] for s in ref["sentences"])


def test_raw_gqa_folder_as_a_world_says_convert(data: Path, tmp_path: Path) -> None:
    """GQA's files as downloaded are not a world: the loaders say so, and what to run."""
    raw = tmp_path / "gqa"
    raw.mkdir()
    (raw / "questions.json").write_text((data / "gqa" / "val_balanced_questions.json").read_text())
    (raw / "sceneGraphs.json").write_text((data / "gqa" / "val_sceneGraphs.json").read_text())
    with pytest.raises(ValueError, match=r"instances.json: no such file .*python -m visrep.world convert gqa"):
        load_scenes(raw)
    (raw / "questions.json").unlink()
    with pytest.raises(ValueError, match="no task file .*python -m visrep.world convert first"):
        load_tasks(raw)
