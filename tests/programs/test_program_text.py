"""The program text format: completion → source, source → body, body → completion."""

from __future__ import annotations

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.programs.text import DEF_LINE, STOP, TASK_MARKER, as_source, extract_program, indent_body, program_body
from visrep.programs.validate import ProgramRejected, validate

HEADER = "def execute_command(image):\n"
BODY = "    n = image.count('star')\n    return str(n)\n"


def test_the_format_is_spelled_as_the_policy_learned_it() -> None:
    assert DEF_LINE + "\n" == HEADER
    assert STOP == ("\n# Task", "\ndef ", "\n\n\n") and TASK_MARKER == "# Task"


@pytest.mark.parametrize("completion", [
    BODY,
    BODY + "\n\n",
    "\n" + BODY,
    BODY + "print('done')\nmore = 1\n",
    BODY + "\n# Task (vqa): next question\ndef execute_command(image):\n    return 'x'\n",
    BODY + "    # Task (vqa): an indented marker also ends it\n",
    "```python\n" + BODY + "```\nSome explanation.\n",
    "```\n" + HEADER + BODY + "```",
    HEADER + BODY,
    BODY.replace("    ", "\t"),
])
def test_body_is_extracted(completion: str) -> None:
    assert extract_program(completion) == HEADER + BODY


def test_inner_blank_lines_are_kept() -> None:
    body = "    x = 1\n\n    return str(x)\n"
    assert extract_program(body) == HEADER + body


@pytest.mark.parametrize("completion", ["", "\n\n", "return 1\n", "# Task (vqa): x\n", "```\n```"])
def test_empty_body_fails_validation_clearly(completion: str) -> None:
    source = extract_program(completion)
    assert source == HEADER
    with pytest.raises(ProgramRejected, match="line 1: syntax error: expected an indented block"):
        validate(source, {"image"})


@pytest.mark.parametrize("body", [BODY, "n = image.count('star')\nreturn str(n)", "\n  n = image.count('star')\n"
                                  "  return str(n)\n\n"])
def test_a_body_is_reindented_whatever_its_indent(body: str) -> None:
    assert indent_body(body) + "\n" == BODY


def test_the_body_of_an_extracted_source_is_the_completion_it_trains_on() -> None:
    completion = BODY + "\n# Task (vqa): the model ran on\n"
    assert indent_body(program_body(extract_program(completion))) + "\n" == BODY


def test_program_body_needs_the_entry_point() -> None:
    assert program_body(HEADER + BODY) == BODY
    with pytest.raises(ValueError, match="not an execute_command program: 'def helper"):
        program_body("def helper(image):\n    return 1\n")


@pytest.mark.parametrize(("text", "source"), [
    (HEADER + "  return 1\n", HEADER + "  return 1\n"),  # a full program is taken as written
    ("n = image.count('star')\n\nreturn str(n)\n", HEADER + BODY.replace("\n    return", "\n\n    return")),
    (BODY + "print('after the body')\n", HEADER + BODY),  # indented: a completion, extracted
    ("```python\nreturn 4\n```\n", HEADER + "    return 4\n"),
])
def test_as_source_takes_programs_bodies_and_completions(text: str, source: str) -> None:
    assert as_source(text) == source
