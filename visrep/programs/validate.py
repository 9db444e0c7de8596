"""AST allow-list for sampled programs: the first (cheap, in-process) line of defence.

A program may use plain Python expressions and statements, the names the executor
injects, and its own variables; nothing that reaches the interpreter's internals.  The
rules, each with the reason:

- no ``import``, ``global``/``nonlocal``, ``class``, ``async``/``await``, ``yield``,
  ``with``, ``del``, ``match``: none is needed to compose API calls, each widens the surface;
- no ``try`` and no ``raise``: a program that swallows errors hides tool failures from the
  reward, and exception classes are not among the allowed names anyway; failures surface as
  the ``error`` status with the line;
- no name (but the throwaway ``_``) or attribute starting with ``_`` (``__class__``,
  ``__builtins__``, the patch's private slots), and no frame/code/generator
  introspection attributes (``gi_frame``, ``f_globals``, ``tb_frame``, ``co_code`` …,
  reachable without underscores);
- ``.format`` only on a string literal whose fields are plain (``{}``, ``{0}``, ``{name}``,
  in the format spec too), and never ``.format_map``: a format field reads attributes and
  items ("{0.__class__}") from inside a string, where the AST sees them only when the
  string is a literal in the program (f-strings are fine: their fields are ordinary
  expressions, checked like any other);
- annotations (ViperGPT writes ``-> str``, ``-> List[ImagePatch]``) are checked like any
  expression except that their names need not be defined: the sandbox compiles programs
  with postponed annotations (``sandbox.COMPILE_FLAGS``), so they are never evaluated;
- no ``getattr``/``eval``/``open``/... even if a caller lists them as allowed;
- no assignment to attributes (API objects are read-only to programs), no decorators;
- every name read must be allowed (API names, safe builtins) or bound by the program;
- the module is exactly ``def execute_command(image):`` (or ViperGPT's four parameters,
  ``VIPER_ARGUMENTS``) and its body;
- nothing nests deeper than ``MAX_DEPTH`` AST levels (``parse_program``): the parser, the
  compiler and every later walk of the tree (the dedupe's ``ast.dump``) recurse, and a
  few KB of ``1+1+...`` would otherwise raise RecursionError wherever it is first parsed.
"""

from __future__ import annotations

import ast
import string

from visrep.programs.text import ARGUMENT, DEF_LINE, ENTRY_POINT, VIPER_ARGUMENTS

FORBIDDEN_NAMES = frozenset({
    "getattr", "setattr", "delattr", "hasattr", "eval", "exec", "compile", "open", "vars",
    "globals", "locals", "dir", "type", "super", "__import__", "breakpoint", "input",
    "help", "object", "memoryview", "classmethod", "staticmethod", "property",
})
FORBIDDEN_ATTRIBUTES = frozenset({"format_map", "mro"})
INTROSPECTION_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_")
MAX_DEPTH = 100  # AST levels; the seed programs nest under 20

_REJECTED = {
    ast.Import: "import", ast.ImportFrom: "import", ast.Global: "global",
    ast.Nonlocal: "nonlocal", ast.ClassDef: "class definition",
    ast.AsyncFunctionDef: "async def", ast.AsyncFor: "async for", ast.AsyncWith: "async with",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield from", ast.With: "with",
    ast.Try: "try", ast.Raise: "raise", ast.Delete: "del", ast.Match: "match",
}
_ALLOWED = (
    ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Return, ast.Assign,
    ast.AugAssign, ast.AnnAssign, ast.For, ast.While, ast.If, ast.Break, ast.Continue,
    ast.Pass, ast.Expr, ast.Assert, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Lambda,
    ast.IfExp, ast.Dict, ast.Set, ast.ListComp, ast.SetComp, ast.DictComp,
    ast.GeneratorExp, ast.comprehension, ast.Compare, ast.Call, ast.keyword,
    ast.FormattedValue, ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript,
    ast.Starred, ast.Name, ast.List, ast.Tuple, ast.Slice, ast.NamedExpr,
    ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop,
)


class ProgramRejected(ValueError):
    """The program breaks a rule; the message says which, with its line."""


def _reject(node: ast.AST, what: str) -> ProgramRejected:
    return ProgramRejected(f"line {getattr(node, 'lineno', 0)}: {what}")


def _private(name: str) -> bool:
    """Underscore names, except the throwaway ``_`` (``for _ in range(3)``)."""
    return name.startswith("_") and name != "_"


def _bound_names(tree: ast.AST) -> set[str]:
    """Names the program binds itself (variables, parameters, nested functions)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef):
            bound.add(node.name)
    return bound


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """The ids of every node inside an annotation (never evaluated: see the module doc)."""
    roots: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.returns is not None:
            roots.append(node.returns)
        elif isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _check_format_fields(node: ast.AST, template: str) -> None:
    """Every field of ``template`` (and of its format specs) is positional or a plain name."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise _reject(node, f"format string: {exc}") from None
    for _, field, spec, _ in parsed:
        if field is not None and not (field == "" or field.isdigit() or field.isidentifier()):
            raise _reject(node, f"format field {{{field}}} reads an attribute or item (use an f-string)")
        if spec:
            _check_format_fields(node, spec)


def _check_format(node: ast.Attribute) -> None:
    """``.format`` of a string literal with plain fields; of anything else the AST cannot see the fields."""
    if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
        raise _reject(node, ".format is allowed only on a string literal (or use an f-string)")
    _check_format_fields(node, node.value.value)


def _check_node(node: ast.AST, known: set[str], annotations: set[int]) -> None:
    """Raise for the first rule ``node`` itself breaks (names inside ``annotations`` need
    not be ``known``)."""
    if type(node) in _REJECTED:
        raise _reject(node, f"{_REJECTED[type(node)]} is not allowed")
    if not isinstance(node, _ALLOWED):
        raise _reject(node, f"{type(node).__name__} is not allowed")
    if isinstance(node, ast.Name):
        if node.id in FORBIDDEN_NAMES:
            raise _reject(node, f"{node.id} is not allowed")
        if _private(node.id):
            raise _reject(node, f"name {node.id!r} starts with an underscore")
        if node.id not in known and id(node) not in annotations:
            raise _reject(node, f"name {node.id!r} is not defined or not allowed")
    elif isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            raise _reject(node, f"attribute {node.attr!r} starts with an underscore")
        if node.attr == "format":
            _check_format(node)
        if node.attr in FORBIDDEN_ATTRIBUTES:
            raise _reject(node, f".{node.attr} is not allowed")
        if node.attr.startswith(INTROSPECTION_PREFIXES):
            raise _reject(node, f"attribute {node.attr!r} (introspection) is not allowed")
        if not isinstance(node.ctx, ast.Load):
            raise _reject(node, "assigning to an attribute is not allowed")
    elif isinstance(node, (ast.FunctionDef, ast.arg)):
        name = node.name if isinstance(node, ast.FunctionDef) else node.arg
        if _private(name):
            raise _reject(node, f"name {name!r} starts with an underscore")
        if isinstance(node, ast.FunctionDef) and node.decorator_list:
            raise _reject(node, "decorator is not allowed")


def _check_entry_point(tree: ast.Module) -> None:
    """The module must be exactly the one ``DEF_LINE`` function (or ViperGPT's parameters)."""
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == ENTRY_POINT]
    if len(tree.body) != 1 or len(defs) != 1:
        where = tree.body[0] if tree.body else tree
        raise _reject(where, f"the program must be exactly one '{DEF_LINE}'")
    args = defs[0].args
    names = tuple(a.arg for a in args.args)
    if (names not in ((ARGUMENT,), VIPER_ARGUMENTS) or args.posonlyargs or args.vararg
            or args.kwonlyargs or args.kwarg or args.defaults):
        raise _reject(defs[0], f"{ENTRY_POINT} must take exactly one argument, {ARGUMENT} "
                               f"(or ViperGPT's {', '.join(VIPER_ARGUMENTS)})")


def parse_program(source: str) -> ast.Module:
    """The program's tree, or ``ProgramRejected`` when it does not parse or nests deeper
    than ``MAX_DEPTH`` (checked without recursion, so any later recursive walk is safe)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ProgramRejected(f"line {exc.lineno or 0}: syntax error: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ProgramRejected(f"line 1: nested too deeply to parse (more than {MAX_DEPTH} levels)") from None
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _reject(node, f"nesting deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree


def validate(source: str, allowed_names: set[str]) -> None:
    """Raise ``ProgramRejected`` unless ``source`` follows every rule of this module."""
    tree = parse_program(source)
    known = set(allowed_names) | _bound_names(tree)
    annotations = _annotation_nodes(tree)
    for node in ast.walk(tree):
        _check_node(node, known, annotations)
    _check_entry_point(tree)
