"""The visual API programs call: a ViperGPT-style ``ImagePatch`` and four helper functions.

Coordinates are absolute image pixels with the origin at the top-left corner and y growing
DOWN (``top < bottom``), unlike ViperGPT's y-up ``lower/upper``.  Every patch, however it
was made, uses the same image coordinates, so a number read from one patch can be passed
to ``crop`` of another.

The prompt is rendered from this module (``visrep.programs.prompt``): the public members of
``ImagePatch`` and ``PROGRAM_FUNCTIONS``, their signatures and their docstrings, whose last
line is always a one-line example.  Edit a docstring and the prompt follows.

A patch holds only its image id, box and backend, in name-mangled slots; programs never
get the class itself, and the validator rejects underscore names, so a program cannot
reach the backend (or through it the scene annotations).  Tool calls are counted where
they are answered, by the executor (``ExecResult.api_calls``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from visrep.visual.backend import VisualBackend
from visrep.world.records import Box, KindTable, TaskKind


def _require_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    return value


class ImagePatch:
    """A rectangular region of the image; `image` is the whole image.

    Coordinates are pixels, origin top-left, y grows DOWN: top < bottom.
    """

    __slots__ = ("__image_id", "__box", "__backend")

    def __init__(self, image_id: str, box: Box, backend: VisualBackend) -> None:
        self.__image_id = image_id
        self.__box = tuple(float(v) for v in box)
        self.__backend = backend

    def __repr__(self) -> str:
        x0, y0, x1, y1 = self.__box
        return f"ImagePatch(left={x0:g}, top={y0:g}, right={x1:g}, bottom={y1:g})"

    def _derive(self, box: Box) -> ImagePatch:
        """A patch of the same image and backend."""
        return ImagePatch(self.__image_id, box, self.__backend)

    @property
    def left(self) -> float:
        """x of the left edge."""
        return self.__box[0]

    @property
    def top(self) -> float:
        """y of the top edge (smaller y is higher up)."""
        return self.__box[1]

    @property
    def right(self) -> float:
        """x of the right edge."""
        return self.__box[2]

    @property
    def bottom(self) -> float:
        """y of the bottom edge."""
        return self.__box[3]

    @property
    def width(self) -> float:
        """right - left."""
        return self.right - self.left

    @property
    def height(self) -> float:
        """bottom - top."""
        return self.bottom - self.top

    @property
    def horizontal_center(self) -> float:
        """x of the centre."""
        return (self.left + self.right) / 2

    @property
    def vertical_center(self) -> float:
        """y of the centre."""
        return (self.top + self.bottom) / 2

    @property
    def area(self) -> float:
        """width * height."""
        return self.width * self.height

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom)."""
        return self.__box

    def find(self, object_name: str) -> list[ImagePatch]:
        """Patches of all objects matching the noun phrase, sorted left to right.

        A noun phrase is [size] [pattern] [colour] noun ("small striped red star", "red
        objects"); relations, counts and questions are the program's to work out.
        Example: stars = image.find("red star")
        """
        name = _require_text(object_name, "find() object_name")
        boxes = self.__backend.find(self.__image_id, self.__box, name)
        return [self._derive(b) for b in sorted(boxes, key=lambda b: (b[0], b[1]))]

    def exists(self, object_name: str) -> bool:
        """True if some object matches the noun phrase.

        Example: has_circle = image.exists("blue circle")
        """
        return len(self.find(object_name)) > 0

    def count(self, object_name: str) -> int:
        """Number of objects matching the noun phrase.

        Example: n = image.count("triangles")
        """
        return len(self.find(object_name))

    def verify_property(self, object_name: str, property: str) -> bool:
        """True if some object_name object has the property (colour, size or pattern words).

        Example: is_striped = star.verify_property("star", "striped")
        """
        name = _require_text(object_name, "verify_property() object_name")
        prop = _require_text(property, "verify_property() property")
        return self.__backend.verify_property(self.__image_id, self.__box, name, prop)

    def best_text_match(self, option_list: list[str]) -> str:
        """The option (a noun phrase or attribute words) that best describes the patch's main object.

        Example: color = patch.best_text_match(["red", "green", "blue"])
        """
        if not isinstance(option_list, (list, tuple)) or not option_list:
            raise ValueError("best_text_match() needs a non-empty list of options")
        options = [_require_text(o, "best_text_match() option") for o in option_list]
        return self.__backend.best_text_match(self.__image_id, self.__box, options)

    def simple_query(self, question: str) -> str:
        """The colour, shape, pattern or size of an object in the patch, asked as a question.

        Only "What color/shape/pattern/size is the <noun phrase>?"; other questions are errors.
        Example: shape = patch.simple_query("What shape is the red object?")
        """
        text = _require_text(question, "simple_query() question")
        return self.__backend.simple_query(self.__image_id, self.__box, text)

    def image_text_score(self, text: str) -> float:
        """How well the noun phrase (one object's description) describes the patch (higher is better).

        Example: score = image.image_text_score("small green square")
        """
        phrase = _require_text(text, "image_text_score() text")
        return self.__backend.image_text_score(self.__image_id, self.__box, phrase)

    def crop(self, left: float, top: float, right: float, bottom: float) -> ImagePatch:
        """The sub-patch with these image coordinates, clipped to this patch.

        Example: left_half = image.crop(0, 0, image.horizontal_center, image.height)
        """
        x0, y0, x1, y1 = self.__box
        cx0, cy0 = min(max(float(left), x0), x1), min(max(float(top), y0), y1)
        cx1, cy1 = min(max(float(right), cx0), x1), min(max(float(bottom), cy0), y1)
        return self._derive((cx0, cy0, cx1, cy1))

    def overlaps_with(self, left: float, top: float, right: float, bottom: float) -> bool:
        """True if this patch and the box share some area.

        Example: touching = star.overlaps_with(circle.left, circle.top, circle.right, circle.bottom)
        """
        x0, y0, x1, y1 = self.__box
        return min(x1, right) > max(x0, left) and min(y1, bottom) > max(y0, top)


def best_image_match(list_patches: list[ImagePatch], content: str) -> ImagePatch | None:
    """The patch the noun phrase describes best (None for an empty list).

    Example: best = best_image_match(image.find("star"), "striped star")
    """
    if not list_patches:
        return None
    scores = [p.image_text_score(content) for p in list_patches]
    return list_patches[scores.index(max(scores))]


def distance(patch_a: ImagePatch, patch_b: ImagePatch) -> float:
    """Distance in pixels between the centres of two patches.

    Example: nearest = min(stars, key=lambda s: distance(s, circle))
    """
    return math.hypot(patch_a.horizontal_center - patch_b.horizontal_center,
                      patch_a.vertical_center - patch_b.vertical_center)


def bool_to_yesno(bool_answer: bool) -> str:
    """The word "yes" for True and "no" for False.

    Example: return bool_to_yesno(image.exists("star"))
    """
    return "yes" if bool_answer else "no"


_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five",
                 "six", "seven", "eight", "nine", "ten")


def coerce_to_numeric(string: str) -> float:
    """The first number in a string (digits or a word up to "ten").

    Example: n = coerce_to_numeric(patch.simple_query("How many stars?"))
    """
    text = str(string).lower()
    if m := re.search(r"-?\d+(?:\.\d+)?", text):
        return float(m.group())
    for word in re.findall(r"[a-z]+", text):
        if word in _NUMBER_WORDS:
            return float(_NUMBER_WORDS.index(word))
    raise ValueError(f"no number in {string!r}")


PROGRAM_FUNCTIONS = (best_image_match, distance, bool_to_yesno, coerce_to_numeric)


def api_namespace(backend: VisualBackend, image_id: str,
                  size: tuple[int, int]) -> tuple[dict[str, Any], ImagePatch]:
    """The names a program sees, and the root patch to pass as ``image``.

    Only the helper functions are injected: programs get patches from the root, never the
    class, so they cannot build one around another backend or image.
    """
    root = ImagePatch(image_id, (0.0, 0.0, float(size[0]), float(size[1])), backend)
    return {f.__name__: f for f in PROGRAM_FUNCTIONS}, root


# What a program must return, by task kind: in words for the prompt (RETURN_CONTRACT), and
# as the conversion to plain data that enforces it (_PLAIN, None when the value breaks it).
RETURN_CONTRACT: KindTable[str] = KindTable("return contract", {
    "detect": "the ImagePatch, or list of ImagePatch, that the phrase refers to",
    "vqa": "the answer as a short str (use bool_to_yesno for yes/no questions)",
    "retrieve": "a float, how well the caption fits this image (candidates are ranked by it)",
})


def _plain_boxes(value: Any) -> list[list[float]] | None:
    patches = [value] if isinstance(value, ImagePatch) else value
    if isinstance(patches, (list, tuple)) and all(isinstance(p, ImagePatch) for p in patches):
        return [list(p.box) for p in patches]
    return None


def _plain_answer(value: Any) -> str | None:
    if isinstance(value, bool):
        return bool_to_yesno(value)
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        return value.strip().lower()
    return None


def _plain_score(value: Any) -> float | None:
    return float(value) if isinstance(value, (bool, int, float)) else None


_PLAIN: KindTable[Callable[[Any], Any]] = KindTable("return conversion", {
    "detect": _plain_boxes, "vqa": _plain_answer, "retrieve": _plain_score,
})


def to_plain(value: Any, kind: TaskKind) -> Any:
    """A program's return value as plain data, by task kind (see ``RETURN_CONTRACT``).

    detect: list of [x0, y0, x1, y1]; vqa: lowercase stripped str; retrieve: float.
    Raises TypeError when the value breaks the contract, ValueError on an unknown kind.
    """
    plain = _PLAIN[kind](value)
    if plain is None:
        raise TypeError(f"a {kind} program must return {RETURN_CONTRACT[kind]}, "
                        f"not {type(value).__name__}")
    return plain
