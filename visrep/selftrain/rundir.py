"""The run directory: where each stage leaves its output, and how a rerun resumes.

Layout (``i`` = iteration, zero-padded)::

    <run>/config.yaml            the resolved config of the first start
    <run>/world/                 the generated world (or run.world.dir elsewhere)
    <run>/iter_000/checkpoint/   the starting policy (after warm start, if any; else the base
                                 model's files, hard-linked where the filesystem allows)
    <run>/iter_000/eval.parquet  held-out programs of the starting policy
    <run>/iter_00i/grow.parquet  all K programs per training task, executed and scored
    <run>/iter_00i/checkpoint/   the policy fine-tuned on the filtered programs
    <run>/iter_00i/eval.parquet
    <run>/iter_00i/tool_calls/<phase>.parquet  with pixel tools: each distinct call, judged
    <run>/iter_00i/<stage>.done  a JSON marker with the stage's metrics, written last
    <run>/corrections_todo.jsonl the failed training tasks to correct (``rayapps.failures``)

A stage is finished only when its marker exists; markers are written after the stage's
output, atomically, so rerunning the same command skips every finished stage and redoes
at most the one a crash interrupted.  A marker also records what its stage wrote (each
file's size, and a hash of those under ``HASHED_BYTES``); a rerun that finds one missing or
changed (a truncated checkpoint, a corrupt Parquet file) stops with one line naming the
file and the marker to delete, instead of building on it.  What a finished stage holds is only valid for the
config that made it, so a rerun with a different config is refused (``prepare_run_dir``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from visrep.cli import SetupError
from visrep.config import Config, RedistillConfig, flatten, load_dataclass, to_dict

# Keys a rerun may change without invalidating what the run directory holds.  The
# corrections are among them: the paper's workflow runs until self-training saturates, has a
# person correct what still fails, and continues the same run for more iterations with them
# (iterations already improved are not redone; ``corrections.check_joins_later`` says so).
# So is the closed loop: a stage already run keeps its student, later ones use the new settings.
RESUMABLE_CHANGES = frozenset({"run.iterations", "run.mlflow_uri", "run.dir",
                               "selftrain.corrections_file", "selftrain.corrections_from",
                               *(f"redistill.{f.name}" for f in dataclasses.fields(RedistillConfig))})


OUTPUTS = "outputs"  # the marker's key for what its stage wrote: relative path -> fingerprint
HASHED_BYTES = 64 << 20  # files up to this size are hashed; larger ones (model weights) by size


def _fingerprint(path: Path) -> str | None:
    """``size`` or ``size:sha256`` of a file, None if there is none."""
    if not path.is_file():
        return None
    size = path.stat().st_size
    if size > HASHED_BYTES:
        return str(size)
    return f"{size}:{hashlib.sha256(path.read_bytes()).hexdigest()}"


class RunDir:
    """Paths and stage markers of one run."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def iteration(self, i: int) -> Path:
        return self.root / f"iter_{i:03d}"

    def iterations(self) -> list[int]:
        """The iterations that have a directory, in order."""
        names = (p.name.removeprefix("iter_") for p in self.root.glob("iter_*"))
        return sorted(int(n) for n in names if n.isdigit())

    def checkpoint(self, i: int) -> Path:
        return self.iteration(i) / "checkpoint"

    def trajectories(self, i: int, phase: str) -> Path:
        return self.iteration(i) / f"{phase}.parquet"

    def tool_calls(self, i: int, phase: str) -> Path:
        """The phase's judged tool calls (``visrep.selftrain.attribution``), one file per phase."""
        return self.iteration(i) / "tool_calls" / f"{phase}.parquet"

    def _marker(self, i: int, stage: str) -> Path:
        return self.iteration(i) / f"{stage}.done"

    def done(self, i: int, stage: str) -> bool:
        """Whether the stage finished; SetupError if what it wrote is missing or changed."""
        marker = self._marker(i, stage)
        if not marker.is_file():
            return False
        for rel, recorded in json.loads(marker.read_text()).get(OUTPUTS, {}).items():
            found = _fingerprint(self.root / rel)
            if found != recorded:
                what = "is missing" if found is None else "changed"
                raise SetupError(f"{self.root / rel} {what} since iteration {i}'s {stage} finished; delete "
                                 f"{marker} (and the markers of the stages after it) and rerun to redo it")
        return True

    def stage_info(self, i: int, stage: str) -> dict[str, Any]:
        """The metrics a finished stage recorded (so a resumed run can re-log them)."""
        info = json.loads(self._marker(i, stage).read_text())
        info.pop(OUTPUTS, None)
        return info

    def mark_done(self, i: int, stage: str, info: dict[str, Any], outputs: Sequence[Path] = ()) -> None:
        """Mark the stage finished with its metrics and what it wrote (files, or every file
        under a directory; a symlinked checkpoint by its files)."""
        files = [f for out in outputs for f in ([out] if out.is_file() else sorted(out.rglob("*")))
                 if f.is_file()]
        record = {str(f.relative_to(self.root)): _fingerprint(f) for f in files}
        path = self._marker(i, stage)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps({**info, OUTPUTS: record}, indent=1, sort_keys=True, default=str))
        os.replace(tmp, path)

    def reuse_checkpoint(self, i: int, source: Path) -> None:
        """Make iteration ``i``'s checkpoint the files of ``source`` (a stage that trained
        nothing), held in the run dir: hard links where the filesystem allows (no copy, and
        the run survives a cleared model cache), else copies.  Built aside and renamed into
        place, so a crash leaves no half checkpoint; one a crashed attempt left is replaced."""
        path, source = self.checkpoint(i), source.resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        for stale in (tmp, path):
            if stale.is_symlink() or stale.is_file():
                stale.unlink()
            elif stale.exists():
                shutil.rmtree(stale)
        link_tree(source, tmp)
        os.replace(tmp, path)


def link_tree(source: Path, dest: Path) -> None:
    """``dest`` as ``source`` (a file or a directory tree) with its files hard-linked, not
    copied: shared run data costs no disk.  Copies where the filesystem has no such link."""
    if source.is_dir():
        shutil.copytree(source, dest, copy_function=_link_or_copy)
    else:
        _link_or_copy(str(source), str(dest))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another filesystem, or one without hard links
        shutil.copy2(src, dst)


def _comparable(data: dict[str, Any]) -> dict[str, Any]:
    """Flat keys, tuples as lists (the YAML file reads tuples back as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in flatten(data).items()}


def check_run_dir(rd: RunDir, cfg: Config) -> None:
    """Refuse a run dir that is not a directory, or holds a run whose config differs from
    ``cfg`` (except for ``RESUMABLE_CHANGES``); writes nothing."""
    if rd.root.exists() and not rd.root.is_dir():
        raise SetupError(f"run.dir {rd.root} is a file, not a directory")
    path = rd.root / "config.yaml"
    if path.is_file():
        before = _comparable(yaml.safe_load(path.read_text()))
        changed = sorted(k for k, v in _comparable(to_dict(cfg)).items()
                         if before.get(k) != v and k not in RESUMABLE_CHANGES)
        if changed:
            raise SetupError(f"{rd.root} holds a run with a different config ({', '.join(changed)}); "
                             "use a new run.dir to start over")


def prepare_run_dir(rd: RunDir, cfg: Config) -> None:
    """``check_run_dir``, then write config.yaml (the caller has checked every input the
    config names by now: a config that cannot run never claims a run dir)."""
    check_run_dir(rd, cfg)
    path = rd.root / "config.yaml"
    current = to_dict(cfg)
    try:
        rd.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SetupError(f"run.dir {rd.root} cannot be created: {exc.strerror}") from None
    tmp = path.with_name(".config.yaml.tmp")
    tmp.write_text(yaml.safe_dump(current, sort_keys=False))
    os.replace(tmp, path)


def run_config(rd: RunDir) -> Config:
    """The config the run was last started with (its config.yaml), for tools that read a run."""
    path = rd.root / "config.yaml"
    if not path.is_file():
        raise SetupError(f"{rd.root} is not a run directory (no config.yaml)")
    return load_dataclass(path, Config)
