"""The program text format, in one place: what a program looks like as text.

A program is the source of one function, ``def execute_command(image):``, and its body
indented by four spaces (a full source may also use ViperGPT's ``def`` line: its runner's
extra parameters, ``VIPER_ARGUMENTS``, or a return annotation).  Every stage meets this
text: the prompt ends with the ``def`` line and the policy writes the body (its completion); ``extract_program`` turns a
completion back into a full source; the validator checks the source defines exactly the
entry point; the executor calls it by name; the learner trains on the body of a kept
source, re-indented, as the completion to produce.

Small models wander: they wrap code in fences, repeat the ``def`` line, or go on to write
the next ``# Task``.  The body ``extract_program`` keeps is the run of indented (or blank)
lines at the start; it ends at the first non-indented non-empty line, a fence or a
``# Task`` line.  An empty body yields the bare ``def`` line, which the validator rejects
as a syntax error naming the missing block, so the failure is visible in the run's records
rather than silently patched.
"""

from __future__ import annotations

import textwrap

ENTRY_POINT = "execute_command"
ARGUMENT = "image"
DEF_LINE = f"def {ENTRY_POINT}({ARGUMENT}):"
# ViperGPT's runner defines the entry point with three more parameters, for its notebook's
# display (a figure, a delay between lines, highlighted code); programs never use them.
VIPER_ARGUMENTS = (ARGUMENT, "my_fig", "time_wait_between_lines", "syntax")
INDENT = "    "
# Starts each task's header in the prompt, so it also marks where a completion ran on.
TASK_MARKER = "# Task"
# Stop strings that end a completion at the end of its program: the next few-shot task,
# the next top-level function, or a run of blank lines.
STOP: tuple[str, ...] = (f"\n{TASK_MARKER}", "\ndef ", "\n\n\n")

_DEF_PREFIX = f"def {ENTRY_POINT}"


def indent_body(body: str) -> str:
    """``body`` (indented or not) re-indented by ``INDENT``, without blank lines around it."""
    return textwrap.indent(textwrap.dedent(body).strip("\n"), INDENT)


def program_body(source: str) -> str:
    """The body of an ``execute_command`` source: everything after its ``def`` line."""
    header, _, body = source.partition("\n")
    if not header.startswith(_DEF_PREFIX):
        raise ValueError(f"not an {ENTRY_POINT} program: {header[:60]!r}")
    return body


def _is_fence(line: str) -> bool:
    return line.strip().startswith("```")


def extract_program(completion: str) -> str:
    """Full source: the ``def`` line and the completion's body lines (see the module doc)."""
    lines = completion.expandtabs(4).splitlines()
    while lines and (not lines[0].strip() or _is_fence(lines[0])):
        lines.pop(0)
    if lines and lines[0].strip().startswith(_DEF_PREFIX):
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


def as_source(text: str) -> str:
    """A full program from what a person wrote: a full source as is; otherwise a body,
    indented as sampled or not indented at all (then indented first), via ``extract_program``.

    A body is taken as unindented only when none of its lines is indented.
    """
    if _DEF_PREFIX in text:
        return text
    if not any(line[:1].isspace() for line in text.splitlines() if line.strip()):
        text = indent_body(text)
    return extract_program(text)
