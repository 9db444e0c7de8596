"""Programs written as ViperGPT's prompts write them (``prompts/api.prompt``,
``prompts/benchmarks/{gqa,refcoco}.prompt``: ``image_patch = ImagePatch(image)``, a return
annotation, its runner's four parameters, ``math``, ``str.format``) run as written through
the real executor and sandbox over the oracle, with ViperGPT's meanings: y grows up, crops
are relative, ``distance`` is between edges; the tools it lacks here fail as tool errors."""

from __future__ import annotations

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.config import ExecutorConfig
from visrep.programs.executor import ProgramExecutor
from visrep.programs.records import ExecResult
from visrep.visual.oracle import OracleBackend
from visrep.world.records import Scene, SceneObject, Task

# 128 x 96: the star top-left, the square top-right, the (large) circle lower down between them
STAR = SceneObject("star", "red", "small", "solid", (10.0, 10.0, 30.0, 30.0))
SQUARE = SceneObject("square", "green", "small", "dotted", (100.0, 5.0, 120.0, 25.0))
CIRCLE = SceneObject("circle", "blue", "large", "striped", (60.0, 40.0, 100.0, 80.0))
SCENE = Scene("a", 128, 96, (CIRCLE, STAR, SQUARE))

GQA_RIGHT_OF = '''
def execute_command(image)->str:
    image_patch = ImagePatch(image)
    circle_patches = image_patch.find("circle")
    # Question assumes one circle patch
    if len(circle_patches) == 0:
        # If no circle is found, query the image directly
        return image_patch.simple_query("What color is the star?")
    circle_patch = circle_patches[0]
    star_patches = image_patch.find("star")
    for star_patch in star_patches:
        if star_patch.horizontal_center > circle_patch.horizontal_center:
            return "yes"
    return "no"
'''
GQA_TOP_OR_BOTTOM = '''
def execute_command(image)->str:
    image_patch = ImagePatch(image)
    star_patches = image_patch.find("star")
    if star_patches[0].vertical_center < image_patch.vertical_center:
        return "bottom"
    else:
        return "top"
'''
REFCOCO_BOTTOM = '''
def execute_command(image) -> ImagePatch:
    # Return the object
    image_patch = ImagePatch(image)
    object_patches = image_patch.find("object")
    object_patches.sort(key=lambda obj: obj.vertical_center)
    # Remember: return the object
    return object_patches[0]  # Return the bottommost object
'''
FOUR_PARAMETERS = '''
def execute_command(image, my_fig, time_wait_between_lines, syntax) -> List[ImagePatch]:
    image_patch = ImagePatch(image)
    star_patches = image_patch.find("star")
    return star_patches
'''
BEST_IMAGE_MATCH = '''
def execute_command(image) -> ImagePatch:
    image_patch = ImagePatch(image)
    object_patches = image_patch.find("object")
    object_patch = best_image_match(object_patches, ["blue object", "striped object"])
    return object_patch
'''
CLOSEST = '''
def execute_command(image):
    image_patch = ImagePatch(image)
    small_patches = image_patch.find("small object")
    circle_patch = image_patch.find("circle")[0]
    small_patches.sort(key=lambda x: distance(x, circle_patch))
    return small_patches[0]
'''
FORMAT_MATH_UPPER = '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    star_patch = image_patch.find("star")[0]
    color = star_patch.simple_query("What color is the star?")
    side = math.sqrt(star_patch.width * star_patch.height)
    n = coerce_to_numeric("{} objects".format(len(image_patch.find("object"))))
    return "{} {} {:.0f}".format(color.upper(), n, side).lower()
'''
CROPS = '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    top_half = image_patch.crop(0, image_patch.height / 2, image_patch.width, image_patch.height)
    top = ImagePatch(image, 0, 48, 128, 96)
    everything = ImagePatch(image, -1000, -1000, 10000, 10000)
    circle = image_patch.find("circle")[0]
    star = image_patch.find("star")[0]
    touching = star.overlaps_with(circle.left, circle.lower, circle.right, circle.upper)
    return f"{top_half.count('object')} {top.count('object')} {everything.count('object')} {touching}"
'''
VERIFY_LOOP = '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    object_patches = image_patch.find("object")
    for object_patch in object_patches:
        if not object_patch.verify_property("object", "small"):
            return object_patch.best_text_match(["circle", "star", "square"])
    return "none"
'''
DEPTH = '''
def execute_command(image)->ImagePatch:
    image_patch = ImagePatch(image)
    object_patches = image_patch.find("object")
    object_patches.sort(key=lambda obj: obj.compute_depth())
    return object_patches[-1]
'''
LLM = '''
def execute_command(image) -> str:
    image_patch = ImagePatch(image)
    star_patch = image_patch.find("star")[0]
    name = star_patch.simple_query("What shape is the star?")
    return star_patch.llm_query(f"Who invented the {name}?", long_answer=False)
'''

CASES = [  # (program, task kind, expected value or error)
    (GQA_RIGHT_OF, "vqa", "no"),
    (GQA_TOP_OR_BOTTOM, "vqa", "top"),  # the star is high in the picture: a large y, y up
    (REFCOCO_BOTTOM, "detect", [list(CIRCLE.box)]),
    (FOUR_PARAMETERS, "detect", [list(STAR.box)]),
    (BEST_IMAGE_MATCH, "detect", [list(CIRCLE.box)]),
    (CLOSEST, "detect", [list(SQUARE.box)]),  # edge to edge: the square 15 px, the star 31.6 px away
    (FORMAT_MATH_UPPER, "vqa", "red 3 20"),
    (CROPS, "vqa", "2 2 3 false"),
    (VERIFY_LOOP, "vqa", "circle"),
    (DEPTH, "detect", "ToolError: compute_depth() is not available in this configuration"),
    (LLM, "vqa", "ToolError: llm_query() is not available in this configuration"),
]


@pytest.fixture(scope="module")
def results() -> list[ExecResult]:
    tasks = [Task(f"t{n}", kind, "a ViperGPT program", ("a",), {}) for n, (_, kind, _) in enumerate(CASES)]
    with ProgramExecutor(OracleBackend({"a": SCENE}), {"a": (128, 96)},
                         ExecutorConfig(timeout_s=5.0, memory_mb=256), workers=1) as executor:
        return executor.run([(program.lstrip("\n"), task) for (program, _, _), task in zip(CASES, tasks)])


@pytest.mark.parametrize("case", range(len(CASES)), ids=[
    "gqa_right_of", "gqa_top_or_bottom", "refcoco_bottom", "four_parameters", "best_image_match",
    "closest", "format_math_upper", "crops", "verify_loop", "compute_depth", "llm_query"])
def test_vipergpt_program_runs_as_written(results: list[ExecResult], case: int) -> None:
    _, _, expected = CASES[case]
    result = results[case]
    if isinstance(expected, str) and expected.startswith("ToolError: "):
        assert result.status == "error" and result.error.startswith(expected), result
    else:
        assert (result.status, result.value) == ("ok", expected), result
