"""Attribution through the executor and scorer actor classes (no Ray): a backend known to be
wrong about one colour makes a correct program fail, and the oracle rerun calls it a tool error."""

import dataclasses
from pathlib import Path

import pytest

from actors.executor import ExecutorActor
from actors.scorer import ScorerActor
from visrep.config import load_config
from visrep.programs.baselines import reference_program
from visrep.programs.records import Program, SampleBatch
from visrep.selftrain.attribution import BOTH, PROGRAM, TOOL, failure_class, tool_errors
from visrep.visual.backend import BACKENDS
from visrep.visual.oracle import OracleBackend
from visrep.world import build_world_from, load_scenes, load_tasks
from visrep.world.records import Box, Scene, Task

CFG = load_config("tiny")


class ColourBlind(OracleBackend):
    """The oracle, except that ``find`` never sees a ``blind`` object: a student known to be
    wrong about one colour (and, through ``find``, about every phrase naming it)."""

    id_classes = frozenset({"red circle"})
    score_cut = 0.5

    def __init__(self, scenes: dict[str, Scene], blind: str) -> None:
        super().__init__(scenes)
        self._blind = blind

    def find(self, image_id: str, box: Box, name: str) -> list[Box]:
        return [o.box for o in self.named(image_id, box, name) if o.color != self._blind]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("attribution") / "world"
    build_world_from(root, CFG.world)
    return root


def _blind_task(world: Path) -> Task:
    """A detect task whose answer is one object, with its reference program."""
    return next(t for t in load_tasks(world, "train")
                if t.kind == "detect" and len(t.annotation["boxes"]) == 1 and t.meta.get("reference"))


def test_a_right_program_failed_by_a_wrong_tool_is_a_tool_failure(world: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    task = _blind_task(world)
    scenes = load_scenes(world)
    x0, y0, x1, y1 = task.annotation["boxes"][0]
    target = next(o for o in scenes[task.images[0]].objects if list(o.box) == [x0, y0, x1, y1])
    monkeypatch.setitem(BACKENDS, "blind", lambda scenes, images, student, proposals: ColourBlind(scenes, target.color))
    visual = dataclasses.replace(CFG.visual, backend="blind", student_dir="", attribute=True)
    executor = ExecutorActor(str(world), visual, CFG.executor)
    right = Program(task.id, reference_program(task))
    wrong = Program(task.id, "def execute_command(image):\n    return []\n")
    phrase = f"{target.color} {target.shape}"
    blind_and_wrong = Program(task.id, "def execute_command(image):\n"
                                       f"    return [p for p in image.find({phrase!r})][:0]\n")
    rejected = Program(task.id, "def execute_command(image):\n    import os\n    return []\n")
    batch = SampleBatch([[right, wrong, blind_and_wrong, rejected]])
    try:
        results = executor.run([task], batch)
        rewards = ScorerActor().score([task], results)
        again = executor.rerun_with_oracle([task], batch, results, rewards, below=1.0)
        oracle = ScorerActor().score([task], again)
    finally:
        executor.close()
    assert [r.value for r in rewards[0]] == [0.0, 0.0, 0.0, 0.0]
    assert again[0][3] is None  # the validator rejected it: no tool can change that
    classes = [failure_class(rew.value, None if o is None else o.value, tool_errors(res.calls), 1.0)
               for res, rew, o in zip(results[0], rewards[0], oracle[0])]
    assert classes == [TOOL, PROGRAM, BOTH, PROGRAM]
    wrong_calls = [c for c in results[0][0].calls if not c["agree"]]
    assert wrong_calls and all(c["tool"] == "find" and c["answer"] == [] for c in wrong_calls)
    about = {tuple(o[:4]): o[4] for c in wrong_calls for o in c["objects"]}
    assert about[tuple(target.box)] == target.class_name
    assert wrong_calls[0]["split"] == ("id" if target.class_name == "red circle" else "ood")
    # one record per call: the trace of a judged run carries each call's verdict, in order;
    # the oracle's rerun of the same program is traced without verdicts
    judged, trace = results[0][0].calls, results[0][0].trace
    assert [(t["tool"], t["args"], t["answer"], t["oracle"], t["agree"]) for t in trace] \
        == [(c["tool"], c["args"], c["answer"], c["oracle"], c["agree"]) for c in judged]
    assert all(t["image_id"] == task.images[0] and 0 < t["start_ns"] <= t["end_ns"] for t in trace)
    reran = again[0][0]
    assert reran.calls == () and [t["tool"] for t in reran.trace] == [t["tool"] for t in trace]
    assert not any("agree" in t for t in reran.trace)


def test_an_oracle_executor_has_no_referee_and_refuses_an_oracle_rerun(world: Path) -> None:
    visual = dataclasses.replace(CFG.visual, backend="oracle")
    task = _blind_task(world)
    executor = ExecutorActor(str(world), visual, CFG.executor)
    batch = SampleBatch([[Program(task.id, reference_program(task))]])
    try:
        results = executor.run([task], batch)
        assert results[0][0].calls == ()
        with pytest.raises(ValueError, match="answers 'backend'"):
            executor.rerun_with_oracle([task], batch, results, [[ScorerActor().score([task], results)[0][0]]], 2.0)
    finally:
        executor.close()
