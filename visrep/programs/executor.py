"""Programs against the visual API: the one place the visual API meets the sandbox.

``ProgramExecutor`` owns a ``WorkerPool`` and a ``MemoBackend``.  In a worker a program
gets the root ``ImagePatch`` of its image and the helper functions, nothing else: the
patch's backend is ``RemoteBackend``, which forwards every tool call to the executor
process over the worker's socket.  There ``_serve`` checks the call (a known tool, a box
of four finite numbers, short strings) and answers it through the memo, for the image of
the job *as the executor holds it*: the task, its annotation and other images never
enter a worker, and a worker cannot ask about an image its program was not given.

detect and vqa tasks run the program once, on ``task.images[0]``.  retrieve tasks run it
once per candidate image (in parallel over the workers), each run returning the caption's
score on that image; the value is the list of scores (the reward ranks them).  One failing
candidate fails the task, with the status of the first failing one: a program that cannot
score every candidate cannot rank them.
"""

from __future__ import annotations

import math
from typing import Any

from visrep.config import ExecutorConfig
from visrep.programs.pool import Job, Rpc, WorkerPool
from visrep.programs.records import ExecResult
from visrep.visual.api import PROGRAM_FUNCTIONS, api_namespace, to_plain
from visrep.visual.backend import VisualBackend
from visrep.visual.memo import TOOLS, MemoBackend
from visrep.world.records import Box, Task, TaskKind

API_NAMES = frozenset(f.__name__ for f in PROGRAM_FUNCTIONS)
MAX_TEXT_CHARS = 1000
MAX_OPTIONS = 100


class RemoteBackend:
    """The worker's ``VisualBackend``: each call is a request to the executor process."""

    def __init__(self, rpc: Rpc) -> None:
        self.__rpc = rpc

    def find(self, image_id: str, box: Box, name: str) -> list[Box]:
        return [tuple(b) for b in self.__rpc(["find", list(box), [name]])]

    def verify_property(self, image_id: str, box: Box, name: str, prop: str) -> bool:
        return bool(self.__rpc(["verify_property", list(box), [name, prop]]))

    def best_text_match(self, image_id: str, box: Box, options: list[str]) -> str:
        return str(self.__rpc(["best_text_match", list(box), [list(options)]]))

    def simple_query(self, image_id: str, box: Box, question: str) -> str:
        return str(self.__rpc(["simple_query", list(box), [question]]))

    def image_text_score(self, image_id: str, box: Box, text: str) -> float:
        return float(self.__rpc(["image_text_score", list(box), [text]]))


def _prepare(context: dict[str, Any], rpc: Rpc) -> tuple[dict[str, Any], Any]:
    """Worker side: the program's names, and the call that runs it on the root patch."""
    namespace, root = api_namespace(RemoteBackend(rpc), context["image"],
                                    (int(context["size"][0]), int(context["size"][1])))
    kind: TaskKind = context["kind"]
    return namespace, lambda env: to_plain(env["execute_command"](root), kind)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a str, got {type(value).__name__}")
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"text longer than {MAX_TEXT_CHARS} characters")
    return value


def _box(value: Any) -> Box:
    if (not isinstance(value, list) or len(value) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       and math.isfinite(v) for v in value)):
        raise ValueError("a box is four finite numbers")
    x0, y0, x1, y1 = (float(v) for v in value)
    return (x0, y0, x1, y1)


def serve_tool(tools: VisualBackend, image_id: str, request: Any) -> Any:
    """Executor side: check one tool request from a worker and answer it as plain data."""
    if not (isinstance(request, list) and len(request) == 3 and request[0] in TOOLS
            and isinstance(request[2], list)):
        raise ValueError("malformed tool request")
    name, box, args = request[0], _box(request[1]), request[2]
    if name == "best_text_match":
        if (len(args) != 1 or not isinstance(args[0], list)
                or not 0 < len(args[0]) <= MAX_OPTIONS):
            raise ValueError(f"best_text_match needs 1 to {MAX_OPTIONS} options")
        return tools.best_text_match(image_id, box, [_text(o) for o in args[0]])
    if len(args) != (2 if name == "verify_property" else 1):
        raise ValueError(f"wrong number of arguments for {name}")
    texts = [_text(a) for a in args]
    if name == "find":
        return [list(b) for b in tools.find(image_id, box, texts[0])]
    if name == "verify_property":
        return bool(tools.verify_property(image_id, box, texts[0], texts[1]))
    if name == "simple_query":
        return str(tools.simple_query(image_id, box, texts[0]))
    return float(tools.image_text_score(image_id, box, texts[0]))


class ProgramExecutor:
    """Runs programs on tasks in a pre-forked sandbox pool, tool calls through a memo.

    Create it after the backend is built (workers are forked here and share its memory),
    reuse it for every batch, ``close`` it at the end.  ``memo=False`` calls the backend
    directly (the benchmark's baseline).
    """

    def __init__(self, backend: VisualBackend, sizes: dict[str, tuple[int, int]],
                 limits: ExecutorConfig, workers: int | None = None, memo: bool = True) -> None:
        self.backend = backend
        self.memo = MemoBackend(backend, limits.memo_images) if memo else None
        self._tools: VisualBackend = self.memo if self.memo is not None else backend
        self._sizes = dict(sizes)
        self.pool = WorkerPool(API_NAMES, _prepare, self._serve, limits, workers)

    def _serve(self, context: dict[str, Any], request: Any) -> Any:
        return serve_tool(self._tools, context["image"], request)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> ProgramExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, items: list[tuple[str, Task]]) -> list[ExecResult]:
        """One ``ExecResult`` per (program source, task), in order; all run in one pool pass."""
        jobs: list[Job] = []
        spans: list[tuple[int, int]] = []
        for source, task in items:
            if not task.images:
                raise ValueError(f"task {task.id} has no images")
            images = task.images if task.kind == "retrieve" else task.images[:1]
            spans.append((len(jobs), len(jobs) + len(images)))
            jobs += [Job(source, {"image": image, "size": list(self._sizes[image]),
                                  "kind": task.kind}) for image in images]
        results = self.pool.run(jobs)
        return [_combine(task.kind, results[a:b]) for (a, b), (_, task) in zip(spans, items)]


def _combine(kind: TaskKind, runs: list[ExecResult]) -> ExecResult:
    """A task's result from its runs (one, or one per retrieve candidate).

    ``api_calls`` and ``duration_s`` are summed over runs; ``extra`` holds the printed
    text (``stdout``, capped per run) and, when a retrieve run fails, its ``candidate``.
    """
    if kind != "retrieve":
        return runs[0]
    duration = sum(r.duration_s for r in runs)
    calls = sum(r.api_calls for r in runs)
    stdout = "".join(r.extra.get("stdout", "") for r in runs)
    extra: dict[str, Any] = {"stdout": stdout} if stdout else {}
    for index, run in enumerate(runs):
        if run.status != "ok":
            stdout = "".join(r.extra.get("stdout", "") for r in runs[:index + 1])
            extra = {"stdout": stdout} if stdout else {}
            extra["candidate"] = index
            calls = sum(r.api_calls for r in runs[:index + 1])
            return ExecResult(run.status, None, run.error, duration, calls, extra)
    return ExecResult("ok", [r.value for r in runs], "", duration, calls, extra)


def execute(program_source: str, task: Task, backend: VisualBackend,
            sizes: dict[str, tuple[int, int]], limits: ExecutorConfig) -> ExecResult:
    """Execute one program on ``task`` in a one-off pool (a loop uses ``ProgramExecutor``)."""
    with ProgramExecutor(backend, sizes, limits, workers=1) as executor:
        return executor.run([(program_source, task)])[0]
