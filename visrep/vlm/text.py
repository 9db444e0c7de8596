"""Class texts: plain prompts and enriched prompts with attribute descriptions.

Li et al. enrich each class prompt with one LLM-written attribute sentence.  Here the
world knows every class's attributes, so several descriptions per class are generated
from them (facts about the colour, about the shape, and the sizes and patterns the world
draws), each becomes ``"a photo of a {name}. {description}"``, and a class's embedding
is the mean of the normalised embeddings of its prompts (then normalised again).  A JSON
file ``{class: [sentences, ...]}`` may supply the descriptions instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from visrep.world.records import PATTERNS, SIZES

COLOR_FACTS: dict[str, tuple[str, str]] = {
    "red": ("the colour of a ripe tomato", "a warm, strong colour"),
    "green": ("the colour of fresh grass", "a colour between blue and yellow"),
    "blue": ("the colour of a clear sky", "a cool, deep colour"),
    "yellow": ("the colour of a lemon", "a bright, light colour"),
    "purple": ("the colour of a violet flower", "a mix of red and blue"),
    "orange": ("the colour of an orange fruit", "a mix of red and yellow"),
    "cyan": ("a light blue-green like shallow sea water", "a mix of blue and green"),
    "gray": ("a neutral colour like a rain cloud", "a colour with no hue, between black and white"),
}
SHAPE_FACTS: dict[str, tuple[str, str]] = {
    "circle": ("a round outline with no corners", "a smooth curve like a coin"),
    "square": ("four equal straight sides and four right-angle corners", "the outline of a box"),
    "triangle": ("three straight sides and three corners", "a point at the top and a flat base"),
    "star": ("five pointed tips around the centre", "a spiky outline"),
    "hexagon": ("six equal straight sides", "the outline of a honeycomb cell"),
    "pentagon": ("five equal straight sides", "a point at the top like a house"),
    "diamond": ("four sides standing on one corner", "a rhombus taller than it is wide"),
    "cross": ("two bars crossing at right angles", "the outline of a plus sign"),
}


def plain_prompt(name: str) -> str:
    return f"a photo of a {name}."


def enriched_prompt(name: str, description: str) -> str:
    return f"a photo of a {name}. {description}"


def generated_descriptions(name: str) -> list[str]:
    """Several attribute sentences for a "colour shape" class, from the world's vocabulary."""
    color, _, shape = name.partition(" ")
    c_fact = COLOR_FACTS.get(color, (f"{color} in colour", f"coloured {color}"))
    s_fact = SHAPE_FACTS.get(shape, (f"the outline of a {shape}", f"a {shape} outline"))
    return [
        f"It is {color}, {c_fact[0]}, and has {s_fact[0]}.",
        f"A {shape} with {s_fact[1]}, painted {color}, {c_fact[1]}.",
        f"A flat {color} shape with {s_fact[0]}.",
        f"It is drawn {' or '.join(SIZES)}, and {', '.join(PATTERNS[:-1])} or {PATTERNS[-1]}, "
        f"always {color}.",
    ]


def load_descriptions(path: Path, classes: Sequence[str]) -> dict[str, list[str]]:
    """``{class: [sentences]}`` from a JSON file; every class needs at least one sentence."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"descriptions_file {path}: cannot read JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"descriptions_file {path}: expected an object {{class: [sentences]}}")
    missing = [c for c in classes if not data.get(c)]
    if missing:
        raise ValueError(f"descriptions_file {path}: no descriptions for {missing[:5]}"
                         f"{' ...' if len(missing) > 5 else ''}")
    bad = [c for c in classes if not all(isinstance(s, str) and s for s in data[c])]
    if bad:
        raise ValueError(f"descriptions_file {path}: non-string descriptions for {bad[:5]}")
    return {c: list(data[c]) for c in classes}


def pattern_prompts(classes: Sequence[str]) -> list[str]:
    """The full descriptions "a photo of a {pattern} {class}.", class-major: the prompt of
    class ``c`` with pattern ``p`` is at ``c * len(PATTERNS) + p``.  They are the texts the
    student backend classifies a crop over, so the teacher learns the pattern too."""
    return [plain_prompt(f"{pattern} {name}") for name in classes for pattern in PATTERNS]


def pattern_prompt_ids(labels: torch.Tensor, patterns: torch.Tensor) -> torch.Tensor:
    """(N,) indices into ``pattern_prompts`` of objects with class ``labels`` (N,) and
    pattern indices ``patterns`` (N,)."""
    return labels * len(PATTERNS) + patterns


def class_prompts(classes: Sequence[str], enrich: bool,
                  descriptions: dict[str, list[str]] | None = None) -> list[list[str]]:
    """The prompts of each class: one plain prompt, or one enriched prompt per description."""
    if not enrich:
        return [[plain_prompt(c)] for c in classes]
    descriptions = descriptions or {}
    return [[enriched_prompt(c, d) for d in descriptions.get(c) or generated_descriptions(c)]
            for c in classes]


def ensemble(encode: Callable[[list[str]], torch.Tensor], prompts: list[list[str]]) -> torch.Tensor:
    """(C, D): per class, the normalised mean of its prompts' normalised embeddings."""
    flat = [p for group in prompts for p in group]
    emb = F.normalize(encode(flat).float(), dim=-1)  # (P, D)
    out, start = [], 0
    for group in prompts:
        out.append(emb[start:start + len(group)].mean(0))
        start += len(group)
    return F.normalize(torch.stack(out), dim=-1)
