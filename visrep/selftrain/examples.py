"""Prompts and training pairs: one function decides what the policy sees for a task.

The sampler and the learner both call ``prompt_for``, so a program is always trained on
exactly the prompt it will be sampled from.  The completion it is trained on is the body
of the program's extracted source, re-indented (not the raw sampled text: extraction has
dropped what the model wrote past the program).  Hand-written programs are bodies for named
training tasks, in JSON lines: the seeds (written before training, for the warm start and
the prompt's few-shot examples) and the corrections (written after self-training saturates,
from the tasks it still fails: ``visrep.selftrain.corrections``) share this format and loader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visrep.cli import SetupError, resolve_path
from visrep.config import PromptConfig
from visrep.programs.prompt import render_prompt
from visrep.programs.text import indent_body, program_body
from visrep.selftrain import trajectories as T
from visrep.world.records import Task

# (prompt, completion): what the learner trains on
Pair = tuple[str, str]


@dataclass(frozen=True)
class Seed:
    """A hand-written program body for one training task (a seed or a correction)."""

    task_id: str
    kind: str
    text: str
    body: str


def read_programs(path: Path, what: str) -> list[tuple[int, Seed]]:
    """(line number, program) per non-blank line of a JSON-lines file of hand-written programs;
    keys beyond the four fields (a correction's provenance) are ignored.  A bad line is a
    one-line ValueError naming it as not a ``what``."""
    programs: list[tuple[int, Seed]] = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            programs.append((n, Seed(data["task_id"], data["kind"], data["text"], data["body"])))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a {what} ({exc})") from None
    return programs


def load_seeds(path: Path) -> list[Seed]:
    """Seeds from a JSON-lines file; a bad line is a one-line ValueError naming it."""
    return [seed for _, seed in read_programs(path, "seed program")]


def config_seeds(seeds_file: str) -> list[Seed]:
    """The seeds of ``warm_start.seeds_file`` (resolved like every config path); a missing
    file is a SetupError, since the policy's prompt and its warm start both need them."""
    path = resolve_path(seeds_file)
    if not path.is_file():
        raise SetupError(f"warm_start.seeds_file {path} does not exist")
    return load_seeds(path)


def few_shot_examples(seeds: list[Seed], kind: str, count: int) -> list[tuple[str, str, str]]:
    """``count`` examples as (kind, text, body): the task's own kind first, then one of each other."""
    if count <= 0:
        return []
    ordered = [s for s in seeds if s.kind == kind][:1]
    ordered += [s for s in seeds if s.kind != kind and s.kind not in {o.kind for o in ordered}]
    ordered += [s for s in seeds if s not in ordered]
    return [(s.kind, s.text, s.body) for s in ordered[:count]]


def prompt_for(kind: str, text: str, seeds: list[Seed], cfg: PromptConfig) -> str:
    """The prompt of one task: the API, few-shot examples, then the task's header."""
    return render_prompt(kind, text, few_shot_examples(seeds, kind, cfg.few_shot), cfg.api_style)


def longest_prompts(tasks: Iterable[Task], seeds: list[Seed], cfg: PromptConfig) -> dict[str, str]:
    """Per task kind, the prompt of its task with the longest text (a kind's prompts differ
    only in the text): the prompts to check against the policy's context length."""
    longest: dict[str, Task] = {}
    for task in tasks:
        if task.kind not in longest or len(task.text) > len(longest[task.kind].text):
            longest[task.kind] = task
    return {t.id: prompt_for(t.kind, t.text, seeds, cfg) for t in longest.values()}


def training_pair(kind: str, text: str, body: str, seeds: list[Seed], cfg: PromptConfig) -> Pair:
    """(prompt, completion) for the learner; the completion is the body, indented as sampled."""
    return prompt_for(kind, text, seeds, cfg), indent_body(body) + "\n"


def program_examples(programs: list[Seed], seeds: list[Seed], cfg: PromptConfig) -> list[Pair]:
    """A training pair per hand-written program, on the prompt its task is sampled from
    (whose few-shot examples are the seeds): the warm start, ``keep_seeds`` and corrections."""
    return [training_pair(p.kind, p.text, p.body, seeds, cfg) for p in programs]


# The sources of the improve step's training pairs, in training order.
SOURCE_SAMPLED, SOURCE_SEEDS, SOURCE_CORRECTIONS = "sampled", "seeds", "corrections"


def training_examples(rows: list[dict[str, Any]], tasks: dict[str, Task], seeds: list[Seed],
                      corrections: list[Seed], cfg: PromptConfig, keep_seeds: bool) -> dict[str, list[Pair]]:
    """The improve step's training pairs by source: the kept trajectory ``rows`` (the body of
    each row's source, on its task's prompt), the seeds' when ``keep_seeds``, and the
    ``corrections`` given.  Kept apart so that each source is counted on its own."""
    sampled = [training_pair(tasks[r[T.TASK_ID]].kind, tasks[r[T.TASK_ID]].text,
                             program_body(r[T.SOURCE]), seeds, cfg) for r in rows]
    return {SOURCE_SAMPLED: sampled, SOURCE_SEEDS: program_examples(seeds, seeds, cfg) if keep_seeds else [],
            SOURCE_CORRECTIONS: program_examples(corrections, seeds, cfg)}


def examples_key(source: str) -> str:
    """The improve metric (and marker entry) counting the pairs of one source."""
    return f"improve/examples_{source}"


def example_counts(parts: dict[str, list[Pair]]) -> dict[str, float]:
    """``improve/examples`` (all pairs) and ``improve/examples_<source>`` per source."""
    return {"improve/examples": float(sum(map(len, parts.values()))),
            **{examples_key(source): float(len(pairs)) for source, pairs in parts.items()}}
