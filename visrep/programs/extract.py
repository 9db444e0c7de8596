"""Turn the model's completion (the body after ``def execute_command(image):``) into source.

Small models wander: they wrap code in fences, repeat the ``def`` line, or go on to write
the next ``# Task``.  The body is the run of indented (or blank) lines at the start; it
ends at the first non-indented non-empty line or a ``# Task`` line.  An empty body yields
the bare ``def`` line, which the validator rejects as a syntax error naming the missing
block, so the failure is visible in the run's records rather than silently patched.
"""

from __future__ import annotations

from visrep.programs.prompt import DEF_LINE, TASK_MARKER


def _is_fence(line: str) -> bool:
    return line.strip().startswith("```")


def extract_program(completion: str) -> str:
    """Full source ``def execute_command(image):`` + the completion's body lines."""
    lines = completion.expandtabs(4).splitlines()
    while lines and (not lines[0].strip() or _is_fence(lines[0])):
        lines.pop(0)
    if lines and lines[0].strip().startswith("def execute_command"):
        lines.pop(0)
    body: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(TASK_MARKER) or _is_fence(line):
            break
        if stripped and not line[0].isspace():
            break
        body.append(line.rstrip())
    while body and not body[-1]:
        body.pop()
    return DEF_LINE + "\n" + "".join(f"{line}\n" for line in body)
