"""The student backend: the visual API answered from pixels by proposals and a distilled CLIP.

Every primitive reads one image's *proposals* and the student's embedding of each
proposal's crop, both computed once per image and cached.  Proposals come from
``visual.proposals``: ``network`` (default), the class-agnostic detector of
``visrep.vlm.proposals`` trained on the shapes world; ``annotations``, the dataset's own
boxes (:class:`AnnotatedBoxes`: the ground-truth-proposal setting of RefCOCO evaluation,
for real images the shapes-trained detector does not apply to).  A patch "contains" the
proposals whose centre lies in its box, as the oracle's patch contains the objects whose
centre does.

How a phrase is scored (phrases and questions are read as the oracle reads them, by
``visrep.visual.grammar``):

- The crop's distribution over the world's full descriptions "a photo of a {pattern}
  {colour} {shape}." is the softmax of its cosine similarities over temperature ``T``; a
  phrase's probability is the mass of the descriptions it is consistent with, times 1 when
  the phrase's size word (if any) agrees with the box's size.  Size is read from the
  proposal's box (its longer side as a fraction of the image side, against a cut
  calibrated on the train scenes' boxes), not from the crop: crops are scaled to a fixed
  side, so the student cannot see size.  Partial phrases ("red objects", "all stars") thus
  need no prompt of their own.
- Text outside the tools' grammar raises ``UnsupportedQuery`` before any pixel is read, as
  in the oracle.
- ``find`` keeps the proposals whose score passes a threshold calibrated on train scenes
  (the one maximising F1 over sampled phrases), then applies NMS.

That is the shapes world.  On real data (scenes whose objects are named,
``visrep.visual.annotations.grammar_for``) the student scores any text through its text
tower instead (``visrep.visual.open_student``), over the same cached features.

The calibration (``T``, the threshold, the size cut) and the proposal detector live in
the student dir (``visrep.vlm.student.StudentDir``: ``backend.json``, ``proposals.pt``);
``visrep.visual.calibration.prepare_student_dir`` makes both, and
``python -m rayapps.api_accuracy --student-dir DIR`` runs it when they are missing.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Protocol

import torch
from PIL import Image
from torch import Tensor

from visrep.visual.grammar import answer_question, noun_phrase, property_words
from visrep.vlm.data import object_crop
from visrep.vlm.proposals import load_proposals, nms
from visrep.vlm.student import StudentDir, load_student
from visrep.vlm.text import plain_prompt
from visrep.world import image_path
from visrep.world.predicates import ATTRIBUTES, Attrs
from visrep.world.records import COLORS, PATTERNS, SHAPES, Box, Scene

PREPARE_COMMAND = "python -m rayapps.api_accuracy --student-dir {dir}"
PROPOSALS = ("network", "annotations")  # visual.proposals: where the backend's boxes come from
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


class AnnotatedBoxes:
    """The scenes' annotated boxes as an image's proposals (``visual.proposals=annotations``)."""

    def __init__(self, scenes: Mapping[str, Scene]) -> None:
        self._scenes = scenes

    def boxes(self, image_id: str) -> Tensor:
        """(N, 4): the image's annotated boxes, in scene order."""
        return torch.tensor([o.box for o in self._scenes[image_id].objects], dtype=torch.float32).view(-1, 4)


@dataclass(frozen=True)
class Calibration:
    """The backend's decision parameters, fitted on train scenes
    (``visrep.visual.calibration.calibrate``) and kept in the student dir's ``backend.json``."""

    temperature: float = 0.05
    find_threshold: float = 0.5  # on a parsed phrase's probability
    large_side: float = 0.2  # box's longer side / image side above which it is "large"
    nms_iou: float = 0.5
    crop_margin: float = 0.1
    f1: float = float("nan")  # find's F1 on the calibration phrases, for the record


def save_calibration(calibration: Calibration, path: Path) -> None:
    """Write ``calibration`` as JSON (the student dir's ``StudentDir.calibration``)."""
    Path(path).write_text(json.dumps(asdict(calibration), indent=1) + "\n")


def load_calibration(path: Path) -> Calibration:
    """The calibration ``save_calibration`` wrote (keys it no longer has, such as the
    open-vocabulary ``raw_threshold`` of older student dirs, are left out)."""
    data = json.loads(Path(path).read_text())
    return Calibration(**{f.name: data[f.name] for f in fields(Calibration) if f.name in data})


def consistent(attrs: Attrs) -> Tensor:
    """(len(DESCRIPTIONS),) bool: the full descriptions a phrase allows."""
    return torch.tensor([all(attrs.get(k) in (None, v) for k, v in zip(("pattern", "color", "shape"), d))
                         for d in DESCRIPTIONS])


@dataclass
class ImageFeatures:
    """What the backend computes once per image: its proposals and their crops' features."""

    boxes: Tensor  # (N, 4) image pixels
    embeddings: Tensor  # (N, D)
    sims: Tensor  # (N, len(DESCRIPTIONS)) cosine similarity with each description
    large: Tensor  # (N,) bool: box reads as "large"


class StudentBackend:
    """Answers every ``VisualBackend`` call from pixels: proposals, crops, the student."""

    def __init__(self, images_dir: Path, encoder: CropEncoder, proposer: Proposer | AnnotatedBoxes,
                 calibration: Calibration, cache_images: int = 256, id_classes: Collection[str] = ()) -> None:
        self._images_dir = Path(images_dir)
        self.id_classes = frozenset(id_classes)  # the classes the student was distilled on (the rest are OOD)
        self._encoder = encoder
        self._proposer = proposer
        self.calibration = calibration
        self._cache: OrderedDict[str, ImageFeatures] = OrderedDict()
        self._cache_images = cache_images
        self._texts: dict[str, Tensor] = {}
        self._descriptions = self.embed_texts([plain_prompt(" ".join(d)) for d in DESCRIPTIONS])  # (K, D)

    @property
    def score_cut(self) -> float:
        """The phrase probability above which the student holds a phrase true (``find``'s threshold)."""
        return self.calibration.find_threshold

    # ------------------------------------------------------------ cached pixels and texts

    def embed_texts(self, texts: list[str]) -> Tensor:
        """(T, D): the student's embedding of each text, computed once per text."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._texts]
        if missing:
            with torch.no_grad():
                for t, e in zip(missing, self._encoder.encode_texts(missing)):
                    self._texts[t] = e
        return torch.stack([self._texts[t] for t in texts])

    def image_features(self, image_id: str) -> ImageFeatures:
        """The image's proposals and their features, computed once (the last
        ``cache_images`` images are kept)."""
        if image_id in self._cache:
            self._cache.move_to_end(image_id)
            return self._cache[image_id]
        with Image.open(image_path(self._images_dir.parent, image_id)) as im:
            picture = im.convert("RGB")
        if isinstance(self._proposer, AnnotatedBoxes):
            boxes = self._proposer.boxes(image_id)
        else:
            boxes, _ = self._proposer.propose([picture])[0]
        if len(boxes):
            crops = [object_crop(picture, tuple(b), self.calibration.crop_margin) for b in boxes.tolist()]
            with torch.no_grad():
                emb = self._encoder.encode_images(self._encoder.preprocess(crops))  # (N, D)
        else:
            emb = torch.zeros(0, self._descriptions.shape[1])
        side = torch.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        entry = ImageFeatures(boxes, emb, emb @ self._descriptions.T,
                            side / max(picture.width, picture.height) > self.calibration.large_side)
        self._cache[image_id] = entry
        if len(self._cache) > self._cache_images:
            self._cache.popitem(last=False)
        return entry

    def inside(self, image_id: str, box: Box) -> tuple[ImageFeatures, Tensor]:
        """The image's cache and the indices of the proposals centred in ``box``."""
        entry = self.image_features(image_id)
        b = entry.boxes
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        inside = (cx >= box[0]) & (cx <= box[2]) & (cy >= box[1]) & (cy <= box[3])
        return entry, inside.nonzero().flatten()

    # ------------------------------------------------------------ scores

    def _probs(self, entry: ImageFeatures, idx: Tensor) -> Tensor:
        """(n, K): each proposal's distribution over the full descriptions."""
        return torch.softmax(entry.sims[idx] / self.calibration.temperature, dim=1)

    def _phrase_scores(self, entry: ImageFeatures, idx: Tensor, attrs: Attrs) -> Tensor:
        """(n,): the probability that each proposal of ``idx`` is what ``attrs`` describes."""
        scores = (self._probs(entry, idx) * consistent(attrs)).sum(1)
        if attrs["size"] is not None:
            scores = scores * (entry.large[idx] == (attrs["size"] == "large")).float()
        return scores

    def _attribute(self, entry: ImageFeatures, i: int, key: str) -> str:
        """The proposal's most probable value of one attribute."""
        if key == "size":
            return "large" if bool(entry.large[i]) else "small"
        position = ("pattern", "color", "shape").index(key)
        values = {"pattern": PATTERNS, "color": COLORS, "shape": SHAPES}[key]
        probs = self._probs(entry, torch.tensor([i]))[0]
        mass = {v: float(sum(p for d, p in zip(DESCRIPTIONS, probs.tolist()) if d[position] == v))
                for v in values}
        return max(values, key=lambda v: mass[v])

    def _found(self, image_id: str, box: Box, name: str) -> tuple[ImageFeatures, list[int]]:
        """Indices of the proposals in ``box`` that ``name`` matches, best first, after NMS."""
        attrs = noun_phrase(name)
        entry, idx = self.inside(image_id, box)
        if len(idx) == 0:
            return entry, []
        scores = self._phrase_scores(entry, idx, attrs)
        keep = scores > self.calibration.find_threshold
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
        ``prop`` names is ``prop``'s (its colour beats the other colours, and so on)."""
        attrs = property_words(prop)
        entry, found = self._found(image_id, box, name)
        fixed = [k for k in ATTRIBUTES if attrs[k] is not None]
        return any(all(self._attribute(entry, i, k) == attrs[k] for k in fixed) for i in found)

    def best_text_match(self, image_id: str, box: Box, options: list[str]) -> str:
        """The option scoring highest on the region's largest proposal; ties go to the first."""
        parsed = [noun_phrase(o) for o in options]
        entry, idx = self.inside(image_id, box)
        if len(idx) == 0:
            return options[0]
        b = entry.boxes[idx]
        dominant = idx[int(((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).argmax())].view(1)
        scores = [float(self._phrase_scores(entry, dominant, attrs)[0]) for attrs in parsed]
        return options[max(range(len(options)), key=lambda k: scores[k])]

    def simple_query(self, image_id: str, box: Box, question: str) -> str:
        """What colour/shape/pattern/size the largest found X of the patch most probably has
        ("none" when none is found)."""
        def attribute(found: Sequence[int], key: str) -> str:
            entry = self.image_features(image_id)  # cached by the find before
            b = entry.boxes
            largest = max(found, key=lambda i: float((b[i, 2] - b[i, 0]) * (b[i, 3] - b[i, 1])))
            return self._attribute(entry, largest, key)

        return answer_question(question, lambda phrase: self._found(image_id, box, phrase)[1], attribute)

    def image_text_score(self, image_id: str, box: Box, text: str) -> float:
        """The best probability of the phrase over the proposals in the box; -1.0 when the
        box holds no proposal."""
        attrs = noun_phrase(text)
        entry, idx = self.inside(image_id, box)
        if len(idx) == 0:
            return -1.0
        return float(self._phrase_scores(entry, idx, attrs).max())


# ---------------------------------------------------------------- loading


def load_student_backend(student_dir: str | Path, images_dir: Path, encoder: CropEncoder | None = None, *,
                         proposals: str = "network", scenes: Mapping[str, Scene] | None = None,
                         ) -> StudentBackend:
    """The backend over the student in ``student_dir`` (``encoder`` replaces it, for tests).

    ``proposals`` (``visual.proposals``) is ``network`` (the dir's detector) or
    ``annotations`` (the boxes of ``scenes``).  On real data, ``make_backend`` puts the
    open-vocabulary backend (``visrep.visual.open_student``) over the one returned here.
    Raises FileNotFoundError (one line, naming the file and the command that makes it)
    when the proposal detector (with ``network``) or the calibration is missing.
    """
    if not str(student_dir):
        raise ValueError("visual.backend=student needs visual.student_dir (a distilled student "
                         "dir, made by `python -m rayapps.distill`)")
    if proposals not in PROPOSALS:
        raise ValueError(f"unknown visual.proposals {proposals!r} (known: {', '.join(PROPOSALS)})")
    if proposals == "annotations" and scenes is None:
        raise ValueError("visual.proposals=annotations needs the scenes whose boxes it proposes")
    files = StudentDir(Path(student_dir))
    for path in (files.proposals, files.calibration)[proposals == "annotations":]:
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; make it with "
                                    f"`{PREPARE_COMMAND.format(dir=files.root)}`")
    if encoder is None:
        encoder = load_student(files.root)
    calibration = load_calibration(files.calibration)
    proposer = (AnnotatedBoxes(scenes) if proposals == "annotations" and scenes is not None
                else load_proposals(files.proposals, nms_iou=calibration.nms_iou))
    id_classes = json.loads(files.meta.read_text()).get("id_classes", ()) if files.has_student() else ()
    return StudentBackend(images_dir, encoder, proposer, calibration, id_classes=id_classes)
