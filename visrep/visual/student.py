"""The student backend: the visual API answered from pixels by proposals and a distilled CLIP.

Every primitive reads one image's *proposals* (class-agnostic boxes from
``visrep.vlm.proposals``) and the student's embedding of each proposal's crop, both
computed once per image and cached.  A patch "contains" the proposals whose centre lies in
its box, as the oracle's patch contains the objects whose centre does.

How a phrase is scored (mirroring the oracle, phrases are read by ``parse_phrase``):

- The crop's distribution over the world's full descriptions "a photo of a {pattern}
  {colour} {shape}." is the softmax of its cosine similarities over temperature ``T``; a
  phrase's probability is the mass of the descriptions it is consistent with, times 1 when
  the phrase's size word (if any) agrees with the box's size.  Size is read from the
  proposal's box (its longer side as a fraction of the image side, against a cut
  calibrated on the train scenes' boxes), not from the crop: crops are scaled to a fixed
  side, so the student cannot see size.  Partial phrases ("red objects", "all stars") thus
  need no prompt of their own.
- A phrase outside the vocabulary (open-vocabulary use on other data) falls back to the raw
  cosine similarity with "a photo of a {phrase}.".
- ``find`` keeps the proposals whose score passes a threshold calibrated on train scenes
  (the one maximising F1 over sampled phrases), then applies NMS.

The calibration (``T``, both thresholds, the size cut) lives in ``<student_dir>/backend.json``
next to the proposal detector ``<student_dir>/proposals.pt``; ``prepare_student_dir`` makes
both, and ``python -m rayapps.api_accuracy --student-dir DIR`` runs it when they are missing.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import torch
from PIL import Image
from torch import Tensor

from visrep.visual.oracle import _ATTRIBUTE_WORD, _QUERY_ATTRIBUTE, _QUERY_COUNT, _QUERY_EXISTS
from visrep.vlm.data import object_crop
from visrep.vlm.proposals import PROPOSALS_FILE, load_proposals, nms, train_image_ids, train_proposals
from visrep.vlm.text import plain_prompt
from visrep.world import image_path, load_scenes
from visrep.world.predicates import ATTRIBUTES, Attrs, describe, matches, parse_phrase
from visrep.world.records import COLORS, PATTERNS, SHAPES, SIZES, Box, Scene, SceneObject

CALIBRATION_FILE = "backend.json"
PREPARE_COMMAND = "python -m rayapps.api_accuracy --student-dir {dir}"
_TEMPERATURES = (0.01, 0.02, 0.05, 0.1)
# The full descriptions a crop is classified over; size is read from the box instead.
DESCRIPTIONS: tuple[tuple[str, str, str], ...] = tuple(itertools.product(PATTERNS, COLORS, SHAPES))


class CropEncoder(Protocol):
    """What the backend needs of a student (``visrep.vlm.student.load_student`` gives one)."""

    image_size: int

    def preprocess(self, pil_images: list[Image.Image]) -> Tensor:
        """PIL images → (B, 3, H, W), ready for ``encode_images``."""
        ...

    def encode_images(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) → (B, D), L2-normalised."""
        ...

    def encode_texts(self, texts: list[str]) -> Tensor:
        """T texts → (T, D), L2-normalised."""
        ...


class Proposer(Protocol):
    """Class-agnostic boxes (``visrep.vlm.proposals.ProposalDetector`` is one)."""

    def propose(self, images: list[Image.Image]) -> list[tuple[Tensor, Tensor]]:
        """Per image: boxes (N, 4) in its pixels and scores (N,)."""
        ...


@dataclass(frozen=True)
class Calibration:
    """The backend's decision parameters, fitted on train scenes (``calibrate``)."""

    temperature: float = 0.05
    find_threshold: float = 0.5  # on a parsed phrase's probability
    raw_threshold: float = 0.2  # on cosine similarity, for phrases outside the vocabulary
    large_side: float = 0.2  # box's longer side / image side above which it is "large"
    nms_iou: float = 0.5
    crop_margin: float = 0.1
    f1: float = float("nan")  # find's F1 on the calibration phrases, for the record


def _parse(text: str) -> Attrs | None:
    try:
        return parse_phrase(text)
    except ValueError:
        return None


def _consistent(attrs: Attrs) -> Tensor:
    """(len(DESCRIPTIONS),) bool: the full descriptions a phrase allows."""
    return torch.tensor([all(attrs.get(k) in (None, v) for k, v in zip(("pattern", "color", "shape"), d))
                         for d in DESCRIPTIONS])


@dataclass
class _ImageCache:
    boxes: Tensor  # (N, 4) image pixels
    embeddings: Tensor  # (N, D)
    sims: Tensor  # (N, len(DESCRIPTIONS)) cosine similarity with each description
    large: Tensor  # (N,) bool: box reads as "large"


class StudentBackend:
    """Answers every ``VisualBackend`` call from pixels: proposals, crops, the student."""

    def __init__(self, images_dir: Path, encoder: CropEncoder, proposer: Proposer,
                 calibration: Calibration, cache_images: int = 256) -> None:
        self._images_dir = Path(images_dir)
        self._encoder = encoder
        self._proposer = proposer
        self.calibration = calibration
        self._cache: OrderedDict[str, _ImageCache] = OrderedDict()
        self._cache_images = cache_images
        self._texts: dict[str, Tensor] = {}
        self._descriptions = self._embed_texts([plain_prompt(" ".join(d)) for d in DESCRIPTIONS])  # (K, D)

    # ------------------------------------------------------------ cached pixels and texts

    def _embed_texts(self, texts: list[str]) -> Tensor:
        missing = [t for t in dict.fromkeys(texts) if t not in self._texts]
        if missing:
            with torch.no_grad():
                for t, e in zip(missing, self._encoder.encode_texts(missing)):
                    self._texts[t] = e
        return torch.stack([self._texts[t] for t in texts])

    def _image(self, image_id: str) -> _ImageCache:
        if image_id in self._cache:
            self._cache.move_to_end(image_id)
            return self._cache[image_id]
        with Image.open(image_path(self._images_dir.parent, image_id)) as im:
            picture = im.convert("RGB")
        boxes, _ = self._proposer.propose([picture])[0]
        if len(boxes):
            crops = [object_crop(picture, tuple(b), self.calibration.crop_margin) for b in boxes.tolist()]
            with torch.no_grad():
                emb = self._encoder.encode_images(self._encoder.preprocess(crops))  # (N, D)
        else:
            emb = torch.zeros(0, self._descriptions.shape[1])
        side = torch.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        entry = _ImageCache(boxes, emb, emb @ self._descriptions.T,
                            side / max(picture.width, picture.height) > self.calibration.large_side)
        self._cache[image_id] = entry
        if len(self._cache) > self._cache_images:
            self._cache.popitem(last=False)
        return entry

    def _inside(self, image_id: str, box: Box) -> tuple[_ImageCache, Tensor]:
        """The image's cache and the indices of the proposals centred in ``box``."""
        entry = self._image(image_id)
        b = entry.boxes
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        inside = (cx >= box[0]) & (cx <= box[2]) & (cy >= box[1]) & (cy <= box[3])
        return entry, inside.nonzero().flatten()

    # ------------------------------------------------------------ scores

    def _probs(self, entry: _ImageCache, idx: Tensor) -> Tensor:
        """(n, K): each proposal's distribution over the full descriptions."""
        return torch.softmax(entry.sims[idx] / self.calibration.temperature, dim=1)

    def _phrase_scores(self, entry: _ImageCache, idx: Tensor, text: str) -> tuple[Tensor, float]:
        """Scores of ``text`` for the proposals ``idx``, and the threshold they must pass."""
        attrs = _parse(text)
        if attrs is None:
            sims = entry.embeddings[idx] @ self._embed_texts([plain_prompt(text)])[0]
            return sims, self.calibration.raw_threshold
        scores = (self._probs(entry, idx) * _consistent(attrs)).sum(1)
        if attrs["size"] is not None:
            scores = scores * (entry.large[idx] == (attrs["size"] == "large")).float()
        return scores, self.calibration.find_threshold

    def _attribute(self, entry: _ImageCache, i: int, key: str) -> str:
        """The proposal's most probable value of one attribute."""
        if key == "size":
            return "large" if bool(entry.large[i]) else "small"
        position = ("pattern", "color", "shape").index(key)
        values = {"pattern": PATTERNS, "color": COLORS, "shape": SHAPES}[key]
        probs = self._probs(entry, torch.tensor([i]))[0]
        mass = {v: float(sum(p for d, p in zip(DESCRIPTIONS, probs.tolist()) if d[position] == v))
                for v in values}
        return max(values, key=lambda v: mass[v])

    def _found(self, image_id: str, box: Box, name: str) -> tuple[_ImageCache, list[int]]:
        """Indices of the proposals in ``box`` that ``name`` matches, best first, after NMS."""
        entry, idx = self._inside(image_id, box)
        if len(idx) == 0:
            return entry, []
        scores, threshold = self._phrase_scores(entry, idx, name)
        keep = scores > threshold
        idx, scores = idx[keep], scores[keep]
        kept = nms(entry.boxes[idx], scores, self.calibration.nms_iou)
        return entry, idx[kept].tolist()

    # ------------------------------------------------------------ the VisualBackend primitives

    def find(self, image_id: str, box: Box, name: str) -> list[Box]:
        """Boxes of the proposals the phrase matches (ImagePatch sorts them)."""
        entry, found = self._found(image_id, box, name)
        return [tuple(float(v) for v in entry.boxes[i].tolist()) for i in found]

    def verify_property(self, image_id: str, box: Box, name: str, prop: str) -> bool:
        """True when some found ``name`` object's most probable value of every attribute
        ``prop`` names is ``prop``'s (its colour beats the other colours, and so on).

        A property with no attribute word (e.g. "left") is never verified, as in the oracle.
        """
        attrs = _parse(prop)
        if attrs is None or all(v is None for v in attrs.values()):
            return False
        entry, found = self._found(image_id, box, name)
        fixed = [k for k in ATTRIBUTES if attrs[k] is not None]
        return any(all(self._attribute(entry, i, k) == attrs[k] for k in fixed) for i in found)

    def best_text_match(self, image_id: str, box: Box, options: list[str]) -> str:
        """The option scoring highest on the region's largest proposal; ties go to the first.

        Options are scored as phrases when all of them parse, else by raw similarity.
        """
        entry, idx = self._inside(image_id, box)
        if len(idx) == 0:
            return options[0]
        b = entry.boxes[idx]
        dominant = idx[int(((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).argmax())].view(1)
        if all(_parse(o) is not None for o in options):
            scores = [float(self._phrase_scores(entry, dominant, o)[0][0]) for o in options]
        else:
            sims = self._embed_texts([plain_prompt(o) for o in options]) @ entry.embeddings[dominant][0]
            scores = sims.tolist()
        return options[max(range(len(options)), key=lambda k: scores[k])]

    def simple_query(self, image_id: str, box: Box, question: str) -> str:
        """Answers the oracle's question forms: "what colour/shape/pattern/size is X" (the
        largest found X's most probable value), "how many X" (find), "is there X" (find).

        Anything else is answered "unknown"; an attribute of an absent object is "none".
        """
        text = " ".join(re.findall(r"[a-z]+", question.lower()))
        if m := _QUERY_ATTRIBUTE.match(text):
            entry, found = self._found(image_id, box, m.group(2))
            if not found:
                return "none"
            areas = [float((entry.boxes[i, 2] - entry.boxes[i, 0]) * (entry.boxes[i, 3] - entry.boxes[i, 1]))
                     for i in found]
            largest = found[max(range(len(found)), key=lambda k: areas[k])]
            return self._attribute(entry, largest, _ATTRIBUTE_WORD[m.group(1)])
        if m := _QUERY_COUNT.match(text):
            return str(len(self._found(image_id, box, m.group(1))[1]))
        if m := _QUERY_EXISTS.match(text):
            return "yes" if self._found(image_id, box, m.group(1))[1] else "no"
        return "unknown"

    def image_text_score(self, image_id: str, box: Box, text: str) -> float:
        """The best score of ``text`` over the proposals in the box (a phrase's probability,
        or cosine similarity for other text); -1.0 when the box holds no proposal."""
        entry, idx = self._inside(image_id, box)
        if len(idx) == 0:
            return -1.0
        return float(self._phrase_scores(entry, idx, text)[0].max())


# ---------------------------------------------------------------- calibration and loading


def _calibration_phrases(scene: Scene, rng: random.Random, n: int) -> list[Attrs]:
    """``n`` phrases of one or two attributes, half copied from the scene's objects."""
    values = {"size": SIZES, "pattern": PATTERNS, "color": COLORS, "shape": SHAPES}
    out = []
    for _ in range(n):
        keys = rng.sample(ATTRIBUTES, rng.choice((1, 2)))
        obj = rng.choice(scene.objects)
        real = rng.random() < 0.5
        out.append({k: ((getattr(obj, k) if real else rng.choice(values[k])) if k in keys else None)
                    for k in ATTRIBUTES})
    return out


def _best_f1(scores: Tensor, labels: Tensor) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of ``scores > threshold`` against ``labels``."""
    order = torch.argsort(scores, descending=True)
    s, y = scores[order], labels[order].float()
    tp = torch.cumsum(y, 0)
    f1 = 2 * tp / (torch.arange(1, len(y) + 1) + y.sum())
    k = int(f1.argmax())
    below = float(s[k + 1]) if k + 1 < len(s) else float(s[k]) - 1e-3
    return (float(s[k]) + below) / 2, float(f1[k])


def _large_side(scenes: list[Scene]) -> float:
    """The cut between small and large boxes: midway between the two classes' mean sides."""
    sides = {size: [max(o.box[2] - o.box[0], o.box[3] - o.box[1]) / max(s.width, s.height)
                    for s in scenes for o in s.objects if o.size == size] for size in SIZES}
    if not all(sides.values()):
        return Calibration.large_side
    return (sum(sides["small"]) / len(sides["small"]) + sum(sides["large"]) / len(sides["large"])) / 2


def calibrate(encoder: CropEncoder, proposer: Proposer, world_dir: Path, *, images: int = 40,
              phrases_per_image: int = 8, seed: int = 0, crop_margin: float = 0.1) -> Calibration:
    """Fit the temperature and thresholds on the world's train scenes (F1 of ``find``).

    Each proposal is labelled with the ground-truth object it overlaps (IoU ≥ 0.5, or
    none); a sampled phrase should find it exactly when that object matches the phrase.
    """
    from torchvision.ops import box_iou

    world_dir = Path(world_dir)
    scenes = load_scenes(world_dir)
    ids = [i for i in train_image_ids(world_dir) if scenes[i].objects][:images]
    chosen = [scenes[i] for i in ids]
    base = Calibration(large_side=_large_side(chosen), crop_margin=crop_margin)
    backend = StudentBackend(world_dir / "images", encoder, proposer, base)
    rng = random.Random(f"calibrate:{seed}")
    sims, raw, labels, size_ok = [], [], [], []
    for scene in chosen:
        entry = backend._image(scene.image_id)
        if len(entry.boxes) == 0:
            continue
        gt = torch.tensor([o.box for o in scene.objects], dtype=torch.float32)
        iou = box_iou(entry.boxes, gt)  # (N, M)
        owner: list[SceneObject | None] = [scene.objects[int(r.argmax())] if float(r.max()) >= 0.5 else None
                                           for r in iou]
        for attrs in _calibration_phrases(scene, rng, phrases_per_image):
            text = describe(attrs)
            sims.append((entry.sims, _consistent(attrs)))
            raw.append(entry.embeddings @ backend._embed_texts([plain_prompt(text)])[0])
            labels.append(torch.tensor([o is not None and matches(o, attrs) for o in owner]))
            size_ok.append(torch.ones(len(owner)) if attrs["size"] is None
                           else (entry.large == (attrs["size"] == "large")).float())
    if not labels:
        raise ValueError(f"{world_dir}: no proposals on the train scenes to calibrate with")
    y = torch.cat(labels)
    best = (-1.0, base.temperature, base.find_threshold)
    for t in _TEMPERATURES:
        scores = torch.cat([(torch.softmax(s / t, 1) * c).sum(1) * ok for (s, c), ok in zip(sims, size_ok)])
        threshold, f1 = _best_f1(scores, y)
        if f1 > best[0]:
            best = (f1, t, threshold)
    raw_threshold, _ = _best_f1(torch.cat(raw), y)
    return Calibration(temperature=best[1], find_threshold=best[2], raw_threshold=raw_threshold,
                       large_side=base.large_side, crop_margin=crop_margin, f1=best[0])


def save_calibration(calibration: Calibration, path: Path) -> None:
    Path(path).write_text(json.dumps(asdict(calibration), indent=1) + "\n")


def load_calibration(path: Path) -> Calibration:
    return Calibration(**json.loads(Path(path).read_text()))


def _crop_margin(encoder: CropEncoder) -> float:
    meta = getattr(encoder, "meta", None)
    return float(meta.get("crop_margin", Calibration.crop_margin)) if isinstance(meta, dict) else Calibration.crop_margin


def prepare_student_dir(student_dir: Path, world_dir: Path, *, proposal_steps: int = 600,
                        encoder: CropEncoder | None = None) -> Calibration:
    """Make what the backend needs beside a student: train the proposal detector on the
    world's train images if ``proposals.pt`` is missing, and (re)calibrate ``backend.json``."""
    from visrep.vlm.student import load_student

    student_dir = Path(student_dir)
    if not (student_dir / PROPOSALS_FILE).is_file():
        train_proposals(world_dir, student_dir / PROPOSALS_FILE, steps=proposal_steps)
    encoder = encoder if encoder is not None else load_student(student_dir)
    calibration = calibrate(encoder, load_proposals(student_dir / PROPOSALS_FILE), world_dir,
                            crop_margin=_crop_margin(encoder))
    save_calibration(calibration, student_dir / CALIBRATION_FILE)
    return calibration


def load_student_backend(student_dir: str | Path, images_dir: Path,
                         encoder: CropEncoder | None = None) -> StudentBackend:
    """The backend over the student in ``student_dir`` (``encoder`` replaces it, for tests).

    Raises FileNotFoundError (one line, naming the file and the command that makes it)
    when the proposal detector or the calibration is missing.
    """
    if not str(student_dir):
        raise ValueError("visual.backend=student needs visual.student_dir (a distilled student "
                         "dir, made by `python -m rayapps.distill`)")
    student_dir = Path(student_dir)
    for name in (PROPOSALS_FILE, CALIBRATION_FILE):
        if not (student_dir / name).is_file():
            raise FileNotFoundError(f"{student_dir / name} is missing; make it with "
                                    f"`{PREPARE_COMMAND.format(dir=student_dir)}`")
    if encoder is None:
        from visrep.vlm.student import load_student

        encoder = load_student(student_dir)
    calibration = load_calibration(student_dir / CALIBRATION_FILE)
    proposer = load_proposals(student_dir / PROPOSALS_FILE, nms_iou=calibration.nms_iou)
    return StudentBackend(images_dir, encoder, proposer, calibration)
