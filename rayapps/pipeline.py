"""Tasks → programs → results → rewards, pipelined across actor pools with ``ray.wait``.

Every batch's calls are submitted at once, chained by ObjectRefs: Ray starts an executor
call as soon as its sampler batch exists and a scorer call as soon as its results do, so
sampling of batch n+1 overlaps execution of batch n.  Execution does not follow the
sampler's batching: each sampler batch is cut into one part per executor (fewer when it
has fewer tasks), and each part runs, is scored and attributed as its own chain on its own
executor and scorer, so E executors share every batch whatever ``sampler.batch_tasks`` is
(one batch alone keeps all of them busy).  The driver only waits on the last link of each
chain (never ``ray.get`` in a loop) and fetches chains that are already finished.  A
baseline's programs are given rather than sampled (``run_given``): they enter the same
chain as an object in the store, so the executors and scorers see the same calls either way.

An actor whose process dies mid-phase (killed, its node lost) is restarted by Ray
(``resources.max_restarts``); the chains its death failed are re-issued from the first
failed link (what finished before is reused; the parts of a batch whose sampler died share
one new sample call), each part's rows are accepted once, so a phase still yields exactly
tasks x K rows.  Deaths are also found when no chain failed
(the actor was idle): each actor's pid is read at the start and end of the phase.  One
line per death is printed and ``PhaseOutput.deaths``/``batches_rerun`` count them.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ray
from ray.exceptions import ActorUnavailableError, RayActorError
from tqdm import tqdm

from actors.sampler import Policy
from rayapps.inputs import Inputs
from visrep.cli import Interrupted
from visrep.config import PromptConfig
from visrep.programs.records import ExecResult, Program, SampleBatch
from visrep.rewards.records import Reward
from visrep.selftrain.attribution import Attribution, call_rows, failure_class, tool_errors
from visrep.selftrain.trajectories import make_row
from visrep.world.records import Task


@dataclass
class Pools:
    """Handles of the live role actors (lists, used round robin), and how phases attribute
    failures (None: the tools are the oracle's, nothing to attribute)."""

    samplers: list[Any]
    executors: list[Any]
    scorers: list[Any]
    backend: str = "oracle"
    attribution: Attribution | None = None
    policy: Policy | None = None  # what the samplers must serve (each sample call names it)
    inputs: Inputs | None = None  # what the executors were spawned on (re-distillation swaps the student)

    def named(self) -> dict[str, Any]:
        """Every actor by its name in messages (``executor-0``)."""
        roles = {"sampler": self.samplers, "executor": self.executors, "scorer": self.scorers}
        return {f"{role}-{n}": actor for role, actors in roles.items() for n, actor in enumerate(actors)}


@dataclass
class PhaseOutput:
    """Trajectory rows of a phase plus what the samplers reported."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # distinct judged tool calls (attribution)
    rerun_all: bool = False  # every program (not only the failed) was rerun with the oracle's tools
    tokens: int = 0
    sample_s: float = 0.0
    execute_s: float = 0.0  # the programs' own run time in the sandbox, summed (tool calls included)
    wall_s: float = 0.0
    deaths: dict[str, int] = field(default_factory=dict)  # actor name -> deaths seen (each restarted)
    batches_rerun: int = 0  # chains (a batch's part each) re-issued after a death


# (batch number, the batch's tasks) -> an ObjectRef of the batch's SampleBatch
SampleCall = Callable[[int, list[Task]], Any]


def run_phase(pools: Pools, tasks: list[Task], *, iteration: int, phase: str, k: int,
              temperature: float, prompt: PromptConfig, batch_tasks: int, rerun_all: bool = False) -> PhaseOutput:
    """Sample ``k`` programs per task, execute and score them; rows in task order."""
    def sample(n: int, batch: list[Task]) -> Any:
        return pools.samplers[n % len(pools.samplers)].sample.remote(batch, k, temperature, prompt, pools.policy)

    return _pipeline(pools, tasks, sample, iteration=iteration, phase=phase, batch_tasks=batch_tasks,
                     rerun_all=rerun_all)


def run_eval(pools: Pools, tasks: list[Task], *, iteration: int, prompt: PromptConfig,
             batch_tasks: int, phase: str = "eval") -> PhaseOutput:
    """The evaluation phase: one greedy program per task (``k`` 1, temperature 0); with
    attribution every program also runs with the oracle's tools (``oracle_reward``)."""
    return run_phase(pools, tasks, iteration=iteration, phase=phase, k=1, temperature=0.0,
                     prompt=prompt, batch_tasks=batch_tasks, rerun_all=True)


def run_given(pools: Pools, tasks: list[Task], program: Callable[[Task], str], *, phase: str,
              batch_tasks: int) -> PhaseOutput:
    """Execute and score ``program(task)``, one per task (a baseline: no sampler needed)."""
    def given(n: int, batch: list[Task]) -> Any:
        return ray.put(SampleBatch([[Program(task.id, program(task))] for task in batch]))

    return _pipeline(pools, tasks, given, iteration=0, phase=phase, batch_tasks=batch_tasks, rerun_all=True)


def _rows(pools: Pools, iteration: int, phase: str, tasks: list[Task], programs: list[list[Program]],
          results: list[list[ExecResult]], rewards: list[list[Reward]],
          oracle: list[list[Reward | None]] | None) -> list[dict[str, Any]]:
    """A chain's trajectory rows (``programs``: its tasks' lists of the sampler batch),
    attributed when ``oracle`` holds the oracle reruns' rewards."""
    rows = []
    for i, (task, progs, ress, rews) in enumerate(zip(tasks, programs, results, rewards)):
        for j, (prog, res, rew) in enumerate(zip(progs, ress, rews)):
            extra: dict[str, Any] = {"backend": pools.backend}
            if oracle is not None and pools.attribution is not None:
                again = None if oracle[i][j] is None else oracle[i][j].value  # type: ignore[union-attr]
                errors = tool_errors(res.calls)
                extra.update(oracle_reward=again, tool_errors=errors,
                             failure=failure_class(rew.value, again, errors, pools.attribution.threshold))
            rows.append(make_row(iteration, phase, j, task, prog, res, rew, **extra))
    return rows


def _parts(size: int, count: int) -> list[tuple[int, int]]:
    """``size`` tasks cut into ``count`` contiguous parts (fewer when there are fewer tasks),
    as equal as can be: their (start, end)."""
    count = max(1, min(count, size))
    bounds = [size * j // count for j in range(count + 1)]
    return list(zip(bounds, bounds[1:]))


# The role of each link of a batch's chain: sample, execute, score, rerun with the oracle, score.
LINK_ROLES = ("sampler", "executor", "scorer", "executor", "scorer")
MAX_REISSUES = 8  # per batch: past this the actor is taken as lost for good
RESTART_TIMEOUT_S = 600.0  # how long a restarting actor (a vLLM engine loading) may take


def _actor_death(exc: BaseException | None) -> RayActorError | None:
    """The actor death behind ``exc`` (raised by a link, or by a link that depended on it)."""
    while exc is not None and not isinstance(exc, RayActorError):
        exc = getattr(exc, "cause", None) or exc.__cause__
    return exc


def _pid(actor: Any) -> int:
    return os.getpid()


def _pids(pools: Pools) -> dict[str, int | None]:
    """Each actor's process id now (None: it is dead and not yet back)."""
    named = pools.named()
    refs = {name: actor.__ray_call__.remote(_pid) for name, actor in named.items()}
    out: dict[str, int | None] = {}
    for name, ref in refs.items():
        try:
            out[name] = ray.get(ref)
        except RayActorError:
            out[name] = None
    return out


Part = tuple[int, int]  # a chain: (batch number, part number)


class _Chains:
    """The chains of calls (one per part of each batch), and their re-issue after an actor died."""

    def __init__(self, pools: Pools, batches: list[list[Task]], sampled_by: SampleCall, below: float | None,
                 phase: str) -> None:
        self.pools, self.batches, self.sampled_by, self.below, self.phase = pools, batches, sampled_by, below, phase
        self.parts = [_parts(len(batch), len(pools.executors)) for batch in batches]
        self.first = list(itertools.accumulate(map(len, self.parts), initial=0))  # batch -> its first part's number
        self.samples: dict[int, Any] = {}  # batch number -> its sample link, shared by its parts
        self.by_ref: dict[Any, tuple[Part, list[Any]]] = {}
        self.reissued: dict[Part, int] = {}
        self.deaths: dict[str, int] = {}  # actor name -> deaths seen; a chain remembers the counts it was issued at
        self.rerun: dict[str, int] = {}  # actor name -> chains re-issued because it died
        self.issued_in: dict[Part, dict[str, int]] = {}

    def keys(self) -> list[Part]:
        return [(n, j) for n, parts in enumerate(self.parts) for j in range(len(parts))]

    def tasks(self, key: Part) -> tuple[int, list[Task]]:
        """The chain's first task's position in its batch, and its tasks."""
        n, j = key
        start, end = self.parts[n][j]
        return start, self.batches[n][start:end]

    def actor(self, key: Part, index: int) -> tuple[str, Any]:
        """The (name, handle) of the actor that runs chain ``key``'s link ``index``; a given
        program's first link (``ray.put``, no sampler) is ``("given", None)``.  Parts go to
        executors (and scorers) round robin over all parts, so a batch's parts land on as
        many different executors, and the next batch starts where it stopped."""
        role = LINK_ROLES[index]
        actors = {"sampler": self.pools.samplers, "executor": self.pools.executors, "scorer": self.pools.scorers}[role]
        if not actors:
            return "given", None
        n, j = key
        slot = n if role == "sampler" else self.first[n] + j
        return f"{role}-{slot % len(actors)}", actors[slot % len(actors)]

    def _sample(self, n: int, failed: Any) -> Any:
        """Batch ``n``'s sample link: the one its other parts use, or a new call when there is
        none yet or it is ``failed``'s (its sampler died)."""
        if self.samples.get(n) is None or self.samples[n] is failed:
            self.samples[n] = self.sampled_by(n, self.batches[n])
        return self.samples[n]

    def issue(self, key: Part, done: list[Any], failed: Any = None) -> Any:
        """Submit chain ``key`` after the links in ``done``; returns its last link."""
        start, tasks = self.tasks(key)
        links = list(done)
        _, executor = self.actor(key, 1)
        _, scorer = self.actor(key, 2)
        if not links:
            links.append(self._sample(key[0], failed))
        if len(links) < 2:
            links.append(executor.run.remote(tasks, links[0], start))
        if len(links) < 3:
            links.append(scorer.score.remote(tasks, links[1]))
        if self.below is not None:
            if len(links) < 4:
                links.append(executor.rerun_with_oracle.remote(tasks, links[0], links[1], links[2], self.below,
                                                               start))
            if len(links) < 5:
                links.append(scorer.score.remote(tasks, links[3]))
        names = [self.actor(key, i)[0] for i in range(len(links))]
        self.issued_in[key] = {name: self.deaths.get(name, 0) for name in names}
        self.by_ref[links[-1]] = (key, links)
        return links[-1]

    def fetch(self, ref: Any) -> tuple[Part, Any, list[Any]] | Any:
        """The finished chain's (key, sample link, link values), or the new last link it was
        re-issued as."""
        key, links = self.by_ref.pop(ref)
        wanted = [links[i] for i in (0, 1, 2, 4) if i < len(links)]
        try:
            return key, links[0], ray.get(wanted)
        except Exception as exc:
            if _actor_death(exc) is None:
                raise
        for index, link in enumerate(links):  # the first link that failed: its actor died
            try:
                ray.get(link)
            except Exception as exc:
                death = _actor_death(exc)
                if death is None:
                    raise
                self.died(key, index, death)
                self.await_back(key, index)
                return self.issue(key, links[:index], failed=links[0])
        raise AssertionError("a chain failed but none of its links did")

    def died(self, key: Part, index: int, death: RayActorError) -> None:
        """Count chain ``key``'s re-issue, and the death when no earlier failure counted it."""
        name, _ = self.actor(key, index)
        self.reissued[key] = self.reissued.get(key, 0) + 1
        if self.reissued[key] > MAX_REISSUES:
            raise Interrupted(f"{self.phase}: {name} died {self.reissued[key]} times running batch {key[0]}: "
                              "lost for good (its restarts, resources.max_restarts, are spent)")
        self.rerun[name] = self.rerun.get(name, 0) + 1
        if self.issued_in[key].get(name, 0) == self.deaths.get(name, 0):  # not a death already counted
            self.deaths[name] = self.deaths.get(name, 0) + 1
            tqdm.write(f"{self.phase}: {name} died ({_reason(death)}); restarted by Ray; "
                       "re-running its unfinished batches")

    def await_back(self, key: Part, index: int) -> None:
        """Wait until the actor of chain ``key``'s link ``index`` answers again (Ray refuses
        calls while it restarts); ``Interrupted`` when it is gone for good."""
        name, actor = self.actor(key, index)
        deadline = time.monotonic() + RESTART_TIMEOUT_S
        while True:
            try:
                ray.get(actor.__ray_call__.remote(_pid))
                return
            except ActorUnavailableError:
                if time.monotonic() > deadline:
                    raise Interrupted(f"{self.phase}: {name} did not come back within {RESTART_TIMEOUT_S:.0f} s") \
                        from None
                time.sleep(0.5)
            except RayActorError:
                raise Interrupted(f"{self.phase}: {name} died and is lost for good "
                                  "(its restarts, resources.max_restarts, are spent)") from None


def _reason(death: RayActorError) -> str:
    """What Ray says about a death, in a few words (its message is a page long)."""
    text = " ".join(str(death).split())
    found = re.search(r"Worker exit detail: (.+?)(?:\.|$)", text)
    return f"{type(death).__name__}: {found.group(1)[:120]}" if found else type(death).__name__


def _pipeline(pools: Pools, tasks: list[Task], sampled_by: SampleCall, *, iteration: int, phase: str,
              batch_tasks: int, rerun_all: bool = False) -> PhaseOutput:
    """Chain ``sampled_by`` → execute → score per batch of ``batch_tasks``, each batch's
    execution cut into a part per executor (and with attribution → rerun the failed, or with
    ``rerun_all`` every, program with the oracle's tools → score those); rows in task order,
    each part's accepted once."""
    start = time.perf_counter()
    batches = [tasks[i:i + batch_tasks] for i in range(0, len(tasks), batch_tasks)]
    attribution = pools.attribution
    below = None if attribution is None else (float("inf") if rerun_all else attribution.threshold)
    chains = _Chains(pools, batches, sampled_by, below, f"iter {iteration} {phase}")
    pids = _pids(pools)
    pending = [chains.issue(key, []) for key in chains.keys()]
    per_part: dict[Part, list[dict[str, Any]]] = {}
    counted: set[Any] = set()  # sample links whose tokens are counted (a batch's parts share one)
    out = PhaseOutput(rerun_all=rerun_all and attribution is not None)
    with tqdm(total=len(tasks), desc=f"iter {iteration} {phase}", unit="task") as bar:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            fetched = chains.fetch(ready[0])
            if not isinstance(fetched, tuple):  # re-issued after a death
                pending.append(fetched)
                continue
            key, sample_link, (sample, results, rewards, *oracle) = fetched
            first, part = chains.tasks(key)
            per_part[key] = _rows(pools, iteration, phase, part, sample.part(first, len(part)),
                                  results, rewards, oracle[0] if oracle else None)
            if attribution is not None:
                out.calls += [c for per_task in results for r in per_task for c in r.calls]
            if sample_link not in counted:
                counted.add(sample_link)
                out.tokens += sample.tokens
                out.sample_s += sample.seconds
            out.execute_s += sum(r.duration_s for per_task in results for r in per_task)
            bar.update(len(part))
    for name, pid in _pids(pools).items():  # deaths no chain noticed (the actor was idle)
        if pid != pids[name] and not chains.deaths.get(name):
            chains.deaths[name] = 1
    for name, count in chains.deaths.items():
        print(f"{chains.phase}: {name} died {count} time{'s' * (count > 1)}, restarted by Ray; "
              f"{chains.rerun.get(name, 0)} batches re-run", flush=True)
    out.rows = [row for key in chains.keys() for row in per_part[key]]
    out.calls = call_rows(iteration, phase, out.calls)
    out.deaths, out.batches_rerun = chains.deaths, sum(chains.rerun.values())
    out.wall_s = time.perf_counter() - start
    return out
