"""The oracle backend: exact answers from scene annotations.

It is the upper bound of the visual API: with it, a wrong answer is the program's fault,
never the tool's.  Phrases mean what ``visrep.world.predicates`` says they mean (the same
parser the task generators used, read through ``visrep.visual.grammar``), so the oracle
and the answer key cannot disagree.  Text outside the tools' grammar (a relation, a count,
a whole question, an unknown word) raises ``UnsupportedQuery``, as in every backend.
"""

from __future__ import annotations

from collections.abc import Sequence

from visrep.visual.grammar import answer_question, noun_phrase, property_words
from visrep.world.predicates import ATTRIBUTES, Attrs, select
from visrep.world.records import Box, Scene, SceneObject


def _area(obj: SceneObject) -> float:
    x0, y0, x1, y1 = obj.box
    return (x1 - x0) * (y1 - y0)


def _centre_inside(obj: SceneObject, box: Box) -> bool:
    x0, y0, x1, y1 = obj.box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _agreement(obj: SceneObject, attrs: Attrs) -> int:
    """Attributes the phrase gets right minus those it gets wrong (unfixed ones count 0)."""
    fixed = [k for k in ATTRIBUTES if attrs.get(k) is not None]
    return sum(1 if getattr(obj, k) == attrs[k] else -1 for k in fixed)


class OracleBackend:
    """Answers every ``VisualBackend`` call from the annotations of ``scenes``."""

    def __init__(self, scenes: dict[str, Scene]) -> None:
        self._scenes = scenes

    def inside(self, image_id: str, box: Box) -> list[SceneObject]:
        """Objects whose box centre lies in ``box`` (the patch "contains" them)."""
        return [o for o in self._scenes[image_id].objects if _centre_inside(o, box)]

    def named(self, image_id: str, box: Box, name: str) -> list[SceneObject]:
        """The objects of the patch the noun phrase ``name`` names, in scene order."""
        return select(self.inside(image_id, box), noun_phrase(name))

    def dominant(self, image_id: str, box: Box) -> SceneObject | None:
        """The patch's largest object (what ``best_text_match`` describes), if any."""
        return max(self.inside(image_id, box), key=_area, default=None)

    def find(self, image_id: str, box: Box, name: str) -> list[Box]:
        """Boxes of the matching objects, in scene order (ImagePatch sorts them)."""
        return [o.box for o in self.named(image_id, box, name)]

    def verify_property(self, image_id: str, box: Box, name: str, prop: str) -> bool:
        """True when some ``name`` object has every attribute word of ``prop``."""
        attrs = property_words(prop)
        return bool(select(self.named(image_id, box, name), attrs))

    def best_text_match(self, image_id: str, box: Box, options: list[str]) -> str:
        """The option agreeing most with the patch's largest object; ties go to the first."""
        parsed = [noun_phrase(o) for o in options]
        dominant = self.dominant(image_id, box)
        if dominant is None:
            return options[0]
        scores = [_agreement(dominant, attrs) for attrs in parsed]
        return options[max(range(len(options)), key=lambda k: scores[k])]

    def simple_query(self, image_id: str, box: Box, question: str) -> str:
        """What colour/shape/pattern/size the largest X of the patch has ("none" without an X)."""
        def attribute(objects: Sequence[SceneObject], key: str) -> str:
            return getattr(max(objects, key=_area), key)

        return answer_question(question, lambda phrase: self.named(image_id, box, phrase), attribute)

    def image_text_score(self, image_id: str, box: Box, text: str) -> float:
        """1.0 when ``text``, read as a noun phrase, names an object in the box, else 0.0."""
        return 1.0 if self.named(image_id, box, text) else 0.0
