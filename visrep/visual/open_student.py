"""The student backend on real data: any text scored through the student's text tower.

The shapes student classifies a crop over the world's closed set of descriptions
(``visrep.visual.student``); real annotations name objects in open English, so here a
phrase is read by the annotation grammar (``visrep.visual.annotations``: the same reading
as the oracle's, so an out-of-vocabulary word is the same ``UnsupportedQuery``) and scored
as the student's CLIP-style similarity of the crop with ``"a photo of a {phrase}."``:

- a phrase's probability on a crop is the softmax, over temperature ``T``, of its prompt
  against the prompts of the annotated names it excludes (a "wooden table" against "car",
  "pond", ...; an open phrase such as "white things" against "object"), so it needs no
  threshold of its own: ``find`` keeps proposals above the calibrated ``find_threshold``
  and applies NMS, and ``image_text_score`` is the best probability in the patch;
- ``verify_property`` holds when "{prop} {name}" beats "{name}" on some found object;
- ``simple_query`` picks, among the world's annotated colours (or materials), the one whose
  "{value} {name}" prompt fits the largest found object best;
- ``best_text_match`` picks the option whose prompt fits the patch's largest proposal best.

``T`` and ``find_threshold`` are the student dir's calibration (``backend.json``), fitted on
the shapes world: on real data they are a starting point, not a fit.
"""

from __future__ import annotations

import torch
from torch import Tensor

from visrep.visual.annotations import AnnotationGrammar, Described
from visrep.visual.student import ImageFeatures, StudentBackend
from visrep.vlm.proposals import nms
from visrep.vlm.text import plain_prompt
from visrep.world.records import UNKNOWN, Box

_OPEN = "object"  # what an open phrase ("white things") is contrasted with


class OpenStudentBackend:
    """Answers every ``VisualBackend`` call on real data from a student's features of the
    image's proposals (``pixels``: its cache, text embeddings and calibration)."""

    def __init__(self, pixels: StudentBackend, grammar: AnnotationGrammar) -> None:
        self._pixels = pixels
        self.grammar = grammar
        self.id_classes = pixels.id_classes
        self.calibration = pixels.calibration

    @property
    def score_cut(self) -> float:
        """The phrase probability above which the student holds a phrase true."""
        return self.calibration.find_threshold

    def _sims(self, entry: ImageFeatures, idx: Tensor, texts: list[str]) -> Tensor:
        """(n, T): cosine similarity of each proposal of ``idx`` with each text's prompt."""
        return entry.embeddings[idx] @ self._pixels.embed_texts([plain_prompt(t) for t in texts]).T

    def _scores(self, entry: ImageFeatures, idx: Tensor, phrase: Described) -> Tensor:
        """(n,): the probability that each proposal is what the phrase describes."""
        if phrase.names is None and not phrase.attributes:
            return torch.ones(len(idx))
        rivals = [_OPEN] if phrase.names is None else sorted(self.grammar.names - phrase.names)
        sims = self._sims(entry, idx, [phrase.text, *rivals])  # (n, 1 + rivals)
        return torch.softmax(sims / self.calibration.temperature, dim=1)[:, 0]

    def _found(self, image_id: str, box: Box, phrase: Described) -> tuple[ImageFeatures, list[int]]:
        """Indices of the proposals in ``box`` the phrase matches, best first, after NMS."""
        entry, idx = self._pixels.inside(image_id, box)
        if len(idx) == 0:
            return entry, []
        scores = self._scores(entry, idx, phrase)
        keep = scores > self.calibration.find_threshold
        idx, scores = idx[keep], scores[keep]
        return entry, idx[nms(entry.boxes[idx], scores, self.calibration.nms_iou)].tolist()

    @staticmethod
    def _largest(entry: ImageFeatures, indices: list[int]) -> int:
        b = entry.boxes
        return max(indices, key=lambda i: float((b[i, 2] - b[i, 0]) * (b[i, 3] - b[i, 1])))

    # ------------------------------------------------------------ the VisualBackend primitives

    def find(self, image_id: str, box: Box, name: str) -> list[Box]:
        """Boxes of the proposals the phrase matches (ImagePatch sorts them)."""
        entry, found = self._found(image_id, box, self.grammar.phrase(name))
        return [tuple(float(v) for v in entry.boxes[i].tolist()) for i in found]

    def verify_property(self, image_id: str, box: Box, name: str, prop: str) -> bool:
        """True when, on some found ``name`` object, "{prop} {name}" fits better than "{name}"."""
        phrase, wanted = self.grammar.phrase(name), self.grammar.property(prop)
        entry, found = self._found(image_id, box, phrase)
        if not found:
            return False
        sims = self._sims(entry, torch.tensor(found), [f"{wanted.text} {phrase.text}", phrase.text])
        return bool((sims[:, 0] > sims[:, 1]).any())

    def best_text_match(self, image_id: str, box: Box, options: list[str]) -> str:
        """The option fitting the region's largest proposal best; the first when it has none."""
        texts = [self.grammar.phrase(o).text for o in options]
        entry, idx = self._pixels.inside(image_id, box)
        if len(idx) == 0:
            return options[0]
        largest = torch.tensor([self._largest(entry, idx.tolist())])
        return options[int(self._sims(entry, largest, texts)[0].argmax())]

    def simple_query(self, image_id: str, box: Box, question: str) -> str:
        """The world's colour (or material) word fitting the largest found X best ("none"
        without an X, ``UNKNOWN`` when the world annotates no word of that kind)."""
        asked = self.grammar.question(question)
        phrase = self.grammar.phrase(asked.phrase)
        entry, found = self._found(image_id, box, phrase)
        if not found:
            return "none"
        values = self.grammar.values(asked.attribute)
        if not values:
            return UNKNOWN
        largest = torch.tensor([self._largest(entry, found)])
        return values[int(self._sims(entry, largest, [f"{v} {phrase.text}" for v in values])[0].argmax())]

    def image_text_score(self, image_id: str, box: Box, text: str) -> float:
        """The best probability of the phrase over the proposals in the box; -1.0 when the
        box holds no proposal."""
        phrase = self.grammar.phrase(text)
        entry, idx = self._pixels.inside(image_id, box)
        if len(idx) == 0:
            return -1.0
        return float(self._scores(entry, idx, phrase).max())
