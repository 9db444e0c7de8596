"""The referee: every tool call a pixel backend answered, asked again of the oracle.

Attribution needs to know, per call, whether the student's tools told the program the
truth: the referee asks the oracle the very same call (image, box, arguments), says
whether the two answers agree, and names the objects the call was about with their
class's side of the distillation split (ID: a class the student was distilled on; OOD: one
it never saw), so tool errors can be counted per primitive and per ID/OOD, and the crops
they concern handed to re-distillation.

Agreement per answer kind: boxes agree when they match one-to-one at IoU 0.5 (the detect
reward's rule, ``visrep.world.boxes``); a score agrees when the student's passes its own
decision cut (the threshold its ``find`` keeps a proposal at) exactly when the oracle's
phrase holds; every other answer must be equal.

The objects a call is about: those of the patch its phrase names (``find``,
``verify_property``, ``image_text_score``, the asked-about phrase of ``simple_query``), the
patch's largest for ``best_text_match``, and for ``find`` also every object a returned box
lands on (a false detection is about the object of the patch it mistook).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from visrep.visual.backend import BOXES, FLOAT, TOOLS
from visrep.visual.grammar import UnsupportedQuery
from visrep.visual.memo import MemoBackend
from visrep.visual.oracle import OracleBackend
from visrep.world.boxes import IOU_THRESHOLD, matched_ious, same_boxes
from visrep.world.records import Box, Scene, SceneObject

ID, OOD, NO_OBJECT = "id", "ood", "none"


class Referee:
    """Judges a pixel backend's answers against the oracle of ``scenes``."""

    def __init__(self, scenes: dict[str, Scene], id_classes: Collection[str], score_cut: float) -> None:
        self.oracle_backend = OracleBackend(scenes)
        self.oracle = MemoBackend(self.oracle_backend)
        self._id_classes = frozenset(id_classes)
        self._score_cut = score_cut

    def agree(self, tool: str, answer: Any, truth: Any) -> bool:
        """Whether a backend's ``answer`` to a ``tool`` call says what the oracle's ``truth`` says."""
        kind = TOOLS[tool].answer
        if kind is BOXES:
            return same_boxes(answer, truth)
        if kind is FLOAT:
            return (answer > self._score_cut) == (truth > 0.5)
        return bool(answer == truth)

    def _about(self, tool: str, image_id: str, box: Box, args: Sequence[Any], answer: Any) -> list[SceneObject]:
        o = self.oracle_backend
        if tool == "best_text_match":
            dominant = o.dominant(image_id, box)
            return [dominant] if dominant is not None else []
        phrase = o.grammar.question(args[0]).phrase if tool == "simple_query" else args[0]
        objects = o.named(image_id, box, phrase)
        if tool == "find":
            for obj in o.inside(image_id, box):
                if obj not in objects and any(matched_ious([b], [obj.box])[0] >= IOU_THRESHOLD for b in answer):
                    objects.append(obj)
        return objects

    def judge(self, tool: str, image_id: str, box: Box, args: Sequence[Any], answer: Any) -> dict[str, Any]:
        """The call, both answers, whether they agree and the objects it was about, as plain
        data (a row of ``tool_calls.parquet`` once the executor has counted it)."""
        spec = TOOLS[tool]
        try:
            truth = self.oracle.call(tool, image_id, box, args)
            objects = self._about(tool, image_id, box, args, answer)
        except UnsupportedQuery:  # the grammar is shared, so a backend that answered cannot get here
            truth, objects = None, []
        classes = {o.class_name in self._id_classes for o in objects}
        return {
            "tool": tool, "image_id": image_id, "box": list(box),
            "args": [k.plain(k.freeze(a)) for k, a in zip(spec.args, args)],
            "answer": spec.answer.plain(spec.answer.freeze(answer)),
            "oracle": None if truth is None else spec.answer.plain(spec.answer.freeze(truth)),
            "agree": truth is not None and self.agree(tool, answer, truth),
            "objects": [[*o.box, o.class_name] for o in objects],
            "split": NO_OBJECT if not classes else (ID if classes == {True} else OOD),
        }
