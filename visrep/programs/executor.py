"""Programs against the visual API: the one place the visual API meets the sandbox.

``ProgramExecutor`` owns a ``WorkerPool`` and a ``MemoBackend``.  In a worker a program
gets the root ``ImagePatch`` of its image and the API's names (``PROGRAM_NAMES``), nothing
else (ViperGPT's ``execute_command(image, my_fig, time_wait_between_lines, syntax)`` gets
None for the three display-only parameters).  The patch's backend is ``RemoteBackend``,
which forwards every tool call to the executor process over the worker's socket.  There
``check_request`` checks the call (a known tool, a box of four finite numbers, the
arguments ``TOOLS`` declares: short strings, 1 to 100 options) and answers it through the
memo, for the image of the job *as the executor holds it*: the task, its annotation and
other images never enter a worker, and a worker cannot ask about an image its program was
not given.  Both sides are driven by ``TOOLS`` (``visrep.visual.backend``), so neither
names a tool.  Which images a task's program runs on, and how those runs combine, is the
task kind's ``RUN_POLICY`` (``visrep.programs.runs``).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from visrep.config import ExecutorConfig, VisualConfig
from visrep.programs.pool import Job, WorkerPool
from visrep.programs.records import ExecResult
from visrep.programs.runs import RUN_POLICY
from visrep.programs.text import ENTRY_POINT
from visrep.programs.worker import CallRefused, Rpc
from visrep.visual.api import PROGRAM_NAMES, ToolError, api_namespace, to_plain
from visrep.visual.backend import TEXTS, TOOLS, Kind, PixelBackend, Tool, VisualBackend, call_tool, make_backend
from visrep.visual.memo import MemoBackend
from visrep.visual.referee import Referee
from visrep.world import load_scenes
from visrep.world.loaders import images_dir
from visrep.world.records import Box, Task, TaskKind

API_NAMES = frozenset(PROGRAM_NAMES)
MAX_TEXT_CHARS = 1000
MAX_OPTIONS = 100
MAX_KEPT_CALLS = 64  # per program run, traced (and judged): a program's first calls decide its answer
# Which tools a run's calls reach: the executor's backend, or the referee's oracle.
BACKEND, ORACLE = "backend", "oracle"

# How the executor answers a checked call: (tool, image_id, box, args) -> the answer.
Answer = Callable[[str, str, Box, Sequence[Any]], Any]


class RemoteBackend:
    """The worker's ``VisualBackend``: each tool of ``TOOLS`` is a request to the executor
    process, ``[tool, box, args]`` as plain data; the image is the job's, never asked for.
    A refused or failed request raises the visual API's ``ToolError`` in the program."""

    def __init__(self, rpc: Rpc) -> None:
        self.__rpc = rpc

    def __getattr__(self, tool: str) -> Callable[..., Any]:
        """The method of ``tool``: ``(image_id, box, *args)`` -> its answer, as a backend's."""
        spec = TOOLS.get(tool)
        if spec is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {tool!r}")
        rpc = self.__rpc

        def call(image_id: str, box: Box, *args: Any) -> Any:
            plain = [kind.plain(kind.freeze(a)) for kind, a in zip(spec.args, args)]
            try:
                answer = rpc([tool, list(box), plain])
            except CallRefused as exc:
                raise ToolError(str(exc)) from None
            return spec.answer.fresh(spec.answer.freeze(answer))

        return call


def _prepare(context: dict[str, Any], rpc: Rpc) -> tuple[dict[str, Any], Any]:
    """Worker side: the program's names, and the call that runs it on the root patch."""
    namespace, root = api_namespace(RemoteBackend(rpc), context["image"],
                                    (int(context["size"][0]), int(context["size"][1])))
    kind: TaskKind = context["kind"]

    def call(env: dict[str, Any]) -> Any:
        entry = env[ENTRY_POINT]  # validated: (image) or ViperGPT's four parameters
        unused = [None] * (len(inspect.signature(entry).parameters) - 1)
        return to_plain(entry(root, *unused), kind)

    return namespace, call


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


def _arg(tool: Tool, kind: Kind, value: Any) -> Any:
    """One argument, checked by its declared kind: 1 to ``MAX_OPTIONS`` texts, or a text
    (any other kind is checked as a text too, so a kind added without a check fails closed)."""
    if kind is TEXTS:
        if not isinstance(value, list) or not 0 < len(value) <= MAX_OPTIONS:
            raise ValueError(f"{tool.name} needs 1 to {MAX_OPTIONS} options")
        return [_text(v) for v in value]
    return _text(value)


def check_request(request: Any) -> tuple[Tool, Box, list[Any]]:
    """Executor side: one tool request from a worker, checked: (its tool, box, arguments)."""
    if not (isinstance(request, list) and len(request) == 3 and isinstance(request[0], str)
            and request[0] in TOOLS and isinstance(request[2], list)):
        raise ValueError("malformed tool request")
    tool, box, args = TOOLS[request[0]], _box(request[1]), request[2]
    if len(args) != len(tool.args):
        raise ValueError(f"wrong number of arguments for {tool.name}")
    return tool, box, [_arg(tool, kind, a) for kind, a in zip(tool.args, args)]


def plain_answer(tool: Tool, raw: Any) -> Any:
    """A tool's answer as the plain data that goes back to the worker (and into traces)."""
    return tool.answer.plain(tool.answer.freeze(raw))


def serve_tool(answer: Answer, image_id: str, request: Any) -> Any:
    """Executor side, whole: check one tool request from a worker, answer it with ``answer``
    (the memo's ``call``, or ``call_tool`` on a backend) and return the answer as plain data."""
    tool, box, args = check_request(request)
    return plain_answer(tool, answer(tool.name, image_id, box, args))


class ProgramExecutor:
    """Runs programs on tasks in a pre-forked sandbox pool, tool calls through a memo.

    Create it after the backend is built (workers are forked here and share its memory),
    reuse it for every batch, ``close`` it at the end.  ``memo=False`` calls the backend
    directly (the benchmark's baseline).  With a ``referee`` every call the backend answers
    is judged against the oracle (``ExecResult.calls``), and ``run(..., tools=ORACLE)``
    runs programs with the referee's oracle behind the same sandbox instead.  Every run
    keeps what its tools were asked and answered, and when (``ExecResult.trace``): what a
    person reads in the run's MLflow traces.
    """

    def __init__(self, backend: VisualBackend, sizes: dict[str, tuple[int, int]],
                 limits: ExecutorConfig, workers: int | None = None, memo: bool = True,
                 referee: Referee | None = None) -> None:
        self.backend = backend
        self.memo = MemoBackend(backend, limits.memo_images) if memo else None
        self.referee = referee
        self._answer: Answer = self.memo.call if self.memo is not None else partial(call_tool, backend)
        self._sizes = dict(sizes)
        # per job: each kept call's trace record and, on a judged run, the referee's verdict
        self._kept: dict[int, list[tuple[dict[str, Any], dict[str, Any] | None]]] = {}
        self.pool = WorkerPool(API_NAMES, _prepare, self._serve, limits, workers)

    def _serve(self, context: dict[str, Any], request: Any) -> Any:
        """Answer one tool request of a job and keep one record of it (the first
        ``MAX_KEPT_CALLS`` of a run): what was asked and answered, and when, plus the
        referee's verdict when the backend's answer is judged.  A request that fails its
        checks raises in the program and is not kept."""
        start = time.time_ns()
        tool, box, args = check_request(request)
        image_id, oracle_run = context["image"], context.get("tools") == ORACLE
        if oracle_run:
            assert self.referee is not None
            raw = self.referee.oracle.call(tool.name, image_id, box, args)
        else:
            raw = self._answer(tool.name, image_id, box, args)
        answer = plain_answer(tool, raw)
        kept = self._kept.setdefault(context["job"], [])
        if len(kept) < MAX_KEPT_CALLS:
            trace = {"tool": tool.name, "image_id": image_id, "box": request[1], "args": request[2],
                     "answer": answer, "start_ns": start, "end_ns": time.time_ns()}
            verdict = None
            if self.referee is not None and not oracle_run:
                verdict = self.referee.judge(tool.name, image_id, box, args, raw)
                trace |= {"oracle": verdict["oracle"], "agree": verdict["agree"]}
            kept.append((trace, verdict))
        return answer

    def rejudge(self, calls: Sequence[dict[str, Any]]) -> list[bool]:
        """For each call (``tool``, ``image_id``, ``box``, ``args`` as JSON text, as
        ``tool_calls.parquet`` holds them), whether this executor's backend answers it as the
        oracle does (asked through the memo, outside any sandbox: the calls are data)."""
        if self.referee is None:
            raise ValueError("rejudging tool calls needs a referee (visual.attribute with a pixel backend)")
        out = []
        for c in calls:
            args = json.loads(c["args"])
            box = _box(json.loads(c["box"]))
            tool, image_id = c["tool"], c["image_id"]
            answer, truth = self._answer(tool, image_id, box, args), self.referee.oracle.call(tool, image_id, box, args)
            out.append(self.referee.agree(tool, answer, truth))
        return out

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> ProgramExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, items: list[tuple[str, Task]], tools: str = BACKEND) -> list[ExecResult]:
        """One ``ExecResult`` per (program source, task), in order; all run in one pool pass.

        ``tools``: ``BACKEND`` (judged when there is a referee) or ``ORACLE`` (the referee's)."""
        if tools not in (BACKEND, ORACLE) or (tools == ORACLE and self.referee is None):
            raise ValueError(f"tools={tools!r}: this executor answers {BACKEND!r}"
                             + (f" and {ORACLE!r}" if self.referee is not None else ""))
        jobs: list[Job] = []
        spans: list[tuple[int, int]] = []
        unknown: dict[int, ExecResult] = {}  # tasks naming an image the world has no scene of
        for k, (source, task) in enumerate(items):
            if not task.images:
                raise ValueError(f"task {task.id} has no images")
            images = RUN_POLICY[task.kind].images(task)
            missing = [image for image in images if image not in self._sizes]
            if missing:
                unknown[k] = ExecResult("error", error=f"task {task.id}: image {missing[0]!r} is not in the "
                                                       "world's instances.json")
                images = []
            spans.append((len(jobs), len(jobs) + len(images)))
            jobs += [Job(source, {"image": image, "size": list(self._sizes[image]), "kind": task.kind,
                                  "tools": tools, "job": len(jobs) + n}) for n, image in enumerate(images)]
        self._kept.clear()
        try:
            results = self.pool.run(jobs)
            return [unknown.get(k) or self._with_calls(RUN_POLICY[task.kind].combine(results[a:b]),
                                                       [c for j in range(a, b) for c in self._kept.get(j, ())])
                    for k, ((a, b), (_, task)) in enumerate(zip(spans, items))]
        finally:
            self._kept.clear()

    @staticmethod
    def _with_calls(result: ExecResult, kept: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> ExecResult:
        """``result`` with the kept calls of its jobs (one task's runs, in order): every
        call's trace record, and the verdicts of the judged ones."""
        return dataclasses.replace(result, trace=tuple(t for t, _ in kept),
                                   calls=tuple(v for _, v in kept if v is not None))


def executor_for_world(world_dir: Path, visual: VisualConfig,
                       limits: ExecutorConfig) -> ProgramExecutor:
    """The executor for a world directory's tasks, with the backend ``visual`` names (and a
    referee over the world's scenes when ``visual.attribute`` and that backend reads pixels);
    the backend is built first, so the workers forked after it share its memory."""
    scenes = load_scenes(world_dir)
    backend = make_backend(visual.backend, scenes, images_dir(world_dir), visual.student_dir, visual.proposals)
    referee = None
    if visual.attribute and visual.backend != "oracle":
        pixels: PixelBackend = backend  # type: ignore[assignment]  (every backend but the oracle reads pixels)
        referee = Referee(scenes, pixels.id_classes, pixels.score_cut)
    return ProgramExecutor(backend, {i: (s.width, s.height) for i, s in scenes.items()}, limits, referee=referee)


def execute(program_source: str, task: Task, backend: VisualBackend,
            sizes: dict[str, tuple[int, int]], limits: ExecutorConfig) -> ExecResult:
    """Execute one program on ``task`` in a one-off pool (a loop uses ``ProgramExecutor``)."""
    with ProgramExecutor(backend, sizes, limits, workers=1) as executor:
        return executor.run([(program_source, task)])[0]
