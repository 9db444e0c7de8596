"""Each KD loss on tensors small enough to check by hand."""

import math

import pytest
import torch

from visrep.vlm.losses import class_logits, cls_loss, contrastive_loss, distill_loss, mse_loss, vl_align_loss

E = torch.eye(3)  # three orthonormal directions


def test_class_logits_are_cosines_over_temperature() -> None:
    x = torch.tensor([[3.0, 4.0, 0.0]])  # cos with e0 = 0.6, e1 = 0.8
    assert torch.allclose(class_logits(x, E, 0.5), torch.tensor([[1.2, 1.6, 0.0]]))


def test_cls_loss_matches_cross_entropy_by_hand() -> None:
    s = torch.tensor([[1.0, 0.0, 0.0]])  # logits (1/T, 0, 0) with T = 1
    expected = -math.log(math.e / (math.e + 2))
    assert cls_loss(s, E, torch.tensor([0]), 1.0).item() == pytest.approx(expected, rel=1e-6)
    assert cls_loss(s * 5, E, torch.tensor([0]), 1.0).item() == pytest.approx(expected, rel=1e-6)  # scale-free


def test_mse_on_normalised_embeddings() -> None:
    s = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    t = torch.tensor([[0.0, 3.0, 0.0], [0.0, 5.0, 0.0]])
    assert mse_loss(s, t).item() == pytest.approx(1.0)  # (2 + 0) / 2
    assert mse_loss(t, t).item() == pytest.approx(0.0)


def test_contrastive_both_ways() -> None:
    s = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    one_way = -math.log(math.e / (math.e + 1))  # logits [[1, 0], [0, 1]] at T = 1
    assert contrastive_loss(s, s, 1.0).item() == pytest.approx(one_way, rel=1e-6)
    t = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # logits s·tᵀ = [[1, 1], [0, 0]]
    # student→teacher rows [1, 1] and [0, 0]: log 2 each; teacher→student rows of the
    # transpose [[1, 0], [1, 0]]: -log(e/(e+1)) for target 0, -log(1/(1+e)) for target 1.
    by_hand = 0.5 * (math.log(2) + 0.5 * (-math.log(math.e / (math.e + 1)) - math.log(1 / (1 + math.e))))
    assert contrastive_loss(s, t, 1.0).item() == pytest.approx(by_hand, rel=1e-6)


def test_vl_align_zero_when_student_matches_teacher_and_masks_wrong_teacher() -> None:
    t = torch.tensor([[1.0, 0.2, 0.0], [0.0, 1.0, 0.1]])
    y = torch.tensor([0, 1])
    assert vl_align_loss(t, t, E, y, 1.0, top_k=2).item() == pytest.approx(0.0, abs=1e-7)
    s = torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.1]])
    wrong = torch.tensor([2, 2])  # the teacher is wrong on both images: no term
    assert vl_align_loss(s, t, E, wrong, 1.0, top_k=2).item() == 0.0


def test_vl_align_kl_over_teacher_top_k_by_hand() -> None:
    t = torch.tensor([[1.0, 0.5, 0.0]])  # teacher's top-2 classes: 0 and 1
    s = torch.tensor([[0.0, 1.0, 0.0]])
    ln = torch.nn.functional.normalize
    tl = (ln(t, dim=-1) @ E.T)[0, :2]
    sl = (ln(s, dim=-1) @ E.T)[0, :2]
    p, q = tl.softmax(-1), sl.softmax(-1)
    expected = float((p * (p.log() - q.log())).sum())
    assert vl_align_loss(s, t, E, torch.tensor([0]), 1.0, top_k=2).item() == pytest.approx(expected, rel=1e-5)


def test_distill_loss_sums_switched_terms_with_weights() -> None:
    torch.manual_seed(0)
    s, t = torch.randn(4, 3), torch.randn(4, 3)
    y = torch.tensor([0, 1, 2, 0])
    total, parts = distill_loss(s, t, E, y, weights={"cls": 1.0, "mse": 2.0}, temperature=0.1, top_k=2)
    assert set(parts) == {"cls", "mse"}
    assert total.item() == pytest.approx(parts["cls"] + 2 * parts["mse"], rel=1e-5)
    with pytest.raises(ValueError, match="unknown loss terms"):
        distill_loss(s, t, E, y, weights={"kl": 1.0}, temperature=0.1, top_k=2)
