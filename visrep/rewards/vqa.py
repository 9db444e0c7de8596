"""VQA reward: normalised exact match, as GQA scores answers."""

from __future__ import annotations

import re
from typing import Any

from visrep.rewards.records import Reward

_NUMBERS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
    "true": "yes", "false": "no",
}
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = re.compile(r"[^\w\s]")


def normalize_answer(answer: Any) -> str:
    """Lowercase, drop punctuation and articles, map number words to digits and bools to yes/no."""
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    if isinstance(answer, float) and answer.is_integer():
        answer = int(answer)
    text = _PUNCT.sub(" ", str(answer).lower())
    text = _ARTICLES.sub(" ", text)
    words = [_NUMBERS.get(w, w) for w in text.split()]
    return " ".join(words)


def vqa_reward(predicted: Any, answer: str) -> Reward:
    """1.0 when the normalised prediction equals the normalised answer."""
    got, want = normalize_answer(predicted), normalize_answer(answer)
    return Reward(1.0 if got == want else 0.0, f"answered {got!r}, expected {want!r}")
