"""Real data through the loop: GQA, RefCOCO and COCO captions as distributed (the real-format
fixtures over scikit-image's photographs, tests/realformats.py), converted into worlds, then
``rayapps.selftrain`` and ``rayapps.evaluate`` on them, with the tools reading the annotations
(the oracle) and the student's text tower over the dataset's boxes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from realformats import write_coco, write_gqa, write_refcoco
from tiny_run import fine_tuned

from rayapps import evaluate
from rayapps.selftrain import main
from visrep.selftrain import trajectories as T
from visrep.world.convert import Source, convert

pytestmark = [pytest.mark.ray, pytest.mark.slow]

# One one-line program per kind, in every world's vocabulary: what the fixture policy writes,
# so that grow and evaluation run programs (the random tiny policy writes nothing the
# validator accepts) and their rewards can go either way.
PROGRAMS = {
    "vqa": 'return bool_to_yesno(image.exists("cup"))',
    "detect": 'return image.find("object")',
    "retrieve": 'return float(image.exists("cat"))',
}
REAL = ["visual.proposals=annotations"]  # the shapes-trained detector does not apply to photographs


def _pairs(found: dict[str, Path]) -> tuple[tuple[str, Path], ...]:
    return tuple(found.items())


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three datasets' fixtures, each converted into a world: kind -> world dir."""
    root = tmp_path_factory.mktemp("realdata")
    gqa, ref, coco = write_gqa(root / "gqa"), write_refcoco(root / "coco14"), write_coco(root / "coco")
    sources = {
        "vqa": Source("gqa", (("", gqa["images"]),), {"questions": _pairs(gqa["questions"]),
                                                      "scene_graphs": _pairs(gqa["scene_graphs"])}),
        "detect": Source("refcoco", (("", ref["images"]),), {"refs": (("", ref["refs"]),),
                                                             "instances": (("", ref["instances"]),)}),
        "retrieve": Source("coco", _pairs(coco["images"]), {"instances": _pairs(coco["instances"]),
                                                            "captions": _pairs(coco["captions"])}, candidates=3),
    }
    return {kind: convert(root / f"world-{kind}", source).dir for kind, source in sources.items()}


@pytest.fixture(scope="module")
def real_policy(worlds: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny policy fine-tuned (by the loop's learner actor) to write ``PROGRAMS`` on the
    prompts of every training task of the three worlds."""
    import ray

    from visrep.config import load_config
    from visrep.selftrain.examples import config_seeds, training_pair
    from visrep.world import load_tasks

    cfg = load_config("tiny")
    seeds = config_seeds(cfg.warm_start.seeds_file)
    by_kind = {kind: load_tasks(world, "train") for kind, world in worlds.items()}
    most = max(len(tasks) for tasks in by_kind.values())  # every kind as often (cycling its tasks)
    pairs = [training_pair(t.kind, t.text, PROGRAMS[t.kind], seeds, cfg.prompt)
             for tasks in by_kind.values() for t in (tasks * most)[:most]]
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False)
    return fine_tuned(pairs, 24, tmp_path_factory.mktemp("real_policy") / "policy")


def test_selftrain_on_converted_gqa(worlds: dict[str, Path], real_policy: Path, ray_cluster: None,
                                    tmp_path: Path) -> None:
    """``scripts/selftrain world.dir=<GQA converted>``: held-out tasks exist, the student's tools
    answer on the photographs, rewards go both ways, and evaluate reports on the result."""
    run = tmp_path / "run"
    assert main(["--config", "tiny", f"run.dir={run}", f"run.mlflow_uri=sqlite:///{tmp_path}/mlflow.db",
                 f"world.dir={worlds['vqa']}", "world.kinds=[vqa]", f"policy.model={real_policy}",
                 "sampler.max_tokens=64", *REAL]) == 0
    grow = pd.read_parquet(run / "iter_001" / "grow.parquet")
    ran = grow[(grow[T.STATUS] == "ok") & (grow[T.API_CALLS] > 0)]
    assert len(ran) >= len(grow) // 2, grow[[T.SOURCE, T.ERROR]].to_dict("records")
    assert set(ran[T.BACKEND]) == {"student"}
    # the student's zero-reward programs, re-run under the annotation oracle: some right, some not
    assert set(ran[T.ORACLE_REWARD].dropna()) == {0.0, 1.0}
    heldout = pd.read_parquet(run / "iter_001" / "eval.parquet")
    assert set(heldout[T.SPLIT]) == {"val"} and len(heldout) == 4  # GQA's val file; test has no answers
    out = tmp_path / "eval.json"
    assert evaluate.main(["--checkpoint", str(run / "iter_001" / "checkpoint"), "--world", str(worlds["vqa"]),
                          "--split", "heldout", "--config", "tiny", "--backend", "oracle", "--out", str(out),
                          "sampler.max_tokens=64"]) == 0
    assert json.loads(out.read_text())["accuracy"]["vqa"]["val"]["n"] == 4


@pytest.mark.parametrize("kind", ["detect", "retrieve"])
def test_evaluate_on_converted_refcoco_and_coco(kind: str, worlds: dict[str, Path], real_policy: Path,
                                                ray_cluster: None, tmp_path: Path) -> None:
    """``rayapps.evaluate`` on RefCOCO (train/val/testA/testB) and COCO captions (train/val):
    programs run through the annotation oracle and are scored, some right and some not."""
    rows = tmp_path / "rows.parquet"
    assert evaluate.main(["--checkpoint", str(real_policy), "--world", str(worlds[kind]), "--config", "tiny",
                          "--backend", "oracle", "--trajectories", str(rows), "sampler.max_tokens=64"]) == 0
    done = pd.read_parquet(rows)
    ran = done[(done[T.STATUS] == "ok") & (done[T.API_CALLS] > 0)]
    assert len(ran) >= len(done) // 2, done[[T.SOURCE, T.ERROR]].to_dict("records")
    assert set(done[T.REWARD]) <= {0.0, 1.0} and 1.0 in set(ran[T.REWARD])
    splits = {"detect": {"train", "val", "testA", "testB"}, "retrieve": {"train", "val"}}[kind]
    assert set(done[T.SPLIT]) == splits
