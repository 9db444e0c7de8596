from __future__ import annotations

import json
from pathlib import Path

import pytest

from visrep.world import build_world, load_tasks
from visrep.world.__main__ import main


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_builds_identical_bytes(world: Path, tmp_path: Path, small: dict) -> None:
    again = build_world(tmp_path / "again", **small).dir
    assert files(again) == files(world)
    other = build_world(tmp_path / "other", **{**small, "seed": 8}).dir
    assert files(other)["questions.json"] != files(world)["questions.json"]


def test_more_images_leave_existing_images_unchanged(world: Path, tmp_path: Path, small: dict) -> None:
    bigger = build_world(tmp_path / "big", **{**small, "train_images": 12}).dir
    assert (bigger / "images/train_00003.png").read_bytes() == (world / "images/train_00003.png").read_bytes()


def test_splits_are_disjoint(world: Path, small: dict) -> None:
    instances = json.loads((world / "instances.json").read_text())
    split_of = {Path(i["file_name"]).stem: i["split"] for i in instances["images"]}
    assert {i.split("_")[0] for i in split_of} == {"train", "heldout"}
    assert all(image_id.startswith(split) for image_id, split in split_of.items())
    assert sorted(p.stem for p in (world / "images").iterdir()) == sorted(split_of)
    for split in ("train", "heldout"):
        tasks = load_tasks(world, split)
        assert tasks and all(split_of[i] == split for t in tasks for i in t.images)
    manifest = json.loads((world / "world.json").read_text())
    assert manifest["counts"]["vqa/train"] == small["train_images"] * small["tasks_per_image"]


def test_reuse_and_parameter_clash(world: Path, small: dict) -> None:
    before = (world / "world.json").stat().st_mtime_ns
    assert build_world(world, **small).counts == json.loads((world / "world.json").read_text())["counts"]
    assert (world / "world.json").stat().st_mtime_ns == before
    with pytest.raises(ValueError, match=r"other parameters .*'seed': \(7, 9\)"):
        build_world(world, **{**small, "seed": 9})


def test_refuses_foreign_directory_and_leaves_no_temp(tmp_path: Path, small: dict) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="not a world"):
        build_world(tmp_path / "mine", **small)
    (tmp_path / "empty").mkdir()
    build_world(tmp_path / "empty", **{**small, "kinds": ("vqa",)})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "mine"]
    assert {t.kind for t in load_tasks(tmp_path / "empty")} == {"vqa"}


def test_cli_builds_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", str(tmp_path / "w"), "--train-images", "3", "--heldout-images", "2"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0 and "vqa/train=3" in out and "retrieve/seen=1" in out and "retrieve/paraphrase=1" in out
    with pytest.raises(SystemExit):
        main(["build", str(tmp_path / "w"), "--seed", "1"])
    assert "other parameters" in capsys.readouterr().err
