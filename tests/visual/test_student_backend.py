"""The student backend's contract: every primitive's return type, empty answers for an
empty region, calibration round trip, and the one-line errors of a missing student dir."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from stand_in import TinyEncoder

from visrep.visual.api import ImagePatch, api_namespace
from visrep.visual.backend import VisualBackend, make_backend
from visrep.visual.calibration import calibrate, prepare_student_dir
from visrep.visual.grammar import UnsupportedQuery
from visrep.visual.oracle import OracleBackend
from visrep.visual.student import (
    Calibration,
    CropEncoder,
    StudentBackend,
    load_calibration,
    load_student_backend,
    save_calibration,
)
from visrep.vlm.proposals import load_proposals, train_proposals
from visrep.vlm.student import StudentDir
from visrep.world import build_world, load_scenes


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny world and a student dir with a quickly trained detector and a calibration."""
    root = tmp_path_factory.mktemp("student")
    world = build_world(root / "world", seed=5, image_size=96, min_objects=2, max_objects=4,
                        train_images=10, heldout_images=3, tasks_per_image=1,
                        retrieval_candidates=2, kinds=("detect", "vqa", "retrieve"))
    torch.set_num_threads(1)
    student = StudentDir(root / "student")
    train_proposals(world.dir, student.proposals, steps=300, batch_size=8, width=16, input_size=96)
    encoder = TinyEncoder()
    calibration = calibrate(encoder, load_proposals(student.proposals), world.dir, images=6,
                            phrases_per_image=4)
    save_calibration(calibration, student.calibration)
    assert student.ready_for_tools()
    return world.dir, student.root


@pytest.fixture(scope="module")
def backend(prepared: tuple[Path, Path]) -> StudentBackend:
    world, student = prepared
    return load_student_backend(student, world / "images", encoder=TinyEncoder())


def test_stand_in_is_a_crop_encoder() -> None:
    encoder: CropEncoder = TinyEncoder()
    red = Image.new("RGB", (20, 16), (200, 10, 10))
    x = encoder.preprocess([red, red])
    assert x.shape == (2, 3, encoder.image_size, encoder.image_size)
    assert torch.allclose(encoder.encode_images(x).norm(dim=1), torch.ones(2))
    assert torch.allclose(encoder.encode_texts(["a red star", "blue"]).norm(dim=1), torch.ones(2))


def test_calibration_round_trips(prepared: tuple[Path, Path]) -> None:
    _, student = prepared
    calibration = load_calibration(StudentDir(student).calibration)
    assert isinstance(calibration, Calibration)
    assert calibration.temperature > 0 and 0.0 < calibration.large_side < 1.0
    assert 0.0 <= calibration.f1 <= 1.0


def test_prepare_student_dir_calibrates_beside_an_existing_detector(prepared: tuple[Path, Path],
                                                                   tmp_path: Path) -> None:
    world, student = prepared
    fresh = StudentDir(tmp_path / "student")
    fresh.root.mkdir()
    fresh.proposals.write_bytes(StudentDir(student).proposals.read_bytes())  # no training here
    calibration = prepare_student_dir(fresh.root, world, encoder=TinyEncoder())
    assert fresh.ready_for_tools() and load_calibration(fresh.calibration) == calibration
    assert isinstance(load_student_backend(fresh.root, world / "images", encoder=TinyEncoder()),
                      StudentBackend)


def test_every_primitive_returns_its_type(prepared: tuple[Path, Path], backend: StudentBackend) -> None:
    world, _ = prepared
    typed: VisualBackend = backend
    scene = load_scenes(world)["heldout_00000"]
    whole = (0.0, 0.0, float(scene.width), float(scene.height))
    found = typed.find(scene.image_id, whole, "objects")
    assert isinstance(found, list) and all(isinstance(b, tuple) and len(b) == 4 for b in found)
    assert all(isinstance(v, float) for b in found for v in b)
    assert len(found) >= 1  # the open phrase keeps every confident proposal
    for name in ("red star", "small things"):  # full and partial phrases
        assert isinstance(typed.find(scene.image_id, whole, name), list)
    assert isinstance(typed.verify_property(scene.image_id, whole, "object", "red"), bool)
    options = ["red", "green", "blue"]
    assert typed.best_text_match(scene.image_id, whole, options) in options
    colour = typed.simple_query(scene.image_id, whole, "What color is the object?")
    assert colour in ("red", "green", "blue", "yellow", "purple", "orange", "cyan", "gray", "none")
    assert typed.simple_query(scene.image_id, whole, "What size is the object?") in ("small", "large", "none")
    assert isinstance(typed.image_text_score(scene.image_id, whole, "a red star"), float)


@pytest.mark.parametrize(("tool", "args"), [
    ("find", ("zebra",)), ("find", ("red star left of a blue circle",)),
    ("verify_property", ("object", "left")), ("best_text_match", (["a zebra", "a red star"],)),
    ("simple_query", ("How many objects are there?",)), ("simple_query", ("Is there a star?",)),
    ("simple_query", ("Why?",)), ("image_text_score", ("a red star left of a blue circle",)),
])
def test_text_outside_the_grammar_is_an_error_as_in_the_oracle(
        prepared: tuple[Path, Path], backend: StudentBackend, tool: str, args: tuple) -> None:
    world, _ = prepared
    oracle = OracleBackend(load_scenes(world))
    for anything in (backend, oracle):
        for box in ((0.0, 0.0, 96.0, 96.0), (0.0, 0.0, 0.0, 0.0)):  # whatever the patch holds
            with pytest.raises(UnsupportedQuery) as info:
                getattr(anything, tool)("heldout_00000", box, *args)
            assert str(info.value).startswith("unsupported query: ")


def test_a_region_without_objects_gives_empty_answers(prepared: tuple[Path, Path],
                                                      backend: StudentBackend) -> None:
    image_id, empty = "heldout_00000", (0.0, 0.0, 0.0, 0.0)
    assert backend.find(image_id, empty, "objects") == []
    assert backend.verify_property(image_id, empty, "object", "red") is False
    assert backend.best_text_match(image_id, empty, ["green", "red"]) == "green"
    assert backend.simple_query(image_id, empty, "What color is the object?") == "none"
    assert backend.image_text_score(image_id, empty, "a red star") == -1.0


def test_image_patch_runs_on_the_student(prepared: tuple[Path, Path], backend: StudentBackend) -> None:
    world, _ = prepared
    scene = load_scenes(world)["heldout_00001"]
    _, image = api_namespace(backend, scene.image_id, (scene.width, scene.height))
    patches = image.find("objects")
    assert all(isinstance(p, ImagePatch) for p in patches)
    assert image.count("objects") == len(patches) and image.exists("objects") == bool(patches)
    for p in patches:  # a patch around a found object finds it again
        assert p.count("objects") >= 1


def test_make_backend_student_errors_are_one_line(prepared: tuple[Path, Path], tmp_path: Path) -> None:
    world, _ = prepared
    scenes = load_scenes(world)
    with pytest.raises(ValueError, match="student_dir") as info:
        make_backend("student", scenes, world / "images")
    assert "\n" not in str(info.value)
    with pytest.raises(FileNotFoundError, match=r"proposals\.pt.*rayapps\.api_accuracy") as missing:
        make_backend("student", scenes, world / "images", student_dir=str(tmp_path))
    assert "\n" not in str(missing.value)
    with pytest.raises(ValueError, match="unknown visual backend"):
        make_backend("teacher", scenes, world / "images")
