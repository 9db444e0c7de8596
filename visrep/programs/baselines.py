"""Programs that need no policy: the baselines every learned accuracy is reported beside.

The pass-through baseline makes one tool call on the whole task text (``image.find(TEXT)``
for detection, ``image.simple_query(TEXT)`` for VQA, ``image.image_text_score(TEXT)`` for
retrieval).  It measures how much a task can be answered without a program: with tools that
answer only visual primitives, a task sentence is out of their grammar, so it should score
low; where it scores high, the benchmark does not need programs.  The tools are named
from the visual API's own methods, so a renamed tool fails here at import, not in a run.
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


def passthrough_program(task: Task) -> str:
    """``return image.<tool>(<task text>)``: the text as a Python literal, so any text is safe."""
    call = f"return {ARGUMENT}.{PASSTHROUGH_TOOL[task.kind].__name__}({task.text!r})"
    return f"{DEF_LINE}\n{indent_body(call)}\n"


# Baseline name (``rayapps.evaluate --baseline``) -> the program it runs on a task.
BASELINES: dict[str, Callable[[Task], str]] = {"passthrough": passthrough_program}
