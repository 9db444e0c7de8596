"""How a task is worded, and which wordings and families each split may use.

The generators (tasks.py, retrieval.py) choose a task's meaning first: its family (the
template), the phrases and words it needs (the *slots*), its answer and its reference
program.  This module turns a meaning into text.  Every family has ``FORMS_PER_FAMILY``
surface forms; form 0 is the canonical wording the generators check their answers
against (``predicates.refer``, ``retrieval.caption_holds``), and every form means the same
thing, so one reference program serves them all.

What each split may use (``SPLIT_LANGUAGE``) is what makes the held-out splits test
something a copy of the training text cannot answer:

- ``train`` and ``seen``: the training forms (``TRAIN_FORMS``) of seeded and unseeded
  families (``seen``: seeded ones only, on new images);
- ``paraphrase``: the held-out forms, never in any training text, with synonyms for
  nouns, colours and sizes inside the phrases ("big", "violet", "thing");
- ``novel``: families that only compose operations the training families use apart
  (all x relation, count x relation, count x pair), never trained themselves;
- ``unseeded``: families among the training tasks that no seed program shows, so only
  sampling and reward can teach them.

A family's role (seeded, unseeded, novel) is set where its generator is registered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from visrep.world.predicates import with_article
from visrep.world.records import HELDOUT_SPLITS, TRAIN_SPLIT

SEEDED, UNSEEDED, NOVEL = "seeded", "unseeded", "novel"
FORMS_PER_FAMILY = 5
TRAIN_FORMS = (0, 1, 2)
HELDOUT_FORMS = (3, 4)
# Slots holding a noun phrase: rewritten with synonyms in held-out forms; each also has an
# "a_<slot>" form with its article ("an orange star").
PHRASE_SLOTS = ("p", "q", "ps", "qs")
# Synonyms the tools' grammar reads (predicates._SYNONYMS) but the training text never uses.
SYNONYMS = {"large": "big", "small": "little", "gray": "grey", "purple": "violet",
            "object": "thing", "objects": "things"}


@dataclass(frozen=True)
class SplitLanguage:
    """The family roles and forms one split's tasks are drawn from."""

    roles: frozenset[str]
    forms: tuple[int, ...]
    synonyms: bool


SPLIT_LANGUAGE: dict[str, SplitLanguage] = {
    TRAIN_SPLIT: SplitLanguage(frozenset({SEEDED, UNSEEDED}), TRAIN_FORMS, False),
    "seen": SplitLanguage(frozenset({SEEDED}), TRAIN_FORMS, False),
    "paraphrase": SplitLanguage(frozenset({SEEDED}), HELDOUT_FORMS, True),
    "novel": SplitLanguage(frozenset({NOVEL}), TRAIN_FORMS, False),
    "unseeded": SplitLanguage(frozenset({UNSEEDED}), TRAIN_FORMS, False),
}
assert set(SPLIT_LANGUAGE) == {TRAIN_SPLIT, *HELDOUT_SPLITS}


_QUERY = ("What {attr} is the {p}?", "What is the {attr} of the {p}?", "Which {attr} does the {p} have?",
          "Tell me the {attr} of the {p}.", "The {p} is what {attr}?")
_SAME = ("Do the {p} and the {q} have the same {attr}?", "Are the {p} and the {q} the same {attr}?",
         "Is the {attr} of the {p} the same as that of the {q}?",
         "Do the {p} and the {q} share one {attr}?", "Does the {p} match the {q} in {attr}?")
_CAPTION = ("{}", "a picture with {}", "an image containing {}", "there is {} in this picture",
            "a scene that shows {}")

# family (template) -> its forms, canonical first, the held-out ones (HELDOUT_FORMS) last.
FORMS: dict[str, tuple[str, ...]] = {
    # ---- detect
    "unique": ("the {p}", "find the {p}", "the {p} in the image", "locate the {p}", "point to the {p}"),
    "relation": ("the {p} {rel} the {q}", "find the {p} {rel} the {q}", "the {p} that is {rel} the {q}",
                 "locate the {p} placed {rel} the {q}", "point to the {p} lying {rel} the {q}"),
    "all": ("all {ps}", "every {p}", "all of the {ps}", "each {p} in the picture", "locate every {p}"),
    "extreme": ("the {p} furthest to the {side}", "find the {p} nearest the {side} edge",
                "the {p} closest to the {side} side", "locate the {p} at the far {side}",
                "of all {ps}, the one most to the {side}"),
    "all_relation": ("all {ps} {rel} the {q}", "every {p} {rel} the {q}", "all of the {ps} that are {rel} the {q}",
                     "each {p} {rel} the {q}", "locate every {p} {rel} the {q}"),
    # ---- vqa
    "exist": ("Is there {a_p}?", "Does the image contain {a_p}?", "Can you see {a_p}?",
              "Is {a_p} present?", "Would I find {a_p} here?"),
    "count": ("How many {ps} are there?", "Count the {ps}.", "What is the number of {ps}?",
              "How many {ps} can you see?", "How many {ps} does the picture show?"),
    **{f"query_{attr}": _QUERY for attr in ("color", "shape", "pattern", "size")},
    "compare_size": ("Is the {p} larger than the {q}?", "Is the {p} bigger than the {q}?",
                     "Is the {p} of a larger size than the {q}?", "Does the {p} exceed the {q} in size?",
                     "Compared with the {q}, is the {p} larger?"),
    **{f"compare_{attr}": _SAME for attr in ("color", "shape", "pattern")},
    "relate_query": ("What {attr} is the {p} {rel} the {q}?", "What is the {attr} of the {p} {rel} the {q}?",
                     "Which {attr} does the {p} {rel} the {q} have?",
                     "Tell me the {attr} of the {p} {rel} the {q}.", "The {p} {rel} the {q} is what {attr}?"),
    "relate_verify": ("Is the {p} {rel} the {q}?", "Is the {p} located {rel} the {q}?",
                      "Does the {p} appear {rel} the {q}?", "Would you say the {p} is {rel} the {q}?",
                      "Is it true that the {p} is {rel} the {q}?"),
    "logic_and": ("Is there {a_p} and {a_q}?", "Are there both {a_p} and {a_q}?",
                  "Does the image contain {a_p} and {a_q}?", "Can you see {a_p} as well as {a_q}?",
                  "Are {a_p} and {a_q} both present?"),
    "logic_or": ("Is there {a_p} or {a_q}?", "Is there either {a_p} or {a_q}?",
                 "Does the image contain {a_p} or {a_q}?", "Can you see {a_p} or else {a_q}?",
                 "Is at least one of {a_p} and {a_q} present?"),
    "more": ("Are there more {ps} than {qs}?", "Do the {ps} outnumber the {qs}?",
             "Are there more {ps} than there are {qs}?",
             "Is the number of {ps} greater than the number of {qs}?", "Are {ps} more numerous than {qs}?"),
    "count_relation": ("How many {ps} are {rel} the {q}?", "Count the {ps} {rel} the {q}.",
                       "What is the number of {ps} {rel} the {q}?", "How many {ps} can you see {rel} the {q}?",
                       "How many {ps} does the picture show {rel} the {q}?"),
    # ---- retrieve (a caption; each form wraps the canonical one's words)
    "single": tuple(f.format("{a_p}") for f in _CAPTION),
    "pair": tuple(f.format("{a_p} and {a_q}") for f in _CAPTION),
    "relation_caption": tuple(f.format("{a_p} {rel} {a_q}") for f in _CAPTION),
    "count_caption": tuple(f.format("{n} {ps}") for f in _CAPTION),
    "negation": tuple(f.format("{a_p} and no {qs}") for f in _CAPTION),
    "count_pair": tuple(f.format("{n} {ps} and {a_q}") for f in _CAPTION),
}
assert all(len(forms) == FORMS_PER_FAMILY for forms in FORMS.values())


def forms_key(kind: str, template: str) -> str:
    """The FORMS entry of a template (retrieval's relation and count captions have their own)."""
    if kind == "retrieve" and template in ("relation", "count"):
        return f"{template}_caption"
    return template


def with_synonyms(phrase: str) -> str:
    """The phrase with every word that has a synonym in SYNONYMS replaced by it."""
    return re.sub(r"[a-z]+", lambda m: SYNONYMS.get(m[0], m[0]), phrase)


def render(key: str, form: int, slots: dict[str, str], synonyms: bool = False) -> str:
    """The text of form ``form`` of family ``key`` with ``slots`` filled in; ``synonyms``
    rewrites the phrase slots first (held-out wordings)."""
    filled = dict(slots)
    for name in PHRASE_SLOTS:
        if name in filled:
            if synonyms:
                filled[name] = with_synonyms(filled[name])
            filled[f"a_{name}"] = with_article(filled[name])
    return FORMS[key][form].format(**filled)
