"""How the pipeline spreads a sampler batch over the executors (no Ray needed: the mapping is
pure; tests/rayapps/test_actor_death.py runs it with two real executors and deaths)."""

from __future__ import annotations

from rayapps.pipeline import Pools, _Chains, _parts
from visrep.world.records import Task


def _tasks(count: int) -> list[Task]:
    return [Task(f"vqa/{i}", "vqa", "Q?", ("img",), {"answer": "yes"}) for i in range(count)]


def test_parts_cover_each_batch_once_in_order() -> None:
    assert _parts(5, 2) == [(0, 2), (2, 5)]
    assert _parts(8, 4) == [(0, 2), (2, 4), (4, 6), (6, 8)]
    assert _parts(1, 4) == [(0, 1)]  # fewer tasks than executors: a part per task
    assert _parts(3, 1) == [(0, 3)]  # one executor: the batch whole, as before parts existed


def test_one_batch_keeps_every_executor_busy_and_parts_share_its_sample() -> None:
    """One sampler batch larger than the executors: each of its parts goes to another
    executor (and scorer), all parts take the batch's one sample call; the next batch's
    parts go on round robin.  A part whose sampler died asks for a new sample call once for
    all the batch's parts."""
    pools = Pools(samplers=["s0"], executors=["e0", "e1", "e2"], scorers=["c0", "c1"])
    calls: list[tuple[int, object]] = []

    def sampled_by(n: int, batch: list[Task]) -> object:
        calls.append((n, object()))
        return calls[-1][1]

    chains = _Chains(pools, [_tasks(7), _tasks(2)], sampled_by, below=None, phase="grow")
    keys = chains.keys()
    assert keys == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert [chains.actor(key, 1)[0] for key in keys] == [
        "executor-0", "executor-1", "executor-2", "executor-0", "executor-1"]
    assert [chains.actor(key, 2)[0] for key in keys] == ["scorer-0", "scorer-1", "scorer-0", "scorer-1", "scorer-0"]
    assert {chains.actor(key, 0)[0] for key in keys} == {"sampler-0"}
    assert [chains.tasks(key)[0] for key in keys] == [0, 2, 4, 0, 1]
    assert [len(chains.tasks(key)[1]) for key in keys] == [2, 2, 3, 1, 1]
    first = [chains._sample(n, None) for n, _ in keys]
    assert [n for n, _ in calls] == [0, 1]  # one sample call per batch, however many parts
    assert first == [calls[0][1]] * 3 + [calls[1][1]] * 2
    again = chains._sample(0, first[0])  # batch 0's sampler died under a part: sampled again
    assert again is not first[0] and [n for n, _ in calls] == [0, 1, 0]
    assert chains._sample(0, first[0]) is again and len(calls) == 3  # its other parts reuse the new call
