"""Every task kind has an entry in every per-kind registry, and an unknown kind fails loudly.

The registries live with the layer that owns each concept (world generator and task file,
the programs' return contract, how a program runs on the task's images, the reward); this
test is the one list of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import visrep  # noqa: F401  (first: applies the torchvision fix)
from visrep.programs.baselines import PASSTHROUGH_TOOL
from visrep.programs.records import ExecResult
from visrep.programs.runs import RUN_POLICY
from visrep.rewards import REWARDS, score
from visrep.visual.api import RETURN_CONTRACT, to_plain
from visrep.world import build_world
from visrep.world.kinds import WORLD_KINDS
from visrep.world.records import TASK_KINDS, KindTable, Task

REGISTRIES: dict[str, KindTable] = {
    "world": WORLD_KINDS, "return contract": RETURN_CONTRACT, "run policy": RUN_POLICY, "reward": REWARDS,
    "pass-through tool": PASSTHROUGH_TOOL,
}


@pytest.mark.parametrize("name", REGISTRIES)
def test_every_kind_has_an_entry_and_unknown_kinds_raise(name: str) -> None:
    table = REGISTRIES[name]
    assert tuple(table) == TASK_KINDS
    assert all(table[kind] is not None for kind in TASK_KINDS)
    assert "caption" not in table
    with pytest.raises(ValueError, match=r"^unknown task kind 'caption': no .*known kinds: detect, vqa, retrieve"):
        table["caption"]


def test_world_entries_are_complete_and_files_distinct() -> None:
    for spec in WORLD_KINDS.values():
        assert callable(spec.generate) and callable(spec.write) and callable(spec.read)
    assert len({spec.file for spec in WORLD_KINDS.values()}) == len(TASK_KINDS)
    assert all(isinstance(RETURN_CONTRACT[kind], str) and callable(REWARDS[kind]) for kind in TASK_KINDS)
    assert all(callable(RUN_POLICY[kind].images) and callable(RUN_POLICY[kind].combine) for kind in TASK_KINDS)


def test_a_table_missing_a_kind_fails_when_built() -> None:
    with pytest.raises(ValueError, match=r"^probe: entries for kinds \['detect', 'vqa'\], but the task kinds"):
        KindTable("probe", {"detect": 1, "vqa": 2})
    with pytest.raises(ValueError, match="probe"):
        KindTable("probe", {**{kind: 0 for kind in TASK_KINDS}, "caption": 1})


def test_unknown_kind_raises_in_every_lookup(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown kinds"):
        build_world(tmp_path / "w", seed=0, image_size=64, min_objects=1, max_objects=2,
                    train_images=1, heldout_images=0, tasks_per_image=1,
                    retrieval_candidates=2, kinds=("caption",))
    with pytest.raises(ValueError, match="unknown task kind 'caption': no return conversion"):
        to_plain("a dog", "caption")  # type: ignore[arg-type]
    task = Task("caption/0", "caption", "a dog", ("img",), {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown task kind 'caption': no reward"):
        score(task, ExecResult("ok", "a dog"))
