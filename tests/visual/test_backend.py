"""The tool table: it declares exactly the Protocol's primitives, and its kinds freeze,
copy and flatten answers as the memo and the sandbox's socket need."""

from __future__ import annotations

import inspect

from visual_scene import FULL, SCENE, STAR

from visrep.visual.backend import BOXES, TEXTS, TOOLS, VisualBackend, call_tool
from visrep.visual.oracle import OracleBackend


def test_tools_declare_exactly_the_protocol_methods_and_their_arguments() -> None:
    methods = {n: f for n, f in vars(VisualBackend).items() if not n.startswith("_") and callable(f)}
    assert set(TOOLS) == set(methods)
    for name, tool in TOOLS.items():
        params = list(inspect.signature(methods[name]).parameters)
        assert params[:3] == ["self", "image_id", "box"]
        assert len(params) - 3 == len(tool.args), name


def test_kinds_freeze_copy_and_flatten() -> None:
    frozen = BOXES.freeze([[1, 2, 3, 4]])
    assert frozen == ((1.0, 2.0, 3.0, 4.0),) and isinstance(frozen[0][0], float)
    assert BOXES.fresh(frozen) == [(1.0, 2.0, 3.0, 4.0)] and BOXES.plain(frozen) == [[1.0, 2.0, 3.0, 4.0]]
    assert TEXTS.freeze(["a", "b"]) == ("a", "b") and TEXTS.plain(("a", "b")) == ["a", "b"]


def test_call_tool_answers_frozen() -> None:
    oracle = OracleBackend({SCENE.image_id: SCENE})
    assert call_tool(oracle, "find", SCENE.image_id, FULL, ["star"]) == (STAR.box,)
    assert call_tool(oracle, "best_text_match", SCENE.image_id, FULL, [("red", "blue")]) == "blue"
    assert call_tool(oracle, "verify_property", SCENE.image_id, FULL, ["star", "red"]) is True
