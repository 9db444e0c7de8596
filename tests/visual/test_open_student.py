"""The student on real data with the dataset's boxes as proposals (visual.proposals=annotations):
any text reaches its text tower, read by the same grammar as the oracle's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from real_scenes import GQA, TABLE, WHOLE
from stand_in import TinyEncoder

from visrep.visual.backend import make_backend
from visrep.visual.grammar import UnsupportedQuery
from visrep.visual.open_student import OpenStudentBackend
from visrep.visual.student import Calibration, StudentBackend, load_student_backend, save_calibration
from visrep.vlm.models import create_model
from visrep.vlm.student import StudentDir, save_student

G = GQA.image_id


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An images dir holding the GQA-like scene's picture, and a tiny random student's dir
    with a calibration and no detector: annotation proposals need none."""
    root = tmp_path_factory.mktemp("open")
    (root / "images").mkdir()
    picture = Image.new("RGB", (GQA.width, GQA.height), (90, 140, 200))
    for i, obj in enumerate(GQA.objects):
        picture.paste((40 * i, 200 - 30 * i, 60), tuple(int(v) for v in obj.box))
    picture.save(root / "images" / f"{G}.png")
    student = StudentDir(save_student(create_model("visrep-tiny-clip"), root / "student",
                                      {"crop_margin": 0.1, "split_seed": 0}))
    save_calibration(Calibration(temperature=0.05, find_threshold=0.0), student.calibration)
    return root / "images", student.root


@pytest.fixture(scope="module")
def backend(dirs: tuple[Path, Path]) -> OpenStudentBackend:
    images, student = dirs
    torch.set_num_threads(1)
    built = make_backend("student", {G: GQA}, images, student_dir=str(student), proposals="annotations")
    assert isinstance(built, OpenStudentBackend)
    return built


def test_annotated_boxes_are_the_proposals_and_any_text_is_scored(backend: OpenStudentBackend) -> None:
    boxes = sorted(backend.find(G, WHOLE, "objects"))
    assert boxes == sorted(o.box for o in GQA.objects)  # the open phrase keeps every proposal
    for text in ("a wooden table", "white things", "people", "the blue pond", "vehicles"):
        score = backend.image_text_score(G, WHOLE, text)
        assert isinstance(score, float) and 0.0 <= score <= 1.0
    assert backend.image_text_score(G, (0.0, 0.0, 1.0, 1.0), "table") == -1.0  # no proposal there
    assert all(isinstance(b, tuple) and len(b) == 4 for b in backend.find(G, WHOLE, "wooden tables"))
    assert isinstance(backend.verify_property(G, WHOLE, "table", "wooden"), bool)
    options = ["a cart", "a wooden table", "a pond"]
    assert backend.best_text_match(G, TABLE.box, options) in options
    assert backend.simple_query(G, WHOLE, "What color is the table?") in (*backend.grammar.values("color"), "none")
    assert backend.simple_query(G, (0.0, 0.0, 1.0, 1.0), "What color is the table?") == "none"


@pytest.mark.parametrize(("tool", "args"), [
    ("find", ("zorbly",)), ("find", ("cart near the pond",)), ("verify_property", ("table", "striped")),
    ("simple_query", ("Is there a cart?",)), ("image_text_score", ("a purple giraffe",)),
])
def test_the_student_refuses_what_the_oracle_refuses(backend: OpenStudentBackend, tool: str, args: tuple) -> None:
    with pytest.raises(UnsupportedQuery, match=r"^unsupported query: "):
        getattr(backend, tool)(G, WHOLE, *args)


def test_make_backend_passes_the_proposals_setting(dirs: tuple[Path, Path]) -> None:
    images, student = dirs
    with pytest.raises(FileNotFoundError, match=r"backend\.json"):  # (no encoder here: the error comes first)
        make_backend("student", {G: GQA}, images, student_dir=str(images), proposals="annotations")
    with pytest.raises(FileNotFoundError, match=r"proposals\.pt"):  # the network needs its detector
        make_backend("student", {G: GQA}, images, student_dir=str(student), proposals="network")
    with pytest.raises(ValueError, match="unknown visual.proposals"):
        make_backend("student", {G: GQA}, images, student_dir=str(student), proposals="boxes")


def test_shapes_scenes_with_annotated_boxes_keep_the_shapes_student(dirs: tuple[Path, Path]) -> None:
    from visual_scene import SCENE

    images, student = dirs
    Image.new("RGB", (SCENE.width, SCENE.height)).save(images / f"{SCENE.image_id}.png")
    built = load_student_backend(student, images, encoder=TinyEncoder(), proposals="annotations",
                                 scenes={SCENE.image_id: SCENE})
    assert isinstance(built, StudentBackend)
    assert len(built.image_features(SCENE.image_id).boxes) == len(SCENE.objects)
    assert isinstance(built.find(SCENE.image_id, (0.0, 0.0, 128.0, 128.0), "red star"), list)
