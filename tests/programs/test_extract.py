"""Completion → program source, on the ways small models wander."""

from __future__ import annotations

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.programs.extract import extract_program
from visrep.programs.validate import ProgramRejected, validate

HEADER = "def execute_command(image):\n"
BODY = "    n = image.count('star')\n    return str(n)\n"


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
