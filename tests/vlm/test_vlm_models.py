"""Teacher/student models: frozen teacher, the real-teacher path on a local checkpoint,
checkpoint round trips and the ``load_student`` contract the visual tools code against."""

import time
from pathlib import Path

import open_clip
import pytest
import torch
from PIL import Image

from visrep.vlm.models import ModelError, arch_config, create_model, load_model, save_model
from visrep.vlm.student import load_student


def test_embedded_archs_register_and_student_embeds_like_teacher() -> None:
    teacher, student = arch_config("visrep-teacher"), arch_config("visrep-student")
    assert teacher["embed_dim"] == student["embed_dim"]
    assert teacher["text_cfg"] == student["text_cfg"]


def test_real_teacher_path_loads_a_local_open_clip_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(0)
    made = create_model("visrep-tiny-clip")  # a standard CLIP (open_clip's own text tower)
    ckpt = tmp_path / "tiny.pt"
    torch.save({"state_dict": made.model.state_dict()}, ckpt)
    teacher = create_model("visrep-tiny-clip", pretrained=str(ckpt)).freeze()
    assert not teacher.model.training and not any(p.requires_grad for p in teacher.model.parameters())
    teacher.model.train()  # a frozen teacher's weights stay put whatever mode it is in
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(teacher.encode_images(x), made.encode_images(x), atol=1e-6)
    assert torch.allclose(teacher.encode_texts(["a red star"]), made.encode_texts(["a red star"]), atol=1e-6)


def test_named_pretrained_weights_fail_fast_offline() -> None:
    start = time.perf_counter()
    with pytest.raises(ModelError, match="cannot load teacher ViT-L-14"):
        create_model("ViT-L-14", pretrained="openai")
    assert time.perf_counter() - start < 30


def test_unknown_arch_is_one_line_error() -> None:
    with pytest.raises(ModelError, match="unknown open_clip architecture"):
        create_model("no-such-arch")


def test_checkpoint_round_trip_skips_wheel_text_weights(tmp_path: Path) -> None:
    torch.manual_seed(1)
    vl = create_model("visrep-teacher")
    vl.lock_text()
    out = save_model(vl, tmp_path / "t", {"note": "x"})
    state = torch.load(out / "weights.pt", weights_only=True)
    assert not any(k.startswith("text.transformer.") for k in state)
    back = load_model(out)
    x = torch.rand(3, 3, 32, 32)
    assert torch.allclose(back.encode_images(x), vl.encode_images(x), atol=1e-6)
    assert torch.allclose(back.encode_texts(["a photo of a red star."]), vl.encode_texts(["a photo of a red star."]),
                          atol=1e-6)
    assert back.meta["note"] == "x"


def test_load_student_contract(student_dir: Path) -> None:
    s = load_student(student_dir)
    assert isinstance(s.image_size, int)
    images = [Image.new("RGB", (40, 30), (200, 30, 30)), Image.new("RGB", (12, 12), (30, 30, 200))]
    x = s.preprocess(images)
    assert x.shape == (2, 3, s.image_size, s.image_size) and x.dtype == torch.float32
    f = s.encode_images(x)
    t = s.encode_texts(["a photo of a red circle.", "a photo of a blue star.", "x"])
    assert f.shape == (2, s.embed_dim) and t.shape == (3, s.embed_dim)
    assert torch.allclose(f.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(t.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert s.preprocess([]).shape == (0, 3, s.image_size, s.image_size)
    assert s.encode_texts([]).shape == (0, s.embed_dim)
    assert len(s.meta["id_classes"]) == len(s.meta["ood_classes"]) and "crop_margin" in s.meta


def test_load_student_rejects_other_dirs(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a student checkpoint"):
        load_student(tmp_path)


def test_open_clip_is_never_asked_to_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("download attempted")

    monkeypatch.setattr(open_clip.factory, "download_pretrained", refuse)
    create_model("visrep-teacher")
    create_model("visrep-student")
