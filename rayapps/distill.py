"""``python -m rayapps.distill [--config default|tiny|PATH] [a.b=value ...]``: teacher → student.

world (built if missing) → object crops and the ID/OOD class split → teacher (a real
open_clip one loaded, or the embedded one trained here once) → clean-view teacher
features (cached) → one student per ablation row (cls; +mse; +contrastive; +vl_align;
+enrichment; all), each distilled on a DeepSpeed engine and evaluated zero-shot and
5-shot on ID-held-out and OOD (each row the mean of ``student.seeds`` students) → the
"all" row's first student in ``<run.dir>/student`` (``visrep.vlm.student.load_student``)
with its box proposals and calibration → the visual-API primitives with that student
behind them vs the oracle (``api:``) → MLflow (params, metrics, the report) → the
markdown report (``run.report``).

Resumable: the teacher checkpoint, the feature cache and each finished row are kept in
the run directory and skipped on a rerun with the same settings.  The rows run one
after another in this process: on a 2-core machine parallel rows would only contend.

The steps are library calls: ``visrep.vlm.distill`` (teacher, rows, throughput, summary,
report), ``visrep.visual.calibration.prepare_student_dir`` (the tools' proposals and
calibration) and ``visrep.visual.accuracy`` (the API table); this module orders them and
tracks the run in MLflow.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock

from rayapps.tracking import Tracker
from visrep.cli import USER_ERRORS, SetupError, cache_dir, run_main
from visrep.config import VisualConfig, load_config
from visrep.visual.accuracy import SCOPE, accuracy_table
from visrep.visual.calibration import prepare_student_dir
from visrep.vlm.config import CHECKPOINT_ROW, DistillConfig, load_distill_config
from visrep.vlm.distill import Distill
from visrep.vlm.models import ModelError
from visrep.vlm.student import StudentDir
from visrep.world import build_world_from


def run(cfg: DistillConfig, progress: bool = True) -> dict[str, Any]:
    """The whole job, in the order of the module docstring; the run's summary."""
    t0 = time.perf_counter()
    job = Distill(cfg, progress)
    setup = job.setup()
    teacher_rows = job.teacher_rows(setup)
    rows = {row: job.student_row(row, setup) for row in cfg.rows}
    if job.student.has_student() and not job.student.calibration.is_file():
        with job.timed("tools_s"):  # makes the student usable as visual.backend=student
            prepare_student_dir(job.student.root, setup.world, proposal_steps=cfg.student.proposal_steps)
    bench = job.throughput(setup)
    api = api_table(job)
    job.timings["total_s"] = time.perf_counter() - t0
    summary = job.summary(setup, teacher_rows, rows, bench, api)
    report = job.write(summary)
    track(cfg, job.root, summary, report)
    print(f"distill: wrote {report} and {job.student.root} in {job.timings['total_s']:.0f} s", flush=True)
    return summary


def api_table(job: Distill) -> dict[str, str]:
    """The visual-API primitives with the saved student behind them vs the oracle, on the
    held-out scenes of the ``api.profile`` self-training world (built here)."""
    a = job.cfg.api
    if not a.scenes or not job.student.calibration.is_file():
        return {}
    with job.timed("api_table_s"):
        world = job.root / "api-world"
        build_world_from(world, load_config(a.profile, []).world)
        table, calibration = accuracy_table(job.student.root, world, a.scenes)
    return {"table": table, "calibration": calibration,
            "scope": f"the `{a.profile}` self-training world's " + SCOPE.format(scenes=a.scenes)}


def track(cfg: DistillConfig, root: Path, summary: dict[str, Any], report: Path) -> None:
    """The summary's numbers as MLflow metrics, the report and summary as artifacts."""
    tracker = Tracker(cfg, root)  # type: ignore[arg-type]  (reads .run and to_dict(cfg))
    try:
        metrics: dict[str, float] = {}
        for name, result in summary["rows"].items():
            metrics.update({f"{name}/{k}": v for k, v in result["metrics"].items()})
            metrics[f"{name}/train_s"] = result["train_s"]
        for name, m in summary["teacher"].items():
            tag = "teacher_enriched" if "enriched" in name else "teacher_plain"
            metrics.update({f"{tag}/{k}": v for k, v in m.items()})
        metrics.update({f"bench/{k}": v for k, v in summary["bench"].items()})
        metrics.update({f"time/{k}": v for k, v in summary["timings"].items()})
        tracker.log({k.replace("+", "plus_"): v for k, v in metrics.items()}, step=0)
        tracker.artifact(report, "report")
        tracker.artifact_json(summary, "summary.json")
        tracker.close()
    except Exception:
        tracker.close("FAILED")
        raise


def student_config(profile: str, cache: Path, mlflow_uri: str) -> DistillConfig:
    """The distillation a self-training run needs from ``profile``: one teacher and one
    ``all`` student (one seed, no ablation; the API table kept: it is seconds, and says how
    good these tools are), in a cache folder named by a hash of every setting that shapes
    the student, so runs with the same settings share it."""
    cfg = load_distill_config(profile)
    cfg = dataclasses.replace(cfg, rows=(CHECKPOINT_ROW,), student=dataclasses.replace(cfg.student, seeds=1))
    shaping = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("run", "eval", "api")}
    key = hashlib.sha1(json.dumps({**shaping, "seed": cfg.run.seed}, sort_keys=True).encode()).hexdigest()[:12]
    root = Path(cache) / "students" / f"{profile if '/' not in profile else 'custom'}-{key}"
    return dataclasses.replace(cfg, run=dataclasses.replace(
        cfg.run, dir=str(root), report=str(root / "distill.md"), mlflow_uri=mlflow_uri))


def obtain_student(profile: str, cache: Path, mlflow_uri: str, progress: bool = True) -> tuple[Path, bool]:
    """(a student dir ready for the tools, whether it was cached): the one ``student_config``
    names, distilled now unless an earlier run left it (``visual.student_dir`` empty).

    A file lock makes concurrent runs wait for one distillation rather than race; the
    distillation itself is resumable (``Distill``), so a killed run loses only its last step.
    """
    cfg = student_config(profile, cache, mlflow_uri)
    root = Path(cfg.run.dir)
    student = StudentDir(root / "student")
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".lock")):
        if student.ready_for_tools() and (root / "summary.json").is_file():
            return student.root, True
        print(f"distill: no visual.student_dir given: distilling one teacher and one student "
              f"(configs/distill/{profile}.yaml) into {root}", flush=True)
        run(cfg, progress)
    return student.root, False


def student_for_tools(visual: VisualConfig, mlflow_uri: str) -> tuple[VisualConfig, dict[str, float]]:
    """``visual`` with the student the tools load, for ``backend: student``: its
    ``student_dir`` checked (SetupError, one line, when it is not ready for the tools), or
    when empty one obtained (``obtain_student``); also what MLflow logs of it (the seconds it
    took to obtain, whether it was cached).  Other backends pass through."""
    if visual.backend != "student":
        return visual, {}
    if visual.student_dir:
        if not StudentDir(Path(visual.student_dir)).ready_for_tools():
            raise SetupError(f"visual.student_dir {visual.student_dir} is not a student ready for the tools "
                             "(student.json, proposals.pt, backend.json); leave it empty to distil one")
        return visual, {}
    start = time.perf_counter()
    path, cached = obtain_student(visual.distill, cache_dir(), mlflow_uri)
    print(f"student for the tools: {path} ({'cached' if cached else 'distilled now'})", flush=True)
    return (dataclasses.replace(visual, student_dir=str(path)),
            {"time/student_s": time.perf_counter() - start, "student/cached": float(cached)})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rayapps.distill", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="default",
                        help="profile under configs/distill/ (default, tiny, paper) or a YAML path")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("overrides", nargs="*", metavar="a.b=value", help="config overrides")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors (a model that cannot be built among them) print one line and exit 2."""
    args = _parser().parse_args(argv)

    def body() -> int:
        run(load_distill_config(args.config, args.overrides), progress=not args.no_progress)
        return 0

    return run_main("distill", body, errors=(*USER_ERRORS, ModelError))


if __name__ == "__main__":
    sys.exit(main())
