"""Evaluation: zero-shot and few-shot mean per-class top-1 on ID-held-out and OOD.

Each evaluation set is classified among its own classes (ID among the ID classes, OOD
among the OOD classes), on held-out crops; few-shot examples come from the train crops
of those classes.  Everything works on L2-normalised features, so the teacher's cached
features and a student's are evaluated by the same code.

Few-shot, ``shots`` examples per class:
- fine-tune: the zero-shot classifier (the class text embeddings) fine-tuned with
  cross-entropy on the shots' features, image tower frozen (a text-initialised probe);
- Tip-Adapter retrieval: logits = cos(f, w)/T + α·exp(−β(1 − f·Kᵀ))·V with keys K the
  shots' features and V their one-hot labels (training-free cache model).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from visrep.vlm.config import EvalSection
from visrep.vlm.data import CLASSES, ClassSplit, Crops
from visrep.vlm.losses import class_logits


def mean_per_class_accuracy(pred: torch.Tensor, y: torch.Tensor) -> float:
    """Mean over the classes present in ``y`` of the fraction predicted right."""
    accs = [float((pred[y == c] == c).float().mean()) for c in y.unique()]
    return sum(accs) / len(accs) if accs else float("nan")


def pick_shots(y: torch.Tensor, shots: int, seed: int) -> torch.Tensor:
    """Indices of up to ``shots`` examples per class of ``y``, seeded."""
    rng = random.Random(f"shots:{seed}")
    out: list[int] = []
    for c in y.unique().tolist():
        idx = (y == c).nonzero().flatten().tolist()
        rng.shuffle(idx)
        out += idx[:shots]
    return torch.tensor(sorted(out), dtype=torch.int64)


def finetune_probe(train_f: torch.Tensor, train_y: torch.Tensor, w: torch.Tensor, temperature: float,
                   steps: int, lr: float) -> torch.Tensor:
    """Class weights (C, D) initialised from ``w`` and fine-tuned on the shots' features."""
    weight = w.clone().requires_grad_(True)
    opt = torch.optim.AdamW([weight], lr=lr, weight_decay=0.0)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(class_logits(train_f, weight, temperature), train_y).backward()
        opt.step()
    return weight.detach()


def tip_adapter_logits(f: torch.Tensor, w: torch.Tensor, keys: torch.Tensor, key_y: torch.Tensor,
                       temperature: float, alpha: float, beta: float) -> torch.Tensor:
    """Zero-shot logits plus the cache model's affinity-weighted one-hot votes: (B, C)."""
    values = F.one_hot(key_y, w.shape[0]).float()  # (K, C)
    affinity = torch.exp(-beta * (1.0 - F.normalize(f, dim=-1) @ F.normalize(keys, dim=-1).T))  # (B, K)
    return class_logits(f, w, temperature) + alpha * affinity @ values / temperature


def evaluate_features(feats: torch.Tensor, crops: Crops, split: ClassSplit, class_w: torch.Tensor,
                      cfg: EvalSection, temperature: float, seed: int) -> dict[str, float]:
    """Metrics ``{id,ood}/{zero_shot,finetune,tip}`` for features (N, D) of all ``crops``
    and text embeddings ``class_w`` (len(CLASSES), D)."""
    out: dict[str, float] = {}
    for name, classes in (("id", split.id_classes), ("ood", split.ood_classes)):
        index = torch.tensor([CLASSES.index(c) for c in classes])
        local = torch.full((len(CLASSES),), -1, dtype=torch.int64)
        local[index] = torch.arange(len(index))
        mine = crops.of_classes(classes)
        test, train = mine & ~crops.train, mine & crops.train
        w = class_w[index]  # (C, D)
        test_f, test_y = feats[test], local[crops.labels[test]]
        out[f"{name}/zero_shot"] = mean_per_class_accuracy(class_logits(test_f, w, temperature).argmax(-1), test_y)
        shot_idx = pick_shots(local[crops.labels[train]], cfg.shots, seed)
        shot_f, shot_y = feats[train][shot_idx], local[crops.labels[train]][shot_idx]
        probe = finetune_probe(shot_f, shot_y, w, temperature, cfg.finetune_steps, cfg.finetune_lr)
        out[f"{name}/finetune"] = mean_per_class_accuracy(class_logits(test_f, probe, temperature).argmax(-1), test_y)
        tip = tip_adapter_logits(test_f, w, shot_f, shot_y, temperature, cfg.tip_alpha, cfg.tip_beta)
        out[f"{name}/tip"] = mean_per_class_accuracy(tip.argmax(-1), test_y)
        out[f"{name}/test_images"] = float(test.sum())
    return out


def imitation_metrics(student_f: torch.Tensor, teacher_f: torch.Tensor, crops: Crops, split: ClassSplit,
                      class_w: torch.Tensor, temperature: float) -> dict[str, float]:
    """How closely the student imitates the teacher on held-out crops, per class set
    (``{id,ood}/...``), each set classified among its own classes as in zero-shot:

    - ``teacher_agreement``: the fraction of crops whose top-1 class is the teacher's
      (right or wrong), the student's fidelity rather than its accuracy;
    - ``embedding_cosine``: mean cosine between the two image embeddings (the visual space);
    - ``class_kl``: mean KL(teacher ‖ student) of the class distributions at ``temperature``
      (the vision-language alignment; 0 when the student reproduces the teacher's softmax).
    """
    out: dict[str, float] = {}
    for name, classes in (("id", split.id_classes), ("ood", split.ood_classes)):
        test = crops.of_classes(classes) & ~crops.train
        w = class_w[torch.tensor([CLASSES.index(c) for c in classes])]
        s, t = student_f[test], teacher_f[test]
        log_q = F.log_softmax(class_logits(s, w, temperature), -1)
        log_p = F.log_softmax(class_logits(t, w, temperature), -1)
        out[f"{name}/teacher_agreement"] = float((log_q.argmax(-1) == log_p.argmax(-1)).float().mean())
        out[f"{name}/embedding_cosine"] = float((F.normalize(s, dim=-1) * F.normalize(t, dim=-1)).sum(-1).mean())
        out[f"{name}/class_kl"] = float((log_p.exp() * (log_p - log_q)).sum(-1).mean())
    return out


def student_metrics(feats: torch.Tensor, teacher_feats: torch.Tensor, crops: Crops, split: ClassSplit,
                    class_w: torch.Tensor, cfg: EvalSection, temperature: float, seed: int) -> dict[str, float]:
    """Everything a student is reported with: ``evaluate_features`` (its accuracy) and
    ``imitation_metrics`` (how it imitates the teacher whose features are ``teacher_feats``)."""
    return {**evaluate_features(feats, crops, split, class_w, cfg, temperature, seed),
            **imitation_metrics(feats, teacher_feats, crops, split, class_w, temperature)}


def images_per_second(encode: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor,
                      repeats: int = 3) -> float:
    """Best-of-``repeats`` throughput of ``encode`` on one batch (after one warm-up call)."""
    encode(batch)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        encode(batch)
        best = min(best, time.perf_counter() - start)
    return batch.shape[0] / best


def compare_throughput(teacher_encode: Callable[[torch.Tensor], torch.Tensor], teacher_batch: torch.Tensor,
                       student_encode: Callable[[torch.Tensor], torch.Tensor], student_batch: torch.Tensor,
                       rounds: int = 3) -> dict[str, float]:
    """Teacher and student images/s measured interleaved in the same process (so both see
    the same machine load), best round each, and the ratio student / teacher."""
    t_best = s_best = 0.0
    for _ in range(rounds):
        t_best = max(t_best, images_per_second(teacher_encode, teacher_batch, repeats=1))
        s_best = max(s_best, images_per_second(student_encode, student_batch, repeats=1))
    return {"teacher_images_per_s": t_best, "student_images_per_s": s_best, "speedup": s_best / t_best}
