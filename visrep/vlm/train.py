"""Training on a DeepSpeed engine: the embedded teacher, and a student per ablation row.

DeepSpeed runs here as it does for the policy learner, scaled down: one rank, gloo,
ZeRO stage 0, a plain torch AdamW handed in (no JIT-compiled optimizer), fp32 weights
(bf16 only as CPU autocast inside the step, when the section's ``dtype`` resolves to it on
this CPU: :mod:`visrep.hardware`).  The engine wraps only what
trains: the teacher's image tower, text projection and logit scale; the student's image
tower.  The locked text transformer never enters an engine.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from visrep.distributed import open_group
from visrep.hardware import resolve_bf16
from visrep.vlm.config import StudentSection, TeacherSection
from visrep.vlm.data import augment
from visrep.vlm.losses import distill_loss
from visrep.vlm.models import VLModel


def init_distributed() -> None:
    """A one-rank gloo process group (idempotent), as the DeepSpeed launcher would set up.

    The group stays open for the process's later engines (teacher, then each student row).
    """
    logging.getLogger("DeepSpeed").setLevel(logging.WARNING)
    open_group()


def make_engine(module: nn.Module, lr: float, weight_decay: float, batch_size: int, total_steps: int,
                groups: list[dict] | None = None) -> tuple:
    """(engine, scheduler): DeepSpeed ZeRO-0 over torch AdamW, cosine decay with warm-up.

    ``groups`` (torch param groups, each with its own ``lr``/``weight_decay``) replaces the
    single group of every trainable parameter of ``module``."""
    import deepspeed

    init_distributed()
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(groups or params, lr=lr, weight_decay=weight_decay)
    warmup = max(1, total_steps // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(
        (step + 1) / warmup, 0.5 * (1 + torch.cos(torch.tensor(step / max(1, total_steps) * torch.pi)).item())))
    ds_config = {
        "train_micro_batch_size_per_gpu": batch_size,
        "gradient_accumulation_steps": 1,
        "zero_optimization": {"stage": 0},
        "gradient_clipping": 1.0,
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    engine, _, _, _ = deepspeed.initialize(model=module, optimizer=optimizer, model_parameters=params,
                                           lr_scheduler=scheduler, config=ds_config)
    return engine, scheduler


def _autocast(enabled: bool) -> contextlib.AbstractContextManager:
    return torch.autocast("cpu", dtype=torch.bfloat16) if enabled else contextlib.nullcontext()


def _batches(n: int, batch_size: int, epochs: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Shuffled index batches; the last short batch of an epoch is dropped when n > batch."""
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        stop = n - n % batch_size if n > batch_size else n
        for i in range(0, stop, batch_size):
            yield order[i:i + batch_size]


def _bar(total: int, desc: str, progress: bool) -> tqdm:
    """A progress bar; in a log (no terminal) it writes a line every 20 s instead."""
    tty = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, disable=not progress, leave=not tty, mininterval=0.1 if tty else 20.0)


def _steps(n: int, batch_size: int, epochs: int) -> int:
    return epochs * (n // batch_size if n > batch_size else 1)


@dataclass(frozen=True)
class TrainStats:
    steps: int
    seconds: float
    final_loss: float
    parts: dict[str, float]


class _TeacherObjective(nn.Module):
    """Image tower + text projection: CLIP-style CE of images against class texts, plus
    ``caption_weight`` × CE against the captions (full descriptions)."""

    def __init__(self, vl: VLModel, temperature: float, caption_weight: float) -> None:
        super().__init__()
        self.visual = vl.model.visual
        self.proj = vl.model.text.proj
        self.temperature = temperature
        self.caption_weight = caption_weight

    def _ce(self, img: torch.Tensor, pooled: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        txt = F.normalize(self.proj(pooled).float(), dim=-1)  # (C, D)
        return F.cross_entropy(img @ txt.T / self.temperature, target)

    def forward(self, images: torch.Tensor, class_pooled: torch.Tensor, labels: torch.Tensor,
                caption_pooled: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        img = F.normalize(self.visual(images).float(), dim=-1)  # (B, D)
        loss = self._ce(img, class_pooled, labels)
        if self.caption_weight:
            loss = loss + self.caption_weight * self._ce(img, caption_pooled, captions)
        return loss


def train_teacher(vl: VLModel, images: torch.Tensor, labels: torch.Tensor, prompts: list[list[str]],
                  captions: list[str], caption_ids: torch.Tensor, cfg: TeacherSection, temperature: float,
                  seed: int, progress: bool = True) -> TrainStats:
    """Train the embedded teacher on crops (N, 3, S, S) uint8 with labels (N,) into
    ``prompts`` (a list per class) and caption indices (N,) into ``captions``.

    Each step draws one prompt per class (plain or enriched), so the text projection
    learns both phrasings, and (``cfg.caption_weight``) also ranks each crop among all the
    captions, full descriptions such as "a photo of a striped red star.": as a CLIP
    trained on captions, the teacher's embedding then carries what a class name leaves
    out, and its text space stays compositional (captions sharing a colour or a shape stay
    close), which is what a student can inherit.  The text transformer is locked and runs
    once up front.
    """
    vl.lock_text()
    flat = [p for group in prompts for p in group]
    pooled_all = vl.text_pooled(flat)
    pooled_captions = vl.text_pooled(captions)
    if pooled_all is None or pooled_captions is None:
        raise ValueError(f"training a teacher needs an HF text tower; {vl.arch} has none "
                         "(give teacher.pretrained to load one instead)")
    starts = torch.tensor([0] + [len(g) for g in prompts]).cumsum(0)[:-1]
    sizes = torch.tensor([len(g) for g in prompts])
    gen = torch.Generator().manual_seed(seed)
    objective = _TeacherObjective(vl, temperature, cfg.caption_weight)
    objective.train()
    total = _steps(len(labels), cfg.batch_size, cfg.epochs)
    groups = [{"params": [p for p in objective.visual.parameters() if p.requires_grad]},
              {"params": [p for p in objective.proj.parameters() if p.requires_grad],
               "lr": cfg.lr * cfg.text_lr_scale, "weight_decay": 0.0}]
    engine, _ = make_engine(objective, cfg.lr, cfg.weight_decay, cfg.batch_size, total, groups)
    bf16 = resolve_bf16(cfg.dtype, "cpu")
    start, loss_v, step = time.perf_counter(), float("nan"), 0
    bar = _bar(total, "teacher", progress)
    for idx in _batches(len(labels), cfg.batch_size, cfg.epochs, gen):
        x = vl.prepare(augment(images[idx], gen))
        pick = starts + (torch.rand(len(prompts), generator=gen) * sizes).long()  # (C,)
        with _autocast(bf16):
            loss = engine(x, pooled_all[pick], labels[idx], pooled_captions, caption_ids[idx])
        engine.backward(loss)
        engine.step()
        loss_v, step = float(loss.detach()), step + 1
        bar.set_postfix(loss=f"{loss_v:.3f}")
        bar.update()
    bar.close()
    vl.model.eval()
    return TrainStats(step, time.perf_counter() - start, loss_v, {"ce": loss_v})


def distill_student(student: VLModel, images: torch.Tensor, labels: torch.Tensor,
                    teacher_feats: torch.Tensor, class_w: torch.Tensor, weights: Mapping[str, float],
                    cfg: StudentSection, temperature: float, top_k: int, seed: int,
                    progress: bool = True, desc: str = "student") -> TrainStats:
    """Distil into ``student.model.visual``: augmented views of crops (N, 3, S, S) uint8,
    labels (N,) into ``class_w`` (C, D), the teacher's clean-view features (N, D)."""
    gen = torch.Generator().manual_seed(seed)
    visual = student.model.visual
    visual.train()
    total = _steps(len(labels), cfg.batch_size, cfg.epochs)
    engine, _ = make_engine(visual, cfg.lr, cfg.weight_decay, cfg.batch_size, total)
    bf16 = resolve_bf16(cfg.dtype, "cpu")
    start, loss_v, step, parts = time.perf_counter(), float("nan"), 0, {}
    bar = _bar(total, desc, progress)
    for idx in _batches(len(labels), cfg.batch_size, cfg.epochs, gen):
        x = student.prepare(augment(images[idx], gen))
        with _autocast(bf16):
            s = engine(x).float()  # (B, D)
        loss, parts = distill_loss(s, teacher_feats[idx], class_w, labels[idx], weights=weights,
                                   temperature=temperature, top_k=top_k)
        engine.backward(loss)
        engine.step()
        loss_v, step = float(loss.detach()), step + 1
        bar.set_postfix(loss=f"{loss_v:.3f}")
        bar.update()
    bar.close()
    student.model.eval()
    return TrainStats(step, time.perf_counter() - start, loss_v, parts)
