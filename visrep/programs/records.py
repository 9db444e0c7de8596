"""Records of the program stage: a sampled program and the result of running it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ExecStatus = Literal["ok", "rejected", "error", "timeout", "memory"]
EXEC_STATUSES: tuple[ExecStatus, ...] = ("ok", "rejected", "error", "timeout", "memory")


@dataclass(frozen=True)
class Program:
    """A program the policy wrote for one task.

    ``source`` is the full Python source defining ``execute_command(image)``, extracted
    from the completion (``visrep.programs.text``): it is what runs and, if it earns its
    reward, what the learner trains on (its body, re-indented).  ``completion`` is the
    raw text the model produced, kept in the trajectory rows to show what extraction
    dropped.
    """

    task_id: str
    source: str
    completion: str = ""
    policy_version: int = 0
    logprob: float = 0.0


@dataclass(frozen=True)
class ExecResult:
    """The outcome of running one program on one task.

    ``value`` is plain data: a list of boxes for detect, a string for vqa, a list of
    per-candidate scores for retrieve.  ``api_calls`` counts visual-API calls made.
    ``calls``: with a referee (``visrep.visual.referee``), its judgement of each tool call
    the run made, as plain dicts.  ``trace``: every tool call the run made: tool, image,
    box, arguments, answer and its start and end (``time.time_ns``), with the oracle's
    answer and the verdict where judged, as plain dicts (both: the first ``MAX_KEPT_CALLS``).
    """

    status: ExecStatus
    value: Any = None
    error: str = ""
    duration_s: float = 0.0
    api_calls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    calls: tuple[dict[str, Any], ...] = ()
    trace: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class SampleBatch:
    """What a sampler returns for a batch of tasks: K programs each, and its throughput."""

    programs: list[list[Program]]
    tokens: int = 0
    seconds: float = 0.0

    def part(self, start: int, count: int) -> list[list[Program]]:
        """The program lists of ``count`` tasks from ``start`` on: one part of the batch (the
        pipeline spreads a batch over the executors, a part each)."""
        programs = self.programs[start:start + count]
        if start < 0 or len(programs) != count:
            raise ValueError(f"{count} tasks from {start} for {len(self.programs)} program lists")
        return programs
