"""The oracle backend: exact answers from scene annotations.

It is the upper bound of the visual API: with it, a wrong answer is the program's fault,
never the tool's.  In the shapes world, phrases mean what ``visrep.world.predicates`` says
they mean (the same parser the task generators used, read through
``visrep.visual.grammar``), so the oracle and the answer key cannot disagree.  On real data
(COCO, GQA, RefCOCO scenes) they are read against the annotated names and attribute words
(``visrep.visual.annotations``, whose ``grammar_for`` picks the grammar from the
scenes).  Text outside the tools' grammar (a relation, a count, a whole question,
an unknown word) raises ``UnsupportedQuery``, as in every backend.
"""

from __future__ import annotations

from visrep.visual.annotations import grammar_for
from visrep.visual.grammar import Grammar
from visrep.world.records import Box, Scene, SceneObject


def _area(obj: SceneObject) -> float:
    x0, y0, x1, y1 = obj.box
    return (x1 - x0) * (y1 - y0)


def _centre_inside(obj: SceneObject, box: Box) -> bool:
    x0, y0, x1, y1 = obj.box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


class OracleBackend:
    """Answers every ``VisualBackend`` call from the annotations of ``scenes``."""

    def __init__(self, scenes: dict[str, Scene], grammar: Grammar | None = None) -> None:
        self._scenes = scenes
        self.grammar = grammar_for(scenes) if grammar is None else grammar

    def inside(self, image_id: str, box: Box) -> list[SceneObject]:
        """Objects whose box centre lies in ``box`` (the patch "contains" them)."""
        return [o for o in self._scenes[image_id].objects if _centre_inside(o, box)]

    def named(self, image_id: str, box: Box, name: str) -> list[SceneObject]:
        """The objects of the patch the noun phrase ``name`` names, in scene order."""
        phrase = self.grammar.phrase(name)
        return [o for o in self.inside(image_id, box) if phrase.matches(o)]

    def dominant(self, image_id: str, box: Box) -> SceneObject | None:
        """The patch's largest object (what ``best_text_match`` describes), if any."""
        return max(self.inside(image_id, box), key=_area, default=None)

    def find(self, image_id: str, box: Box, name: str) -> list[Box]:
        """Boxes of the matching objects, in scene order (ImagePatch sorts them)."""
        return [o.box for o in self.named(image_id, box, name)]

    def verify_property(self, image_id: str, box: Box, name: str, prop: str) -> bool:
        """True when some ``name`` object has every attribute word of ``prop``."""
        wanted = self.grammar.property(prop)
        return any(wanted.matches(o) for o in self.named(image_id, box, name))

    def best_text_match(self, image_id: str, box: Box, options: list[str]) -> str:
        """The option agreeing most with the patch's largest object; ties go to the first."""
        parsed = [self.grammar.phrase(o) for o in options]
        dominant = self.dominant(image_id, box)
        if dominant is None:
            return options[0]
        scores = [phrase.agreement(dominant) for phrase in parsed]
        return options[max(range(len(options)), key=lambda k: scores[k])]

    def simple_query(self, image_id: str, box: Box, question: str) -> str:
        """The asked attribute of the largest X of the patch ("none" without an X): its colour,
        shape, pattern or size in the shapes world, its annotated colour or material on real data."""
        asked = self.grammar.question(question)
        found = self.named(image_id, box, asked.phrase)
        return self.grammar.answer(max(found, key=_area), asked.attribute) if found else "none"

    def image_text_score(self, image_id: str, box: Box, text: str) -> float:
        """1.0 when ``text``, read as a noun phrase, names an object in the box, else 0.0."""
        return 1.0 if self.named(image_id, box, text) else 0.0
