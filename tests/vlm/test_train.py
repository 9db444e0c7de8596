"""The DeepSpeed training step (one gloo rank, ZeRO-0, CPU) and the feature cache."""

from pathlib import Path

import torch

from visrep.vlm.config import StudentSection, TeacherSection
from visrep.vlm.features import cached_features
from visrep.vlm.models import create_model
from visrep.vlm.text import class_prompts, pattern_prompts
from visrep.vlm.train import distill_student, train_teacher


def test_teacher_trains_projection_and_image_tower_not_text_transformer() -> None:
    torch.manual_seed(0)
    vl = create_model("visrep-teacher")
    text_before = {k: v.clone() for k, v in vl.model.text.transformer.state_dict().items()}
    proj_before = vl.model.text.proj.weight.clone()
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(16) % 4
    names = ["red star", "blue star", "red circle", "blue circle"]
    prompts = class_prompts(names, enrich=True)
    captions = torch.arange(16) % len(pattern_prompts(names))
    stats = train_teacher(vl, images, labels, prompts, pattern_prompts(names), captions,
                          TeacherSection(epochs=2, batch_size=8, dtype="float32"), 0.07, seed=0, progress=False)
    assert stats.steps == 4 and torch.isfinite(torch.tensor(stats.final_loss))
    assert all(torch.equal(v, vl.model.text.transformer.state_dict()[k]) for k, v in text_before.items())
    assert not torch.equal(proj_before, vl.model.text.proj.weight)


def test_teacher_projection_gets_text_lr_scale() -> None:
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    names = ["red star", "blue star"]
    moved = {}
    for scale in (1.0, 10.0):
        torch.manual_seed(0)
        vl = create_model("visrep-teacher")
        before = vl.model.text.proj.weight.clone()
        train_teacher(vl, images, torch.arange(8) % 2, class_prompts(names, enrich=False), pattern_prompts(names),
                      torch.arange(8) % 6, TeacherSection(epochs=1, batch_size=8, dtype="float32", text_lr_scale=scale),
                      0.07, seed=0, progress=False)
        moved[scale] = float((vl.model.text.proj.weight - before).abs().detach().max())
    assert moved[10.0] > 5 * moved[1.0]


def test_caption_term_adds_the_ce_over_captions() -> None:
    """With caption_weight w the first step's loss is class CE + w * caption CE (same init)."""
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    names = ["red star", "blue star"]
    losses = {}
    for weight in (0.0, 1.0, 2.0):
        torch.manual_seed(0)
        vl = create_model("visrep-teacher")
        stats = train_teacher(vl, images, torch.arange(8) % 2, class_prompts(names, enrich=False),
                              pattern_prompts(names), torch.arange(8) % 6,
                              TeacherSection(epochs=1, batch_size=8, dtype="float32", caption_weight=weight),
                              0.07, seed=0, progress=False)
        losses[weight] = stats.final_loss
    caption_ce = losses[1.0] - losses[0.0]
    assert caption_ce > 0.1  # six captions: the CE starts near log 6
    assert abs((losses[2.0] - losses[0.0]) - 2 * caption_ce) < 1e-3


def test_student_step_reduces_the_loss_on_a_fixed_batch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    teacher = create_model("visrep-teacher").freeze()
    student = create_model("visrep-student")
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    feats, hit = cached_features(teacher, images, tmp_path)
    assert not hit and cached_features(teacher, images, tmp_path)[1]  # second call: from disk
    class_w = torch.nn.functional.normalize(torch.randn(4, teacher.embed_dim), dim=-1)
    labels = torch.arange(8) % 4
    cfg = StudentSection(epochs=1, batch_size=8, lr=1e-3)
    first = distill_student(student, images, labels, feats, class_w, {"mse": 1.0, "contrastive": 1.0},
                            cfg, 0.07, 2, seed=0, progress=False)
    later = distill_student(student, images, labels, feats, class_w, {"mse": 1.0, "contrastive": 1.0},
                            StudentSection(epochs=10, batch_size=8, lr=1e-3), 0.07, 2, seed=0, progress=False)
    assert later.final_loss < first.final_loss
    assert set(later.parts) == {"mse", "contrastive"}
