"""The tool calls an ``ImagePatch`` delegates to: one Protocol, and one table of the tools.

Backends answer questions about a region (``box``) of one image (``image_id``); they never
see programs.  ``oracle`` reads scene annotations (the upper bound that separates program
errors from tool errors); the ``student`` backend (box proposals and a distilled CLIP,
``visrep.visual.student``) reads pixels from ``images_dir``.  ``exists``/``count`` are
derived from ``find`` in ``ImagePatch``, so a backend implements only the five primitives
below.

``TOOLS`` declares the same five primitives as data: the kinds of their arguments and of
their answer.  Everything that handles a tool call without knowing what it means is
driven by it: the memo (``visrep.visual.memo``), the worker-side backend that forwards a
call over the sandbox's socket and the executor-side server that checks and answers it
(``visrep.programs.executor``).  A new primitive is a method here and a row in ``TOOLS``,
a method of ``ImagePatch``, and its answer in each backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from visrep.world.records import Box, Scene


class VisualBackend(Protocol):
    """Answers the visual API's primitive questions about ``box`` of image ``image_id``."""

    def find(self, image_id: str, box: Box, name: str) -> list[Box]:
        """Boxes of the objects in ``box`` matching the noun phrase ``name``."""
        ...

    def verify_property(self, image_id: str, box: Box, name: str, prop: str) -> bool:
        """Whether some object ``name`` in ``box`` has the property ``prop``."""
        ...

    def best_text_match(self, image_id: str, box: Box, options: list[str]) -> str:
        """The option that best describes the region."""
        ...

    def simple_query(self, image_id: str, box: Box, question: str) -> str:
        """A short answer to a basic question about the region."""
        ...

    def image_text_score(self, image_id: str, box: Box, text: str) -> float:
        """How well ``text`` describes the region; higher is better."""
        ...


class PixelBackend(VisualBackend, Protocol):
    """A backend that reads pixels through a distilled student, so its answers can be wrong:
    what the referee (``visrep.visual.referee``) needs to judge them."""

    id_classes: frozenset[str]  # the classes the student was distilled on; any other is OOD

    @property
    def score_cut(self) -> float:
        """The ``image_text_score`` above which the backend holds a phrase true."""
        ...


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Kind:
    """One kind of tool argument or answer, and how its values travel.

    ``freeze``: the canonical immutable value (a memo key or stored answer; it also fixes
    the type, so a backend's numpy float is answered as a float); ``fresh``: a copy of a
    frozen value that its receiver may change without changing the memo; ``plain``: a
    frozen value as JSON data, to cross the sandbox's socket.
    """

    name: str
    freeze: Callable[[Any], Any]
    fresh: Callable[[Any], Any] = _same
    plain: Callable[[Any], Any] = _same


TEXT = Kind("text", _same)
TEXTS = Kind("texts", tuple, fresh=list, plain=list)
BOXES = Kind("boxes", lambda boxes: tuple(tuple(float(v) for v in b) for b in boxes),
             fresh=list, plain=lambda boxes: [list(b) for b in boxes])
BOOL = Kind("bool", bool)
STR = Kind("str", str)
FLOAT = Kind("float", float)


@dataclass(frozen=True)
class Tool:
    """A primitive of ``VisualBackend``: its arguments after (image_id, box), its answer."""

    name: str
    args: tuple[Kind, ...]
    answer: Kind


TOOLS: dict[str, Tool] = {tool.name: tool for tool in (
    Tool("find", (TEXT,), BOXES),
    Tool("verify_property", (TEXT, TEXT), BOOL),
    Tool("best_text_match", (TEXTS,), STR),
    Tool("simple_query", (TEXT,), STR),
    Tool("image_text_score", (TEXT,), FLOAT),
)}


def call_tool(backend: VisualBackend, tool: str, image_id: str, box: Box,
              args: Sequence[Any]) -> Any:
    """``backend``'s answer to the call, frozen (``Kind.freeze``); ``args`` as ``TOOLS`` says."""
    spec = TOOLS[tool]
    answer = getattr(backend, tool)(image_id, box, *(k.fresh(a) for k, a in zip(spec.args, args)))
    return spec.answer.freeze(answer)


def _oracle(scenes: dict[str, Scene], images_dir: Path, student_dir: str, proposals: str) -> VisualBackend:
    from visrep.visual.oracle import OracleBackend

    return OracleBackend(scenes)  # annotations are its boxes whatever ``proposals`` says


def _student(scenes: dict[str, Scene], images_dir: Path, student_dir: str, proposals: str) -> VisualBackend:
    from visrep.visual.annotations import AnnotationGrammar, grammar_for
    from visrep.visual.open_student import OpenStudentBackend
    from visrep.visual.student import load_student_backend

    pixels = load_student_backend(student_dir, images_dir, proposals=proposals, scenes=scenes)
    grammar = grammar_for(scenes)
    return OpenStudentBackend(pixels, grammar) if isinstance(grammar, AnnotationGrammar) else pixels


# ``visual.backend`` name → builder (imported lazily: the student pulls in torch models).
BACKENDS: dict[str, Callable[[dict[str, Scene], Path, str, str], VisualBackend]] = {
    "oracle": _oracle,
    "student": _student,
}


def make_backend(name: str, scenes: dict[str, Scene], images_dir: Path,
                 student_dir: str = "", proposals: str = "network") -> VisualBackend:
    """Build the backend named by ``visual.backend``.

    ``scenes`` are the oracle's annotations, and tell every backend which grammar to read
    (shapes world or real annotations, ``visrep.visual.annotations.grammar_for``); ``images_dir``
    is for pixel backends; ``student_dir`` (``visual.student_dir``) is the distilled
    student's dir, which backend "student" needs, and ``proposals`` (``visual.proposals``)
    where its boxes come from: its detector (``network``) or the scenes (``annotations``).
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown visual backend {name!r} (known: {', '.join(BACKENDS)})")
    return BACKENDS[name](scenes, images_dir, student_dir, proposals)
