"""Class-agnostic box proposals: a tiny CenterNet-style detector trained on a world's boxes.

The student backend's ``find`` needs candidate boxes before the student can score crops
against a phrase; this module supplies them.  The net is fully convolutional: an image,
resized to ``input_size`` (objects are a fixed fraction of the image side, so resizing
makes one net serve every world image size), becomes a grid at 1/``STRIDE`` resolution
with three heads per cell: an objectness heatmap (a Gaussian peak at each object's centre,
focal loss), the box width/height in grid cells (L1) and the centre's sub-cell offset (L1).
Decoding keeps local maxima of the heatmap above ``min_score`` and removes duplicates with
``nms`` (plain torch: torchvision's C++ ``nms`` does not load here).

Trained on the train-split images of a world directory (the ``split`` field of
instances.json; every image when there is none), with flips, transposes and colour-channel
permutations, so no class, colour or orientation is special: the detector proposes objects,
the student names them.  ``train_proposals`` writes a checkpoint that ``load_proposals``
reads; the student backend expects it at ``StudentDir(student_dir).proposals``
(``visrep.vlm.student``).

(Over 300 lines on purpose: the net, its targets, its training loop and its decoding are
one detector and change together.)
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn
from torchvision.ops import box_iou

from visrep.world import image_path, load_scenes
from visrep.world.records import Box, Scene

FORMAT_VERSION = 1
STRIDE = 4
_SIZE_WEIGHT = 0.1  # CenterNet's weight of the size loss against the heatmap loss


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first.

    ``boxes`` (N, 4) as (x0, y0, x1, y1), ``scores`` (N,).  A box is dropped when its IoU
    with a higher-scoring kept box exceeds ``iou_threshold``.
    """
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long)
    order = torch.argsort(scores, descending=True)
    iou = box_iou(boxes[order], boxes[order])  # (N, N)
    keep: list[int] = []
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return order[torch.tensor(keep, dtype=torch.long)]


def _block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class ProposalNet(nn.Module):
    """Image (B, 3, S, S) → heatmap logits (B, 1, S/4, S/4), sizes and offsets (B, 2, S/4, S/4).

    Sizes are box width/height in grid cells; offsets the centre's position inside its cell.
    Dilated convolutions give a receptive field (~70 px) larger than the largest object.
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        self.backbone = nn.Sequential(
            _block(3, w // 2, stride=2), _block(w // 2, w // 2),  # (B, w/2, S/2, S/2)
            _block(w // 2, w, stride=2), _block(w, w),  # (B, w, S/4, S/4)
            _block(w, w, dilation=2), _block(w, w, dilation=4),
        )
        self.heat = nn.Conv2d(w, 1, 1)
        self.size = nn.Conv2d(w, 2, 1)
        self.offset = nn.Conv2d(w, 2, 1)
        nn.init.constant_(self.heat.bias, -2.2)  # prior p ≈ 0.1, CenterNet's initialisation

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        f = self.backbone(x)
        return self.heat(f), self.size(f), self.offset(f)


def _to_tensor(images: list[Image.Image], input_size: int) -> Tensor:
    """PIL images → (B, 3, input_size, input_size) in [-1, 1]."""
    arrays = [np.asarray(im.convert("RGB").resize((input_size, input_size), Image.BILINEAR))
              for im in images]
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


class ProposalDetector:
    """A trained ``ProposalNet`` with its decoding parameters, in eval mode."""

    def __init__(self, net: ProposalNet, input_size: int = 128, min_score: float = 0.2,
                 nms_iou: float = 0.5, max_proposals: int = 32) -> None:
        self.net = net.eval()
        self.input_size = input_size
        self.min_score = min_score
        self.nms_iou = nms_iou
        self.max_proposals = max_proposals

    @torch.no_grad()
    def propose(self, images: list[Image.Image]) -> list[tuple[Tensor, Tensor]]:
        """Per image: boxes (N, 4) in that image's pixels and scores (N,), best first."""
        if not images:
            return []
        heat, size, offset = self.net(_to_tensor(images, self.input_size))
        heat = torch.sigmoid(heat)
        peaks = heat * (heat == F.max_pool2d(heat, 3, stride=1, padding=1))  # (B, 1, G, G)
        grid = heat.shape[-1]
        out = []
        for b, image in enumerate(images):
            scores, idx = peaks[b, 0].flatten().topk(min(self.max_proposals, grid * grid))
            keep = scores >= self.min_score
            scores, idx = scores[keep], idx[keep]
            gy, gx = idx // grid, idx % grid
            cx = (gx + offset[b, 0].flatten()[idx]) * STRIDE
            cy = (gy + offset[b, 1].flatten()[idx]) * STRIDE
            w = size[b, 0].flatten()[idx].clamp(min=0.5) * STRIDE
            h = size[b, 1].flatten()[idx].clamp(min=0.5) * STRIDE
            sx, sy = image.width / self.input_size, image.height / self.input_size
            boxes = torch.stack([(cx - w / 2) * sx, (cy - h / 2) * sy,
                                 (cx + w / 2) * sx, (cy + h / 2) * sy], dim=1)
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, image.width)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, image.height)
            kept = nms(boxes, scores, self.nms_iou)
            out.append((boxes[kept], scores[kept]))
        return out


# ---------------------------------------------------------------- training


def _targets(boxes: list[Tensor], grid: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Heatmap (B, 1, G, G), size and offset targets (B, 2, G, G), centre mask (B, 1, G, G).

    ``boxes`` are per image (N, 4) in input pixels.
    """
    n = len(boxes)
    heat = torch.zeros(n, 1, grid, grid)
    size = torch.zeros(n, 2, grid, grid)
    offset = torch.zeros(n, 2, grid, grid)
    mask = torch.zeros(n, 1, grid, grid)
    ys, xs = torch.meshgrid(torch.arange(grid).float(), torch.arange(grid).float(), indexing="ij")
    for b, image_boxes in enumerate(boxes):
        if len(image_boxes) == 0:
            continue
        cells = image_boxes / STRIDE  # (N, 4)
        cx, cy = (cells[:, 0] + cells[:, 2]) / 2, (cells[:, 1] + cells[:, 3]) / 2
        w, h = cells[:, 2] - cells[:, 0], cells[:, 3] - cells[:, 1]
        px, py = cx.long().clamp(0, grid - 1), cy.long().clamp(0, grid - 1)
        sigma = (torch.minimum(w, h) / 6).clamp(min=0.5)[:, None, None]
        g = torch.exp(-((xs - px[:, None, None]) ** 2 + (ys - py[:, None, None]) ** 2) / (2 * sigma ** 2))
        heat[b, 0] = g.amax(0)  # (G, G)
        size[b, :, py, px] = torch.stack([w, h])
        offset[b, :, py, px] = torch.stack([cx - px, cy - py])
        mask[b, 0, py, px] = 1.0
    return heat, size, offset, mask


def _focal(logits: Tensor, target: Tensor) -> Tensor:
    """CenterNet's penalty-reduced focal loss, normalised by the number of centres."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    pos_loss = -(1 - p) ** 2 * torch.log(p) * pos
    neg_loss = -(1 - target) ** 4 * p ** 2 * torch.log(1 - p) * (1 - pos)
    return (pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1)


def _augment(x: Tensor, boxes: Tensor, rng: random.Random) -> tuple[Tensor, Tensor]:
    """Random flips, transpose and RGB permutation of one image (3, S, S) and its boxes."""
    s = x.shape[-1]
    boxes = boxes.clone()
    if rng.random() < 0.5:  # horizontal flip
        x = x.flip(-1)
        boxes[:, [0, 2]] = s - boxes[:, [2, 0]]
    if rng.random() < 0.5:  # vertical flip
        x = x.flip(-2)
        boxes[:, [1, 3]] = s - boxes[:, [3, 1]]
    if rng.random() < 0.5:  # transpose (with the flips: all 8 right-angle symmetries)
        x = x.transpose(-1, -2)
        boxes = boxes[:, [1, 0, 3, 2]]
    return x[rng.sample(range(3), 3)], boxes


def train_image_ids(world_dir: Path) -> list[str]:
    """Image ids of the train split (instances.json ``split``); all images if none is marked."""
    images = json.loads((Path(world_dir) / "instances.json").read_text())["images"]
    ids = [Path(i["file_name"]).stem for i in images if i.get("split") == "train"]
    return ids or [Path(i["file_name"]).stem for i in images]


@dataclass(frozen=True)
class TrainReport:
    """What ``train_proposals`` did: where the checkpoint went, on how much, how fast."""

    path: Path
    images: int
    steps: int
    seconds: float
    final_loss: float


def _load_examples(world_dir: Path, ids: list[str], input_size: int) -> tuple[Tensor, list[Tensor]]:
    scenes = load_scenes(world_dir)
    images = [Image.open(image_path(world_dir, i)) for i in ids]
    x = _to_tensor(images, input_size)
    boxes = [torch.tensor([[v * input_size / scenes[i].width if k % 2 == 0
                            else v * input_size / scenes[i].height for k, v in enumerate(o.box)]
                           for o in scenes[i].objects], dtype=torch.float32).reshape(-1, 4)
             for i in ids]
    return x, boxes


def train_proposals(
    world_dir: Path, out_path: Path, *, steps: int = 600, batch_size: int = 16, lr: float = 3e-3,
    width: int = 32, input_size: int = 128, seed: int = 0, max_seconds: float | None = None,
    image_ids: list[str] | None = None,
) -> TrainReport:
    """Train the detector on the world's train images and save it to ``out_path``.

    Stops after ``steps`` or ``max_seconds``, whichever comes first (the learning rate
    follows a cosine over ``steps``).  ``image_ids`` overrides the train split.
    """
    torch.manual_seed(seed)
    rng = random.Random(seed)
    world_dir = Path(world_dir)
    ids = image_ids if image_ids is not None else train_image_ids(world_dir)
    if not ids:
        raise ValueError(f"{world_dir}: no images to train proposals on")
    x_all, boxes_all = _load_examples(world_dir, ids, input_size)
    net = ProposalNet(width).train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * t / steps)))
    grid = input_size // STRIDE
    start, loss_value, step = time.monotonic(), float("nan"), 0
    for step in range(1, steps + 1):  # noqa: B007  (steps run is reported after the loop)
        picks = [rng.randrange(len(ids)) for _ in range(batch_size)]
        views = [_augment(x_all[i], boxes_all[i], rng) for i in picks]
        x = torch.stack([v[0] for v in views])  # (B, 3, S, S)
        heat_t, size_t, off_t, mask = _targets([v[1] for v in views], grid)
        heat, size, offset = net(x)
        n = mask.sum().clamp(min=1)
        loss = (_focal(heat, heat_t) + _SIZE_WEIGHT * (F.l1_loss(size, size_t, reduction="none") * mask).sum() / n
                + (F.l1_loss(offset, off_t, reduction="none") * mask).sum() / n)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        loss_value = float(loss.detach())
        if max_seconds is not None and time.monotonic() - start > max_seconds:
            break
    seconds = time.monotonic() - start
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT_VERSION, "width": width, "input_size": input_size,
                "state_dict": net.state_dict(), "trained_on": str(world_dir), "steps": step,
                "images": len(ids)}, out_path)
    return TrainReport(out_path, len(ids), step, seconds, loss_value)


def load_proposals(path: Path, **decode: float) -> ProposalDetector:
    """The detector saved by ``train_proposals``; ``decode`` overrides min_score/nms_iou/max_proposals."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no proposal detector at {path}")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if ckpt.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: proposal checkpoint format {ckpt.get('format')}, expected {FORMAT_VERSION}")
    net = ProposalNet(ckpt["width"])
    net.load_state_dict(ckpt["state_dict"])
    return ProposalDetector(net, ckpt["input_size"], **decode)


def proposal_quality(detector: ProposalDetector, scenes: list[Scene], images_dir: Path,
                     iou: float = 0.5) -> dict[str, float]:
    """Recall and precision of the proposals against the scenes' boxes at IoU ≥ ``iou``.

    A proposal is a true positive when it is the best unused match of a ground-truth box.
    """
    hits = found = total = 0
    for scene in scenes:
        image = Image.open(Path(images_dir) / f"{scene.image_id}.png")
        boxes, _ = detector.propose([image])[0]
        gt = torch.tensor([o.box for o in scene.objects], dtype=torch.float32).reshape(-1, 4)
        found += len(boxes)
        total += len(gt)
        if len(boxes) and len(gt):
            hits += _matches(boxes, gt, iou)
    return {"recall": hits / max(total, 1), "precision": hits / max(found, 1),
            "proposals": found, "objects": total}


def _matches(pred: Tensor, gt: Tensor, iou: float) -> int:
    """Greedy one-to-one matches of ``pred`` (in order) to ``gt`` with IoU ≥ ``iou``."""
    overlaps = box_iou(pred, gt)
    used: set[int] = set()
    for row in overlaps:
        for j in torch.argsort(row, descending=True).tolist():
            if row[j] < iou:
                break
            if j not in used:
                used.add(j)
                break
    return len(used)


def match_count(pred: list[Box], gt: list[Box], iou: float = 0.5) -> int:
    """How many of ``gt`` a one-to-one greedy matching of ``pred`` covers at IoU ≥ ``iou``."""
    if not pred or not gt:
        return 0
    return _matches(torch.tensor(pred, dtype=torch.float32), torch.tensor(gt, dtype=torch.float32), iou)
