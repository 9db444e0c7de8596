"""Records of the world: objects, scenes and tasks.

These are the types every other layer reads, so they live at the bottom of the import
graph and depend on nothing but the standard library.  Coordinates are image pixels with
the origin at the top-left corner and y growing downwards; a box is (x0, y0, x1, y1).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Box = tuple[float, float, float, float]
TaskKind = Literal["detect", "vqa", "retrieve"]
TASK_KINDS: tuple[TaskKind, ...] = ("detect", "vqa", "retrieve")

# A task's split.  Training tasks are "train"; the generated held-out tasks each test one
# thing (world/language.py): "seen" (training families and forms, new images),
# "paraphrase" (held-out surface forms and synonyms), "novel" (held-out compositions of
# operations trained apart), "unseeded" (families no seed program shows).  Real data keeps
# its own split names; every split but "train" is held out.
TRAIN_SPLIT = "train"
HELDOUT_SPLITS: tuple[str, ...] = ("seen", "paraphrase", "novel", "unseeded")
HELDOUT = "heldout"  # the name for every split but TRAIN_SPLIT together (load_tasks, --split)

V = TypeVar("V")


class KindTable(Mapping[str, V]):
    """One entry per task kind: a registry that is complete by construction and fails loudly.

    Everything that differs by kind (generator, task file, return contract, reward …) is
    one of these tables, so a kind added to TASK_KINDS without its entries fails at import,
    naming the table, and an unknown kind raises ValueError where it is looked up instead of
    falling into some other kind's branch.  Iteration follows TASK_KINDS.  ``in`` answers;
    ``[]`` (and so ``get``) raises on an unknown kind.
    """

    def __init__(self, what: str, entries: Mapping[str, V]) -> None:
        if set(entries) != set(TASK_KINDS):
            raise ValueError(f"{what}: entries for kinds {sorted(entries)}, "
                             f"but the task kinds are {sorted(TASK_KINDS)}")
        self.what = what
        self._entries = {kind: entries[kind] for kind in TASK_KINDS}

    def __getitem__(self, kind: str) -> V:
        if kind not in self._entries:
            raise ValueError(f"unknown task kind {kind!r}: no {self.what} "
                             f"(known kinds: {', '.join(TASK_KINDS)})")
        return self._entries[kind]

    def __contains__(self, kind: object) -> bool:
        return kind in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

SHAPES: tuple[str, ...] = (
    "circle", "square", "triangle", "star", "hexagon", "pentagon", "diamond", "cross",
)
COLORS: tuple[str, ...] = (
    "red", "green", "blue", "yellow", "purple", "orange", "cyan", "gray",
)
SIZES: tuple[str, ...] = ("small", "large")
PATTERNS: tuple[str, ...] = ("solid", "striped", "dotted")


UNKNOWN = "unknown"  # an attribute the data does not give (real COCO/GQA objects have no pattern)


@dataclass(frozen=True)
class SceneObject:
    """One object of a scene: its attributes and exact pixel box.

    In the shapes world every field is set and ``attributes``/``relations`` are empty.  On
    real data ``shape`` holds the object's name (the COCO category, GQA's object name), the
    fixed attributes are ``UNKNOWN``, ``attributes`` holds the annotated attribute words
    (GQA: "wooden", "red", "standing") and ``relations`` the annotated relations, each
    (relation name, index of the other object in ``Scene.objects``).
    """

    shape: str
    color: str
    size: str
    pattern: str
    box: Box
    attributes: tuple[str, ...] = ()
    relations: tuple[tuple[str, int], ...] = ()

    @property
    def class_name(self) -> str:
        """The class used by detection and distillation: colour × shape (the name alone when
        the data gives no colour)."""
        return self.shape if self.color == UNKNOWN else f"{self.color} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """One image: its id (the PNG's stem), size and objects."""

    image_id: str
    width: int
    height: int
    objects: tuple[SceneObject, ...]


@dataclass(slots=True)
class Task:
    """One training or held-out problem.

    Not frozen, unlike the other records: a frozen dataclass sets each field through
    ``object.__setattr__``, which was a quarter of loading a converted 1 M-question world
    (1.5 s of 6), and a task holds dicts, so freezing never made it immutable.  Nothing
    assigns to a task's fields.

    ``images`` are image ids; detect and vqa tasks have one, retrieve tasks have the
    candidates in order.  ``annotation`` is the ground truth, by kind:
    detect ``{"boxes": [[x0, y0, x1, y1], ...]}``, vqa ``{"answer": str}``,
    retrieve ``{"index": int}``.  ``meta`` carries the generator's template name and
    other non-answer facts (never shown to programs).
    """

    id: str
    kind: TaskKind
    text: str
    images: tuple[str, ...]
    annotation: dict[str, Any]
    split: str = "train"
    meta: dict[str, Any] = field(default_factory=dict)
