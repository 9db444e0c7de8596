"""The prompt, rendered from the visual API's own signatures and docstrings.

Nothing here restates the API: ``render_api`` reads ``ImagePatch``'s public members, its
constructor as programs call it (``derive_patch``, rendered as ``__init__``, as ViperGPT's
prompt shows it), ``PROGRAM_FUNCTIONS`` and ``MATH_DOC`` with ``inspect``, so the prompt
cannot drift from the code programs run against.  The layout below is fixed; the policy is trained on it:

    <api stub>

    # Task (vqa): Is there a red star?
    def execute_command(image):
        return bool_to_yesno(image.exists("red star"))

    # Task (<kind>): <text>
    def execute_command(image):

and the completion is the indented body that follows (``visrep.programs.text`` owns the
program's own text: the ``def`` line, the indent, the ``# Task`` marker).
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from visrep.programs.text import ARGUMENT, DEF_LINE, ENTRY_POINT, INDENT, TASK_MARKER, indent_body
from visrep.visual.api import MATH_DOC, PROGRAM_FUNCTIONS, RETURN_CONTRACT, ImagePatch, derive_patch

API_STYLES = ("full", "signatures", "none")


def _signature(fn: Callable[..., Any], with_self: bool, returns: bool = True) -> str:
    """``(self, a: str, b: int = 1) -> str`` with annotations as written in the source."""
    params = []
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self" and not with_self:
            continue
        text = f"{p.name}: {p.annotation}" if p.annotation is not p.empty else p.name
        params.append(text if p.default is p.empty else f"{text} = {p.default!r}")
    ret = inspect.signature(fn).return_annotation
    no_return = ret is inspect.Signature.empty or not returns
    return f"({', '.join(params)})" + ("" if no_return else f" -> {ret}")


def _doc(obj: Any) -> str:
    return inspect.getdoc(obj) or ""


def _first_line(obj: Any) -> str:
    return _doc(obj).splitlines()[0] if _doc(obj) else ""


def _docstring_block(obj: Any, indent: str) -> str:
    """The docstring without its blank lines (tokens are scarce in a small model's context)."""
    lines = [line for line in _doc(obj).splitlines() if line.strip()]
    return textwrap.indent("\n".join(['"""' + lines[0], *lines[1:], '"""']), indent)


def api_members() -> tuple[list[tuple[str, property]], list[tuple[str, Callable[..., Any]]]]:
    """ImagePatch's public properties and methods, in definition order."""
    public = [(n, m) for n, m in vars(ImagePatch).items() if not n.startswith("_")]
    return ([(n, m) for n, m in public if isinstance(m, property)],
            [(n, m) for n, m in public if inspect.isfunction(m)])


def _return_contract() -> str:
    lines = [f"# {ENTRY_POINT}({ARGUMENT}) returns, by task kind:"]
    lines += [f"#   {kind}: {text}" for kind, text in RETURN_CONTRACT.items()]
    return "\n".join(lines)


def _property_line(prefix: str, name: str, prop: property) -> str:
    return f"{prefix}{name}: {prop.fget.__annotations__['return']}  # {_first_line(prop)}"


def _def_block(name: str, fn: Callable[..., Any], indent: str) -> str:
    header = f"\n{indent}def {name}{_signature(fn, with_self=True)}:"
    return header + "\n" + _docstring_block(fn, indent + INDENT)


def _init_block() -> str:
    """The constructor as programs call it, ``ImagePatch(image, ...)``, written as ViperGPT's
    prompt writes it: ``__init__(self, image, ...)``."""
    params = _signature(derive_patch, with_self=True, returns=False)
    return f"\n{INDENT}def __init__(self, {params[1:]}:\n" + _docstring_block(derive_patch, INDENT * 2)


def _call_line(prefix: str, name: str, fn: Callable[..., Any]) -> str:
    return f"{prefix}{name}{_signature(fn, with_self=False)}  # {_first_line(fn)}"


def _render_full() -> str:
    props, methods = api_members()
    lines = ["class ImagePatch:", _docstring_block(ImagePatch, INDENT)]
    lines += [_property_line(INDENT, n, p) for n, p in props]
    lines += [_init_block()]
    lines += [_def_block(n, fn, INDENT) for n, fn in methods]
    lines += [_def_block(fn.__name__, fn, "") for fn in PROGRAM_FUNCTIONS]
    lines += ["", f"# math: {MATH_DOC}"]
    return "\n".join(lines)


def _render_signatures() -> str:
    props, methods = api_members()
    lines = [f"# ImagePatch: {_first_line(ImagePatch)} {_doc(ImagePatch).splitlines()[-1]}"]
    lines += [_property_line("ImagePatch.", n, p) for n, p in props]
    lines += [_call_line("", "ImagePatch", derive_patch)]
    lines += [_call_line("ImagePatch.", n, fn) for n, fn in methods]
    lines += [_call_line("", fn.__name__, fn) for fn in PROGRAM_FUNCTIONS]
    lines += [f"# math: {MATH_DOC}"]
    return "\n".join(lines)


def render_api(style: str = "full") -> str:
    """The API stub: ``full`` (Python stub with docstrings), ``signatures`` (a line each)
    or ``none`` (empty: a fine-tuned policy has learned the API, and every prompt token
    costs sampling and training time on a CPU).

    ``full`` and ``signatures`` end with what execute_command returns per task kind.
    """
    if style == "full":
        body = _render_full()
    elif style == "signatures":
        body = _render_signatures()
    elif style == "none":
        return ""
    else:
        raise ValueError(f"unknown api style {style!r} (known: {', '.join(API_STYLES)})")
    return f"{body}\n\n{_return_contract()}"


def task_header(kind: str, text: str) -> str:
    """``# Task (kind): text`` on one line (newlines in the text would break the layout)."""
    return f"{TASK_MARKER} ({kind}): {' '.join(text.split())}\n{DEF_LINE}\n"


def render_prompt(task_kind: str, task_text: str, examples: Sequence[tuple[str, str, str]],
                  api_style: str = "full") -> str:
    """The full prompt: API stub, worked examples ``(kind, text, body)``, then the task.

    Example bodies may come indented or not; they are re-indented by four spaces.
    """
    api = render_api(api_style)
    parts = [api] if api else []
    for kind, text, body in examples:
        parts.append(task_header(kind, text) + indent_body(body))
    parts.append(task_header(task_kind, task_text))
    return "\n\n".join(parts)
