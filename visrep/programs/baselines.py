"""Programs that need no policy: the baselines every learned accuracy is reported beside.

The pass-through baseline makes one tool call on the whole task text (``image.find(TEXT)``
for detection, ``image.simple_query(TEXT)`` for VQA, ``image.image_text_score(TEXT)`` for
retrieval).  It measures how much a task can be answered without a program: with tools that
answer only visual primitives, a task sentence is out of their grammar, so it should score
low; where it scores high, the benchmark does not need programs.  The tools are named
from the visual API's own methods, so a renamed tool fails here at import, not in a run.

The reference baseline runs the program the world's generator wrote with each task
(``Task.meta["reference"]``, ``visrep.world.references``): correct by construction and
within the tools' grammar, so its accuracy is the ceiling the tools allow (1.0 with the
oracle; below that, the tools' own errors).
"""

from __future__ import annotations

from collections.abc import Callable

from visrep.programs.text import ARGUMENT, DEF_LINE, indent_body
from visrep.visual.api import ImagePatch
from visrep.world.records import KindTable, Task

# The tool the pass-through program calls on the root patch, per task kind.
PASSTHROUGH_TOOL: KindTable[Callable[..., object]] = KindTable("pass-through tool", {
    "detect": ImagePatch.find,
    "vqa": ImagePatch.simple_query,
    "retrieve": ImagePatch.image_text_score,
})


def _source(body: str) -> str:
    """The full program with this body."""
    return f"{DEF_LINE}\n{indent_body(body)}\n"


def passthrough_program(task: Task) -> str:
    """``return image.<tool>(<task text>)``: the text as a Python literal, so any text is safe."""
    return _source(f"return {ARGUMENT}.{PASSTHROUGH_TOOL[task.kind].__name__}({task.text!r})")


def reference_program(task: Task) -> str:
    """The task's reference program; ValueError (one line, naming the task) when it has none,
    as tasks from files without a "reference" field (real data) do."""
    body = task.meta.get("reference")
    if not body:
        raise ValueError(f"task {task.id} has no reference program (its task file gives no 'reference'; "
                         "worlds built by visrep.world write one per task)")
    return _source(body)


# Baseline name (``rayapps.evaluate --baseline``) -> the program it runs on a task.
BASELINES: dict[str, Callable[[Task], str]] = {"passthrough": passthrough_program, "reference": reference_program}


def baselines_for(tasks: list[Task]) -> list[str]:
    """The baselines that can run on every one of ``tasks``: pass-through always, reference
    programs only where the task files give them (generated worlds do, real data does not)."""
    return [name for name in BASELINES
            if name != "reference" or all(task.meta.get("reference") for task in tasks)]
