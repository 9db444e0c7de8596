"""A per-image memo of tool answers, so the K samples of one task pay for each call once.

The K programs sampled for one task call the same tools with the same arguments on the
same image ("find('star')" in every one of them).  ``MemoBackend`` wraps any
``VisualBackend``; its ``call`` answers any tool of ``TOOLS`` (``visrep.visual.backend``)
and a repeated call from memory.  The key is the image, the
tool, the box and the arguments, so an answer is exactly what the backend would have
computed for that call (backends are pure functions of the image).

Where it lives: in the executor process, never in a sandbox worker.  Workers reach tools
only by asking the executor (``visrep.programs.pool``), so a program sees the answers to
its own calls and nothing else: it cannot list, read or change the memo, and the memo
survives workers being killed and replaced.  Answers are stored frozen (immutable tuples,
``Kind.freeze``) and handed out as fresh lists.

Bounds: ``images`` images are kept (least recently used goes first) and at most
``calls_per_image`` answers per image (later distinct calls still work, uncached), so a
program that calls ``find`` with a thousand different strings cannot grow it without end.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from visrep.visual.backend import TOOLS, VisualBackend, call_tool
from visrep.world.records import Box


class MemoBackend:
    """``backend``'s answers to the calls of ``TOOLS``, remembered per image."""

    def __init__(self, backend: VisualBackend, images: int = 256,
                 calls_per_image: int = 4096) -> None:
        self.backend = backend
        self.images, self.calls_per_image = images, calls_per_image
        self._memo: OrderedDict[str, dict[tuple[Any, ...], Any]] = OrderedDict()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        """Answers held, over all images."""
        return sum(len(calls) for calls in self._memo.values())

    def snapshot(self) -> dict[str, dict[tuple[Any, ...], Any]]:
        """A copy of the memo (tests compare it before and after hostile programs)."""
        return {image: dict(calls) for image, calls in self._memo.items()}

    def clear(self) -> None:
        self._memo.clear()

    def call(self, tool: str, image_id: str, box: Box, args: Sequence[Any]) -> Any:
        """The answer of ``tool`` (a name in ``TOOLS``) to ``args``, computed at most once
        per image, box and arguments; a fresh copy, so the caller cannot change the memo."""
        spec = TOOLS[tool]
        frozen = tuple(kind.freeze(a) for kind, a in zip(spec.args, args))
        answer = self._answer(image_id, (tool, tuple(box), *frozen),
                              lambda: call_tool(self.backend, tool, image_id, box, frozen))
        return spec.answer.fresh(answer)

    def _answer(self, image_id: str, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        calls = self._memo.get(image_id)
        if calls is None:
            calls = self._memo[image_id] = {}
            while len(self._memo) > self.images:
                self._memo.popitem(last=False)
        else:
            self._memo.move_to_end(image_id)
        if key in calls:
            self.hits += 1
            return calls[key]
        self.misses += 1
        value = compute()
        if len(calls) < self.calls_per_image:
            calls[key] = value
        return value
