"""The visual API programs call: ViperGPT's still-image ``ImagePatch`` and its helper functions.

**Coordinates are ViperGPT's**: pixels with the origin at the image's bottom-left corner and
y growing UP, so ``lower < upper``, and ``vertical_center`` grows towards the top of the
image.  ``left lower right upper horizontal_center vertical_center`` and ``overlaps_with``
are in the coordinates of the whole image, whatever patch they are read from;
``crop(left, lower, right, upper)`` and ``ImagePatch(patch, left, lower, right, upper)`` are
relative to the patch they cut from (as ViperGPT's crop is), and ``width``/``height`` are
the patch's own size.  visrep's own additions (``count``, ``image_text_score``, ``area``)
take no coordinates, so nothing in the API is y-down.

The boundary converts: backends, the world's annotations and the rewards keep absolute
pixel boxes ``(x0, y0, x1, y1)`` with the origin top-left and y DOWN (the convention of
image files and COCO).  A patch stores that box and its image's height, reads every y-up
number from them, and turns a y-up crop back into a box; ``pixel_box`` gives the box to
the code that scores a program's answer (never to programs).

The prompt is rendered from this module (``visrep.programs.prompt``): the public members of
``ImagePatch``, ``derive_patch`` (what programs call as ``ImagePatch``) and
``PROGRAM_FUNCTIONS``, their signatures and their docstrings, whose last line is always a
one-line example.  Edit a docstring and the prompt follows.

A patch holds only its image id, box, image height and backend, in name-mangled slots;
programs never get the class (``ImagePatch`` in a program is ``derive_patch``, which cuts a
patch out of a patch it is given, so with the same image and backend), and the validator
rejects underscore names, so a program cannot reach the backend (or through it the scene
annotations) nor another image.  ViperGPT's ``compute_depth`` and ``llm_query`` exist with
ViperGPT's signatures, but no depth model or language model backs them here: they raise
``ToolError``.  Tool calls are counted where they are answered, by the executor
(``ExecResult.api_calls``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from visrep.visual.backend import VisualBackend
from visrep.world.records import Box, KindTable, TaskKind

# What simple_query() asks without a question, as ViperGPT's does.
DEFAULT_QUESTION = "What is this?"


class ToolError(RuntimeError):
    """A tool that failed, was refused or does not exist in this configuration: what a
    program sees of it (the executor's refusals of a call reach the program as this too,
    ``visrep.programs.executor.RemoteBackend``), so the run reads as a tool failure."""


def _unavailable(member: str, model: str) -> ToolError:
    return ToolError(f"{member} is not available in this configuration (no {model} backs the visual API)")


def _require_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    return value


def _clip(value: float, low: float, high: float) -> float:
    return min(max(float(value), low), high)


class ImagePatch:
    """A rectangular region of the image; `image` is the whole image.

    Coordinates are pixels, origin at the BOTTOM-left, y grows UP: lower < upper.
    """

    __slots__ = ("__image_id", "__box", "__image_height", "__backend")

    def __init__(self, image_id: str, box: Box, image_height: float, backend: VisualBackend) -> None:
        """A patch over ``box`` (absolute pixels, y down) of image ``image_id``."""
        self.__image_id = image_id
        self.__box = tuple(float(v) for v in box)
        self.__image_height = float(image_height)
        self.__backend = backend

    def __repr__(self) -> str:
        return f"ImagePatch({self.left:g}, {self.lower:g}, {self.right:g}, {self.upper:g})"

    def _pixel_box(self) -> Box:
        """(x0, y0, x1, y1): absolute pixels, origin top-left, y down (backends, rewards)."""
        x0, y0, x1, y1 = self.__box
        return (x0, y0, x1, y1)

    def _derive(self, box: Box) -> ImagePatch:
        """A patch of the same image and backend over ``box`` (absolute pixels, y down)."""
        return ImagePatch(self.__image_id, box, self.__image_height, self.__backend)

    @property
    def left(self) -> float:
        """x of the left edge."""
        return self.__box[0]

    @property
    def lower(self) -> float:
        """y of the bottom edge (y grows up)."""
        return self.__image_height - self.__box[3]

    @property
    def right(self) -> float:
        """x of the right edge."""
        return self.__box[2]

    @property
    def upper(self) -> float:
        """y of the top edge (upper > lower)."""
        return self.__image_height - self.__box[1]

    @property
    def width(self) -> float:
        """right - left."""
        return self.right - self.left

    @property
    def height(self) -> float:
        """upper - lower."""
        return self.upper - self.lower

    @property
    def horizontal_center(self) -> float:
        """x of the centre: larger is further right."""
        return (self.left + self.right) / 2

    @property
    def vertical_center(self) -> float:
        """y of the centre: larger is HIGHER up in the image."""
        return (self.lower + self.upper) / 2

    @property
    def area(self) -> float:
        """width * height."""
        return self.width * self.height

    def find(self, object_name: str) -> list[ImagePatch]:
        """Patches of all objects matching the noun phrase ([size] [pattern] [colour] noun), left to right.

        Example: stars = image.find("small striped red star")
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
        """True if the object_name object has the property (colour, size or pattern words).

        Example: is_striped = star_patch.verify_property("star", "striped")
        """
        name = _require_text(object_name, "verify_property() object_name")
        prop = _require_text(property, "verify_property() property")
        return self.__backend.verify_property(self.__image_id, self.__box, name, prop)

    def best_text_match(self, option_list: list[str] | None = None, prefix: str | None = None) -> str:
        """The option (noun phrase or attribute words) that best describes the patch's main object.

        Example: color = star_patch.best_text_match(["red", "green", "blue"])
        """
        if not isinstance(option_list, (list, tuple)) or not option_list:
            raise ValueError("best_text_match() needs a non-empty list of options")
        options = [_require_text(o, "best_text_match() option") for o in option_list]
        if prefix is not None:  # each option is asked as "<prefix> <option>"; the option is returned
            head = _require_text(prefix, "best_text_match() prefix")
            asked = [f"{head} {o}" for o in options]
            return options[asked.index(self.__backend.best_text_match(self.__image_id, self.__box, asked))]
        return self.__backend.best_text_match(self.__image_id, self.__box, options)

    def simple_query(self, question: str | None = None) -> str:
        """The answer to "What color/shape/pattern/size is the <noun phrase>?" (other questions are errors).

        Example: shape = patch.simple_query("What shape is the red object?")
        """
        # without a question ViperGPT asks DEFAULT_QUESTION (which the tools' grammar may refuse)
        text = DEFAULT_QUESTION if question is None else _require_text(question, "simple_query() question")
        return self.__backend.simple_query(self.__image_id, self.__box, text)

    def image_text_score(self, text: str) -> float:
        """How well the noun phrase (one object's description) describes the patch (higher is better).

        Example: score = image.image_text_score("small green square")
        """
        phrase = _require_text(text, "image_text_score() text")
        return self.__backend.image_text_score(self.__image_id, self.__box, phrase)

    def compute_depth(self) -> float:
        """The median depth of the patch; no depth model here: raises ToolError.

        Example: depth = patch.compute_depth()
        """
        raise _unavailable("compute_depth()", "depth model")

    def crop(self, left: float, lower: float, right: float, upper: float) -> ImagePatch:
        """The sub-patch at these coordinates RELATIVE to this patch (y up), clipped to it.

        Example: left_half = image.crop(0, 0, image.width / 2, image.height)
        """
        coords = (left, lower, right, upper)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in coords):
            raise TypeError("crop() needs four numbers: left, lower, right, upper")
        x0 = _clip(self.left + left, self.left, self.right)
        x1 = _clip(self.left + right, x0, self.right)
        low = _clip(self.lower + lower, self.lower, self.upper)
        up = _clip(self.lower + upper, low, self.upper)
        # ViperGPT's crop raises on no area too; no margin is added (its crop_larger_margin option)
        if x1 <= x0 or up <= low:
            raise ValueError(f"ImagePatch has no area: crop{coords} of {self!r}")
        return self._derive((x0, self.__image_height - up, x1, self.__image_height - low))

    def overlaps_with(self, left: float, lower: float, right: float, upper: float) -> bool:
        """True if the box (image coordinates, y up) overlaps or touches this patch.

        Example: touching = star.overlaps_with(circle.left, circle.lower, circle.right, circle.upper)
        """
        return self.left <= right and self.right >= left and self.lower <= upper and self.upper >= lower

    def llm_query(self, question: str, long_answer: bool = True) -> str:
        """A language model's answer; no language model here: raises ToolError.

        Example: answer = patch.llm_query("Who invented the star?")
        """
        raise _unavailable("llm_query()", "language model")


def pixel_box(patch: ImagePatch) -> Box:
    """The patch as an absolute pixel box (x0, y0, x1, y1), origin top-left, y down: what the
    rewards compare with the annotation.  Programs never get this function."""
    return patch._pixel_box()


def derive_patch(image: ImagePatch, left: float | None = None, lower: float | None = None,
                 right: float | None = None, upper: float | None = None) -> ImagePatch:
    """A new patch of `image`: the same region, or image.crop(left, lower, right, upper).

    Example: image_patch = ImagePatch(image)
    """
    if not isinstance(image, ImagePatch):
        raise TypeError(f"ImagePatch() needs an ImagePatch (image, or a patch found in it), "
                        f"got {type(image).__name__}")
    coords = (left, lower, right, upper)
    if all(v is None for v in coords):
        return image._derive(image._pixel_box())
    if any(v is None for v in coords):
        raise TypeError("ImagePatch() takes all four of left, lower, right, upper, or none")
    return image.crop(left, lower, right, upper)  # type: ignore[arg-type]


def best_image_match(list_patches: list[ImagePatch], content: list[str] | str,
                     return_index: bool = False) -> ImagePatch | int | None:
    """The patch (or its index) the texts describe best (None for no patches).

    Example: star = best_image_match(image.find("star"), ["striped star", "red star"])
    """
    if not list_patches:
        return None
    texts = [content] if isinstance(content, str) else list(content)  # ViperGPT's is a list; one text too
    if not texts:
        raise ValueError("best_image_match() needs at least one text in content")
    scores = [sum(p.image_text_score(t) for t in texts) / len(texts) for p in list_patches]  # mean over texts
    best = scores.index(max(scores))
    return best if return_index else list_patches[best]


def _edge_gap(a: ImagePatch, b: ImagePatch) -> float:
    dx = max(0.0, a.left - b.right, b.left - a.right)
    dy = max(0.0, a.lower - b.upper, b.lower - a.upper)
    return math.hypot(dx, dy)


def _iou(a: ImagePatch, b: ImagePatch) -> float:
    inter = (max(0.0, min(a.right, b.right) - max(a.left, b.left))
             * max(0.0, min(a.upper, b.upper) - max(a.lower, b.lower)))
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def distance(patch_a: ImagePatch | float, patch_b: ImagePatch | float) -> float:
    """Pixels between the EDGES of two patches (minus their IoU if they overlap), or |a - b| of two numbers.

    Example: nearest = min(stars, key=lambda star: distance(star, circle))
    """
    patches = isinstance(patch_a, ImagePatch), isinstance(patch_b, ImagePatch)
    if all(patches):
        gap = _edge_gap(patch_a, patch_b)  # type: ignore[arg-type]
        return gap if gap > 0 else -_iou(patch_a, patch_b)  # type: ignore[arg-type]
    if any(patches):
        raise TypeError("distance() takes two patches or two numbers")
    return abs(patch_a - patch_b)  # type: ignore[operator]


def bool_to_yesno(bool_answer: bool) -> str:
    """The word "yes" for True and "no" for False.

    Example: return bool_to_yesno(image.exists("star"))
    """
    return "yes" if bool_answer else "no"


def llm_query(query: str, context: str | None = None, long_answer: bool = True) -> str:
    """A language model's answer; no language model here: raises ToolError.

    Example: answer = llm_query("Who invented the star?")
    """
    raise _unavailable("llm_query()", "language model")


_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = {w: 10 * (n + 2) for n, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"thousand": 1000, "million": 10 ** 6, "billion": 10 ** 9}


def _number_words(text: str) -> int | None:
    """The value the number words of ``text`` spell ("two hundred and five" -> 205), if any."""
    total = current = 0
    seen = False
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in _UNITS or word in _TENS:
            current += _UNITS.index(word) if word in _UNITS else _TENS[word]
        elif word == "hundred" and seen:
            current *= 100
        elif word in _SCALES and seen:
            total, current = total + current * _SCALES[word], 0
        else:
            continue
        seen = True
    return total + current if seen else None


def coerce_to_numeric(string: str, no_string: bool = False) -> int | float | str:
    """The number in a string ("three", "10-15" -> 10); no number: the string, or ValueError if no_string.

    Example: n = coerce_to_numeric("3 stars")
    """
    # ViperGPT's: number words first, then the digits; an int unless there is a decimal point.
    # Where its code departs from its doc ("2 and 3" -> 23, dates -> a year), the doc wins.
    text = str(string)
    words = _number_words(text)
    if words is not None:
        return words
    if m := re.search(r"-?\d+(\.\d+)?", text):
        return float(m.group()) if m.group(1) else int(m.group())
    if no_string:
        raise ValueError(f"no number in {text[:80]!r}")
    return string


class ReadOnlyNamespace:
    """A read-only bundle of values reached as attributes (``math.sqrt``), without the module
    object they came from: no ``__dict__``, no loader, nothing to assign."""

    __slots__ = ("__name", "__members")

    def __init__(self, name: str, members: dict[str, Any]) -> None:
        object.__setattr__(self, "_ReadOnlyNamespace__name", name)
        object.__setattr__(self, "_ReadOnlyNamespace__members", MappingProxyType(dict(members)))

    def __getattr__(self, attr: str) -> Any:
        try:
            return self.__members[attr]
        except KeyError:
            raise AttributeError(f"{self.__name} has no attribute {attr!r}") from None

    def __setattr__(self, attr: str, value: Any) -> None:
        raise AttributeError(f"{self.__name} is read-only")

    def __delattr__(self, attr: str) -> None:
        raise AttributeError(f"{self.__name} is read-only")

    def __dir__(self) -> list[str]:
        return sorted(self.__members)

    def __repr__(self) -> str:
        return f"<{self.__name}: {len(self.__members)} read-only names>"


# ViperGPT's programs call math.* (its prompt starts with `import math`); programs cannot
# import, so they get the module's public functions and constants, not the module.
MATH = ReadOnlyNamespace("math", {n: getattr(math, n) for n in dir(math) if not n.startswith("_")})
MATH_DOC = "Python's math functions and constants (math.sqrt, math.hypot, math.pi ...), ready to use: no import"

PROGRAM_FUNCTIONS = (best_image_match, distance, bool_to_yesno, llm_query, coerce_to_numeric)
# Every name a program gets besides `image`.  `ImagePatch` is ViperGPT's constructor, which
# here derives a patch from a patch; the class itself is never given.
PROGRAM_NAMES: MappingProxyType[str, Any] = MappingProxyType({
    "ImagePatch": derive_patch, "math": MATH, **{f.__name__: f for f in PROGRAM_FUNCTIONS},
})


def api_namespace(backend: VisualBackend, image_id: str,
                  size: tuple[int, int]) -> tuple[dict[str, Any], ImagePatch]:
    """The names a program sees (``PROGRAM_NAMES``), and the root patch to pass as ``image``.

    Programs get patches from the root, never the class, so they cannot build one around
    another backend or image.
    """
    width, height = float(size[0]), float(size[1])
    root = ImagePatch(image_id, (0.0, 0.0, width, height), height, backend)
    return dict(PROGRAM_NAMES), root


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
        return [list(pixel_box(p)) for p in patches]
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

    detect: list of pixel boxes [x0, y0, x1, y1] (y down, ``pixel_box``); vqa: lowercase stripped str; retrieve: float.
    Raises TypeError when the value breaks the contract, ValueError on an unknown kind.
    """
    plain = _PLAIN[kind](value)
    if plain is None:
        raise TypeError(f"a {kind} program must return {RETURN_CONTRACT[kind]}, "
                        f"not {type(value).__name__}")
    return plain
