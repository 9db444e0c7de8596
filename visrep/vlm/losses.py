"""The four distillation losses of Li et al. (ICCV 2023), each a pure function.

Notation: ``s`` student image embeddings (B, D), ``t`` teacher image embeddings of the
clean views (B, D), ``w`` the teacher's text embeddings of the training classes (C, D),
``y`` class indices (B,), ``T`` the temperature.  Embeddings are normalised inside, so
callers may pass raw features.  :func:`distill_loss` sums the switched-on terms.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

TERMS = ("cls", "mse", "contrastive", "vl_align")


def class_logits(x: torch.Tensor, w: torch.Tensor, temperature: float) -> torch.Tensor:
    """cos(x, w_c) / T: (B, D), (C, D) → (B, C)."""
    return F.normalize(x, dim=-1) @ F.normalize(w, dim=-1).T / temperature


def cls_loss(s: torch.Tensor, w: torch.Tensor, y: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of the student's cosine logits against the labels."""
    return F.cross_entropy(class_logits(s, w, temperature), y)


def mse_loss(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """‖ŝ − t̂‖² summed over the embedding, averaged over the batch (in [0, 4])."""
    return (F.normalize(s, dim=-1) - F.normalize(t, dim=-1)).pow(2).sum(-1).mean()


def contrastive_loss(s: torch.Tensor, t: torch.Tensor, temperature: float) -> torch.Tensor:
    """In-batch InfoNCE, student→teacher and teacher→student, averaged."""
    logits = F.normalize(s, dim=-1) @ F.normalize(t, dim=-1).T / temperature  # (B, B)
    target = torch.arange(s.shape[0], device=s.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def vl_align_loss(s: torch.Tensor, t: torch.Tensor, w: torch.Tensor, y: torch.Tensor,
                  temperature: float, top_k: int) -> torch.Tensor:
    """KL(teacher ‖ student) of the softmaxes over the teacher's top-K classes per image,
    averaged over the images the teacher classifies right (0 if there are none)."""
    t_logits = class_logits(t, w, temperature)  # (B, C)
    s_logits = class_logits(s, w, temperature)
    right = t_logits.argmax(-1) == y  # (B,)
    if not bool(right.any()):
        return s_logits.sum() * 0.0  # keeps the graph, contributes nothing
    k = min(top_k, w.shape[0])
    idx = t_logits.topk(k, dim=-1).indices  # (B, K)
    log_p = F.log_softmax(t_logits.gather(1, idx), dim=-1)
    log_q = F.log_softmax(s_logits.gather(1, idx), dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1)  # (B,)
    return kl[right].mean()


def distill_loss(s: torch.Tensor, t: torch.Tensor, w: torch.Tensor, y: torch.Tensor, *,
                 weights: Mapping[str, float], temperature: float, top_k: int,
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """Σ weight · term over the terms in ``weights`` (names from TERMS); also each term's value."""
    unknown = set(weights) - set(TERMS)
    if unknown:
        raise ValueError(f"unknown loss terms {sorted(unknown)} (known: {', '.join(TERMS)})")
    values: dict[str, torch.Tensor] = {}
    if "cls" in weights:
        values["cls"] = cls_loss(s, w, y, temperature)
    if "mse" in weights:
        values["mse"] = mse_loss(s, t)
    if "contrastive" in weights:
        values["contrastive"] = contrastive_loss(s, t, temperature)
    if "vl_align" in weights:
        values["vl_align"] = vl_align_loss(s, t, w, y, temperature, top_k)
    total = sum((weights[k] * v for k, v in values.items()), s.new_zeros(()))
    return total, {k: float(v.detach()) for k, v in values.items()}
