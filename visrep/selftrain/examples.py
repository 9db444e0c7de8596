"""Prompts and training pairs: one function decides what the policy sees for a task.

The sampler and the learner both call ``prompt_for``, so a program is always trained on
exactly the prompt it will be sampled from.  The completion it is trained on is the body
of the program's extracted source, re-indented (not the raw sampled text: extraction has
dropped what the model wrote past the program).  Seed programs (the paper's "human
corrections") are hand-written bodies for named training tasks, in JSON lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visrep.cli import SetupError, resolve_path
from visrep.config import PromptConfig
from visrep.programs.prompt import render_prompt
from visrep.programs.text import indent_body, program_body
from visrep.selftrain import trajectories as T
from visrep.world.records import Task


@dataclass(frozen=True)
class Seed:
    """A hand-written program body for one task of the default world."""

    task_id: str
    kind: str
    text: str
    body: str


def load_seeds(path: Path) -> list[Seed]:
    """Seeds from a JSON-lines file; a bad line is a one-line ValueError naming it."""
    seeds: list[Seed] = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            seeds.append(Seed(data["task_id"], data["kind"], data["text"], data["body"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: not a seed program ({exc})") from None
    return seeds


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


def training_pair(kind: str, text: str, body: str, seeds: list[Seed],
                  cfg: PromptConfig) -> tuple[str, str]:
    """(prompt, completion) for the learner; the completion is the body, indented as sampled."""
    return prompt_for(kind, text, seeds, cfg), indent_body(body) + "\n"


def seed_examples(seeds: list[Seed], cfg: PromptConfig) -> list[tuple[str, str]]:
    """A training pair per seed program (the warm start, and ``keep_seeds`` in improve)."""
    return [training_pair(s.kind, s.text, s.body, seeds, cfg) for s in seeds]


def training_examples(rows: list[dict[str, Any]], tasks: dict[str, Task], seeds: list[Seed],
                      cfg: PromptConfig, keep_seeds: bool) -> list[tuple[str, str]]:
    """Training pairs of the kept trajectory ``rows`` (the body of each row's source, on
    its task's prompt), then the seeds' when ``keep_seeds``."""
    examples = [training_pair(tasks[r[T.TASK_ID]].kind, tasks[r[T.TASK_ID]].text,
                              program_body(r[T.SOURCE]), seeds, cfg) for r in rows]
    return examples + (seed_examples(seeds, cfg) if keep_seeds else [])
