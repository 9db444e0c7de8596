"""The validator rejects hostile spellings, naming the construct and the line."""

from __future__ import annotations

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.programs.sandbox import SAFE_BUILTINS
from visrep.programs.validate import ProgramRejected, validate

ALLOWED = set(SAFE_BUILTINS) | {"bool_to_yesno", "distance", "math", "ImagePatch"}


def _program(body: str) -> str:
    return "def execute_command(image):\n" + "".join(f"    {line}\n" for line in body.splitlines())


@pytest.mark.parametrize(("body", "message"), [
    ("import os", "import is not allowed"),
    ("from os import path", "import is not allowed"),
    ("__import__('os')", "__import__ is not allowed"),
    ("b = __builtins__", "name '__builtins__' starts with an underscore"),
    ("return ().__class__.__mro__", "attribute '__mro__' starts with an underscore"),
    ("return image._ImagePatch__backend", "attribute '_ImagePatch__backend' starts with an"),
    ("return getattr(image, 'find')", "getattr is not allowed"),
    ("return eval('1')", "eval is not allowed"),
    ("exec('x = 1')", "exec is not allowed"),
    ("c = compile('1', 'f', 'eval')", "compile is not allowed"),
    ("return open('/etc/passwd').read()", "open is not allowed"),
    ("return '{0.__class__}'.format(image)", "format field {0.__class__} reads an attribute or item"),
    ("return '{0[0]}'.format(image.find('star'))", "format field {0[0]} reads an attribute or item"),
    ("return '{0:{1.__class__}}'.format(1, image)", "format field {1.__class__} reads an attribute"),
    ("return '{0.find.__globals__}'.format(image)", "format field {0.find.__globals__} reads"),
    ("t = '{0.__class__}'\nreturn t.format(image)", ".format is allowed only on a string literal"),
    ("return str.format('{0.__class__}', image)", ".format is allowed only on a string literal"),
    ("return ('{}' + '{0.__class__}').format(image)", ".format is allowed only on a string literal"),
    ("return f'{image}'.format(image)", ".format is allowed only on a string literal"),
    ("return '{0'.format(image)", "format string: "),
    ("def f(x) -> __import__('os'):\n    return x", "__import__ is not allowed"),
    ("def f(x: image.__class__):\n    return x", "attribute '__class__' starts with an underscore"),
    ("math.sqrt = len", "assigning to an attribute is not allowed"),
    ("return math.sqrt.__self__", "attribute '__self__' starts with an underscore"),
    ("return '{x}'.format_map({'x': image})", ".format_map is not allowed"),
    ("return f'{image.__class__}'", "attribute '__class__' starts with an underscore"),
    ("return (x for x in []).gi_frame", "attribute 'gi_frame' (introspection) is not allowed"),
    ("g = (x for x in [])\nreturn g.gi_frame.f_globals", "attribute 'f_globals' (introspection)"),
    ("return str.mro()", ".mro is not allowed"),
    ("return vars(image)", "vars is not allowed"),
    ("return globals()", "globals is not allowed"),
    ("return type(image)", "type is not allowed"),
    ("return dir(image)", "dir is not allowed"),
    ("f = setattr", "setattr is not allowed"),
    ("global answer", "global is not allowed"),
    ("class A:\n    pass", "class definition is not allowed"),
    ("try:\n    x = 1\nexcept:\n    pass", "try is not allowed"),
    ("raise ValueError('no')", "raise is not allowed"),
    ("with open('f') as f:\n    pass", "with is not allowed"),
    ("yield 1", "yield is not allowed"),
    ("x = 1\ndel x", "del is not allowed"),
    ("image.left = 0", "assigning to an attribute is not allowed"),
    ("return os.system('ls')", "name 'os' is not defined or not allowed"),
    ("_secret = 1", "name '_secret' starts with an underscore"),
    ("@distance\ndef f(a):\n    return a", "decorator is not allowed"),
])
def test_hostile_programs_are_rejected_with_the_construct(body: str, message: str) -> None:
    with pytest.raises(ProgramRejected) as info:
        validate(_program(body), ALLOWED)
    assert str(info.value).startswith("line "), info.value
    assert message in str(info.value)


def test_line_numbers_point_at_the_offence() -> None:
    with pytest.raises(ProgramRejected, match="^line 3: import is not allowed$"):
        validate(_program("x = 1\nimport os"), ALLOWED)


def test_forbidden_names_stay_forbidden_even_if_allowed() -> None:
    with pytest.raises(ProgramRejected, match="eval is not allowed"):
        validate(_program("return eval('1')"), ALLOWED | {"eval"})


@pytest.mark.parametrize(("source", "message"), [
    ("x = 1\n" + _program("return x"), "line 1: the program must be exactly one"),
    ("def helper(image):\n    return 1\n", "exactly one 'def execute_command(image):'"),
    ("async def execute_command(image):\n    return 1\n", "async def is not allowed"),
    ("def execute_command(img):\n    return 1\n", "must take exactly one argument, image"),
    ("def execute_command(image, k=1):\n    return 1\n", "must take exactly one argument"),
    ("def execute_command(image, my_fig, time_wait_between_lines):\n    return 1\n",
     "must take exactly one argument, image (or ViperGPT's image, my_fig, time_wait_between_lines, syntax)"),
    ("def execute_command(image, my_fig, time_wait_between_lines, syntax=None):\n    return 1\n",
     "must take exactly one argument"),
    ("def execute_command(image):\n    return (\n", "syntax error"),
])
def test_program_shape(source: str, message: str) -> None:
    with pytest.raises(ProgramRejected, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(source, ALLOWED)


def test_ordinary_programs_pass() -> None:
    body = (
        "stars = image.find('star')\n"
        "def key(p):\n"
        "    return p.horizontal_center\n"
        "ordered = sorted(stars, key=key)\n"
        "near = min(ordered, key=lambda s: distance(s, image)) if ordered else None\n"
        "names = [s.simple_query('what color?') for s in ordered if s.width > 3]\n"
        "total = 0\n"
        "for i, s in enumerate(ordered):\n"
        "    total += i\n"
        "while total > 10:\n"
        "    total -= 1\n"
        "if (n := len(names)) > 2:\n"
        "    print(f'{n} stars, first {names[0]!r:>10}', ', '.join(names))\n"
        "assert total >= 0\n"
        "return bool_to_yesno(near is not None and total in {0, 1})\n"
    )
    validate(_program(body), ALLOWED)


@pytest.mark.parametrize("body", [
    "return '{} and {}'.format('a', 'b')",
    "return '{0}-{1}-{0}'.format(1, 2)",
    "return '{name}: {n:>4}, {x:.2f} {y!r}'.format(name='s', n=3, x=1.5, y=image)",
    "return '{:{}}'.format(3, 5)",
    "return '{{0.__class__}}'.format()",  # escaped braces are text, not a field
    "return 'x{}'.upper().lower() + 'n'.format()",
    "return math.sqrt(math.pi) + math.hypot(3, 4)",
    "image_patch = ImagePatch(image)\nreturn image_patch.crop(0, 0, 1, 1)",
])
def test_vipergpt_spellings_pass(body: str) -> None:
    validate(_program(body), ALLOWED)


@pytest.mark.parametrize("source", [
    "def execute_command(image, my_fig, time_wait_between_lines, syntax):\n    return 1\n",
    "def execute_command(image) -> str:\n    return 'yes'\n",
    "def execute_command(image) -> List[ImagePatch]:\n    return []\n",
    "def execute_command(image: ImagePatch) -> ImagePatch:\n    x: Optional[int] = 1\n    return image\n",
])
def test_vipergpt_signatures_and_annotations_pass(source: str) -> None:
    """Annotation names need not exist: programs are compiled with postponed annotations."""
    validate(source, ALLOWED)
