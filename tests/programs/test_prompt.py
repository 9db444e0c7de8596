"""The prompt is generated from the API, so it cannot drift from it."""

from __future__ import annotations

import ast
import inspect

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.programs.prompt import API_STYLES, api_members, render_api, render_prompt
from visrep.visual.api import MATH_DOC, PROGRAM_FUNCTIONS, RETURN_CONTRACT, ImagePatch, derive_patch

EXAMPLE = ("vqa", "Is there a red star?", 'return bool_to_yesno(image.exists("red star"))')


def _documented() -> list[tuple[str, object]]:
    props, methods = api_members()
    return [*props, *methods, ("ImagePatch", derive_patch), *((f.__name__, f) for f in PROGRAM_FUNCTIONS)]


@pytest.mark.parametrize("style", [s for s in API_STYLES if s != "none"])
def test_every_public_member_and_its_first_doc_line_is_rendered(style: str) -> None:
    stub = render_api(style)
    for name, obj in _documented():
        assert name in stub
        assert inspect.getdoc(obj).splitlines()[0] in stub, name
    assert f"# math: {MATH_DOC}" in stub
    for kind, text in RETURN_CONTRACT.items():
        assert f"#   {kind}: {text}" in stub


def test_members_are_all_public_attributes_of_a_patch() -> None:
    props, methods = api_members()
    public = {n for n in dir(ImagePatch) if not n.startswith("_")}
    assert {n for n, _ in props} | {n for n, _ in methods} == public


def test_every_callable_documents_an_example() -> None:
    props, methods = api_members()
    for name, fn in [*methods, ("ImagePatch", derive_patch), *((f.__name__, f) for f in PROGRAM_FUNCTIONS)]:
        assert inspect.getdoc(fn).splitlines()[-1].startswith("Example: "), name


def test_full_stub_is_python_with_signatures() -> None:
    stub = render_api("full")
    ast.parse(stub)
    assert "    def find(self, object_name: str) -> list[ImagePatch]:" in stub
    assert "def distance(patch_a: ImagePatch | float, patch_b: ImagePatch | float) -> float:" in stub
    assert "    def __init__(self, image: ImagePatch, left: float | None = None," in stub  # as ViperGPT's
    assert "\nImagePatch(image: ImagePatch, left: float | None = None," in render_api("signatures")
    assert "ImagePatch.find(object_name: str) -> list[ImagePatch]  # " in render_api("signatures")


def test_prompt_layout() -> None:
    prompt = render_prompt("vqa", "What colour is\nthe star?", [EXAMPLE], "signatures")
    expected_tail = (
        "\n\n# Task (vqa): Is there a red star?\n"
        "def execute_command(image):\n"
        '    return bool_to_yesno(image.exists("red star"))\n'
        "\n# Task (vqa): What colour is the star?\n"
        "def execute_command(image):\n"
    )
    assert prompt == render_api("signatures") + expected_tail


def test_example_bodies_are_reindented() -> None:
    body = "    stars = image.find('star')\n    return stars\n"
    prompt = render_prompt("detect", "all stars", [("detect", "stars", body)], "full")
    expected = "def execute_command(image):\n    stars = image.find('star')\n    return stars\n\n"
    assert expected in prompt


def test_unknown_style_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown api style 'short'"):
        render_api("short")


def test_none_style_is_the_task_alone() -> None:
    assert render_api("none") == ""
    assert render_prompt("vqa", "Is there a red star?", [], "none") == (
        "# Task (vqa): Is there a red star?\ndef execute_command(image):\n")
