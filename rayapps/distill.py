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
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import visrep  # noqa: F401  (torchvision fix, offline hubs) before torch-based imports
import torch
import yaml

from visrep.config import CONFIG_DIR, ConfigError
from visrep.vlm.config import CHECKPOINT_ROW, ROWS, DistillConfig, load_distill_config, report_path
from visrep.vlm.data import CLASSES, ClassSplit, Crops, load_crops, split_classes
from visrep.vlm.evaluate import compare_throughput, evaluate_features
from visrep.vlm.features import cached_features, encode_crops
from visrep.vlm.models import ModelError, VLModel, create_model, load_model, save_model
from visrep.visual.student import CALIBRATION_FILE, prepare_student_dir
from visrep.vlm.student import save_student
from visrep.vlm.text import (class_prompts, ensemble, generated_descriptions, load_descriptions, pattern_prompt_ids,
                          pattern_prompts)
from visrep.vlm.train import distill_student, train_teacher
from visrep.world import build_world, build_world_from

METRIC_KEYS = ("id/zero_shot", "ood/zero_shot", "id/finetune", "ood/finetune", "id/tip", "ood/tip")


class SetupError(RuntimeError):
    """The run cannot start as asked; one-line message."""


def _hash(data: Any) -> str:
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


def resolve_path(path: str) -> Path:
    """As given if it exists (absolute or from the cwd), else relative to the repository."""
    candidate = Path(path)
    return candidate if candidate.exists() or candidate.is_absolute() else CONFIG_DIR.parent / path


class Distill:
    """One distillation job over one run directory."""

    def __init__(self, cfg: DistillConfig, progress: bool = True) -> None:
        self.cfg = cfg
        self.root = Path(cfg.run.dir).resolve()
        self.progress = progress
        self.timings: dict[str, float] = {}

    # ---- setup ------------------------------------------------------------------
    def world(self) -> Path:
        w = self.cfg.world
        if w.dir:
            root = resolve_path(w.dir)
            if not (root / "instances.json").is_file():
                raise SetupError(f"world.dir {root} has no instances.json")
            return root
        root = self.root / "world"
        build_world(root, seed=w.seed, image_size=w.image_size, min_objects=w.min_objects,
                    max_objects=w.max_objects, train_images=w.images, heldout_images=0,
                    tasks_per_image=1, retrieval_candidates=2, kinds=("detect",))
        return root

    def descriptions(self) -> dict[str, list[str]]:
        path = self.cfg.data.descriptions_file
        if not path:
            return {c: generated_descriptions(c) for c in CLASSES}
        return load_descriptions(resolve_path(path), CLASSES)

    def _teacher_key(self) -> str:
        c = self.cfg
        return _hash({"world": asdict(c.world), "data": asdict(c.data), "teacher": asdict(c.teacher),
                      "temperature": c.losses.temperature, "seed": c.run.seed})

    def teacher(self, crops: Crops, descriptions: dict[str, list[str]]) -> VLModel:
        """The frozen teacher: loaded by name, from this run's checkpoint, or trained now."""
        t = self.cfg.teacher
        if t.pretrained:
            pretrained = t.pretrained if not Path(t.pretrained).suffix else str(resolve_path(t.pretrained))
            return create_model(t.open_clip_name, pretrained).freeze()
        ckpt = self.root / "teacher" / "model"
        key = self._teacher_key()
        if (ckpt / "model.json").is_file():
            found = json.loads((ckpt / "model.json").read_text()).get("settings")
            if found != key:
                raise SetupError(f"{ckpt} holds a teacher trained with other settings; "
                                 "use a new run.dir (or remove that teacher)")
            loaded = load_model(ckpt).freeze()
            self.timings["teacher_train_s"] = float(loaded.meta.get("train_seconds", float("nan")))
            return loaded
        torch.manual_seed(self.cfg.run.seed)
        vl = create_model(t.open_clip_name)
        plain = class_prompts(CLASSES, enrich=False)
        rich = class_prompts(CLASSES, enrich=True, descriptions=descriptions)
        prompts = [p + r for p, r in zip(plain, rich)]
        mask = crops.train
        print(f"distill: training the teacher ({t.open_clip_name}) on {int(mask.sum())} crops "
              f"of {len(CLASSES)} classes", flush=True)
        caption_ids = pattern_prompt_ids(crops.labels[mask], crops.patterns[mask])
        stats = train_teacher(vl, crops.images[mask], crops.labels[mask], prompts, pattern_prompts(CLASSES),
                              caption_ids, t, self.cfg.losses.temperature, self.cfg.run.seed, self.progress)
        self.timings["teacher_train_s"] = stats.seconds
        save_model(vl, ckpt, {"settings": key, "train_seconds": stats.seconds, "final_loss": stats.final_loss})
        return vl.freeze()

    # ---- rows -------------------------------------------------------------------
    def student_row(self, row: str, teacher: VLModel, crops: Crops, split: ClassSplit,
                    t_feats: torch.Tensor, class_w: dict[bool, torch.Tensor]) -> dict[str, Any]:
        c = self.cfg
        terms, enrich = ROWS[row]
        out_file = self.root / "rows" / row.lstrip("+") / "result.json"
        key = _hash({"teacher": self._teacher_key(), "student": asdict(c.student), "losses": asdict(c.losses),
                     "eval": asdict(c.eval), "row": row, "pretrained": c.teacher.pretrained})
        save_ckpt = row == CHECKPOINT_ROW and not (self.root / "student" / "student.json").is_file()
        if out_file.is_file() and not save_ckpt:
            done = json.loads(out_file.read_text())
            if done.get("settings") == key:
                print(f"distill: row {row}: done before, skipped", flush=True)
                return done
        train_ids = torch.tensor([CLASSES.index(n) for n in split.id_classes])
        local = torch.full((len(CLASSES),), -1, dtype=torch.int64)
        local[train_ids] = torch.arange(len(train_ids))
        mask = crops.train & crops.of_classes(split.id_classes)
        weights = {k: getattr(c.losses, k) for k in terms}
        per_seed: list[dict[str, float]] = []
        train_s = eval_s = 0.0
        for i in range(c.student.seeds):  # seed i: init, batch order and augmentation; same for every row
            seed = c.run.seed + i
            torch.manual_seed(seed)
            candidate = create_model(c.student.open_clip_name)
            _copy_text_side(teacher, candidate)
            run_stats = distill_student(candidate, crops.images[mask], local[crops.labels[mask]], t_feats[mask],
                                        class_w[enrich][train_ids], weights, c.student, c.losses.temperature,
                                        c.losses.top_k, seed, self.progress, desc=f"student {row} seed {seed}")
            start = time.perf_counter()
            s_feats = encode_crops(candidate, crops.images)
            per_seed.append(evaluate_features(s_feats, crops, split, class_w[enrich], c.eval,
                                              c.losses.temperature, c.run.seed))
            train_s, eval_s = train_s + run_stats.seconds, eval_s + time.perf_counter() - start
            if i == 0:
                student, stats = candidate, run_stats  # the first seed's student is the checkpoint
        metrics = {k: sum(m[k] for m in per_seed) / len(per_seed) for k in per_seed[0]}
        result = {"row": row, "terms": sorted(terms), "enrichment": enrich, "metrics": metrics,
                  "seed_metrics": per_seed, "seeds": len(per_seed),
                  "train_s": train_s, "eval_s": eval_s, "steps": stats.steps,
                  "final_loss": stats.final_loss, "loss_parts": stats.parts, "settings": key}
        if row == CHECKPOINT_ROW:
            save_student(student, self.root / "student", {
                "row": row, "classes": list(CLASSES), "id_classes": list(split.id_classes),
                "ood_classes": list(split.ood_classes), "crop_margin": c.data.margin,
                "crop_size": c.data.crop_size, "teacher": c.teacher.open_clip_name, "metrics": per_seed[0],
                "temperature": c.losses.temperature})
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps(result, indent=1) + "\n")
        print(f"distill: row {row:13s} ID zs {metrics['id/zero_shot']:.3f}  OOD zs {metrics['ood/zero_shot']:.3f}  "
              f"(mean of {len(per_seed)} seeds, {train_s:.0f} s)", flush=True)
        return result

    # ---- the job ----------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        c = self.cfg
        t0 = time.perf_counter()
        if c.run.threads:
            torch.set_num_threads(c.run.threads)
        torch.set_flush_denormal(True)  # tiny activations would otherwise slow CPU maths many-fold
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "config.yaml").write_text(yaml.safe_dump(_plain(asdict(c)), sort_keys=False))
        world = self.world()
        crops = load_crops(world, c.data.crop_size, c.data.margin, c.data.train_fraction, c.data.split_seed)
        split = split_classes(c.data.split_seed)
        descriptions = self.descriptions()
        teacher = self.teacher(crops, descriptions)
        start = time.perf_counter()
        t_feats, hit = cached_features(teacher, crops.images, self.root / "teacher", self.progress)
        self.timings["teacher_features_s"] = time.perf_counter() - start
        class_w = {
            False: ensemble(teacher.encode_texts, class_prompts(CLASSES, enrich=False)),
            True: ensemble(teacher.encode_texts, class_prompts(CLASSES, enrich=True, descriptions=descriptions)),
        }
        teacher_rows = {
            f"teacher ({'enriched' if e else 'plain'} prompts)":
                evaluate_features(t_feats, crops, split, class_w[e], c.eval, c.losses.temperature, c.run.seed)
            for e in (False, True)}
        rows = {row: self.student_row(row, teacher, crops, split, t_feats, class_w) for row in c.rows}
        self.tools(world)
        bench = self.throughput(teacher, crops)
        api = self.api_table()
        self.timings["total_s"] = time.perf_counter() - t0
        summary = {"rows": rows, "teacher": teacher_rows, "bench": bench, "timings": self.timings,
                   "crops": {"total": len(crops.labels), "train": int(crops.train.sum())},
                   "split": asdict(split), "features_cached": hit, "api": api}
        (self.root / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        report = report_path(c)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_report(c, summary))
        self.track(summary, report)
        print(f"distill: wrote {report} and {self.root / 'student'} in {self.timings['total_s']:.0f} s", flush=True)
        return summary

    def tools(self, world: Path) -> None:
        """Make the saved student usable as ``visual.backend=student``: box proposals + calibration."""
        student_dir = self.root / "student"
        if not (student_dir / "student.json").is_file() or (student_dir / CALIBRATION_FILE).is_file():
            return
        start = time.perf_counter()
        prepare_student_dir(student_dir, world, proposal_steps=self.cfg.student.proposal_steps)
        self.timings["tools_s"] = time.perf_counter() - start

    def api_table(self) -> dict[str, str]:
        """The visual-API primitives with the saved student behind them vs the oracle, on the
        held-out scenes of the ``api.profile`` self-training world (built here)."""
        a = self.cfg.api
        student_dir = self.root / "student"
        if not a.scenes or not (student_dir / CALIBRATION_FILE).is_file():
            return {}
        from rayapps.api_accuracy import SCOPE, accuracy_table
        from visrep.config import load_config

        start = time.perf_counter()
        world = self.root / "api-world"
        build_world_from(world, load_config(a.profile, []).world)
        table, calibration = accuracy_table(student_dir, world, a.scenes)
        self.timings["api_table_s"] = time.perf_counter() - start
        return {"table": table, "calibration": calibration,
                "scope": f"the `{a.profile}` self-training world's " + SCOPE.format(scenes=a.scenes)}

    def throughput(self, teacher: VLModel, crops: Crops) -> dict[str, float]:
        student_dir = self.root / "student"
        if not (student_dir / "student.json").is_file():
            return {}
        from visrep.vlm.student import load_student

        student = load_student(student_dir)
        batch = crops.images[: self.cfg.eval.bench_batch]
        if batch.shape[0] < self.cfg.eval.bench_batch:
            batch = batch.repeat((self.cfg.eval.bench_batch + batch.shape[0] - 1) // batch.shape[0], 1, 1, 1)
        batch = batch[: self.cfg.eval.bench_batch]
        return compare_throughput(teacher.encode_images, teacher.prepare(batch),
                                  student.encode_images, student.prepare(batch))

    def track(self, summary: dict[str, Any], report: Path) -> None:
        import mlflow

        from rayapps.tracking import Tracker

        tracker = Tracker(self.cfg, self.root)  # type: ignore[arg-type]  (reads .run and to_dict(cfg))
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
            mlflow.log_dict(summary, "summary.json")
            tracker.close()
        except Exception:
            tracker.close("FAILED")
            raise


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data


def _copy_text_side(teacher: VLModel, student: VLModel) -> None:
    """Everything but the image tower, teacher → student (text tower, logit scale)."""
    if student.embed_dim != teacher.embed_dim:
        raise ModelError(f"student {student.arch} embeds in {student.embed_dim} dims, "
                         f"teacher {teacher.arch} in {teacher.embed_dim}")
    text_state = {k: v for k, v in teacher.model.state_dict().items() if not k.startswith("visual.")}
    wanted = {k for k in student.model.state_dict() if not k.startswith("visual.")}
    if set(text_state) != wanted:
        raise ModelError(f"student {student.arch}'s text side differs from teacher {teacher.arch}'s; "
                         "give the student architecture the teacher's text_cfg")
    student.model.load_state_dict(text_state, strict=False)
    student.lock_text()
    for name, p in student.model.named_parameters():
        if not name.startswith("visual."):
            p.requires_grad_(False)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def render_report(cfg: DistillConfig, summary: dict[str, Any]) -> str:
    """The ablation table (and the teacher's own numbers) as markdown."""
    head = ("| model | losses | enrichment | ID zero-shot | OOD zero-shot | ID 5-shot fine-tune | "
            "OOD 5-shot fine-tune | ID 5-shot Tip | OOD 5-shot Tip | train s |")
    lines = [
        "# Distillation: teacher → student, ID and OOD classes",
        "",
        f"Generated by `python -m rayapps.distill` (run dir `{cfg.run.dir}`); mean per-class top-1 "
        "accuracy in %, on held-out crops. ID classes are classified among the "
        f"{len(summary['split']['id_classes'])} ID classes, OOD among the "
        f"{len(summary['split']['ood_classes'])} OOD classes the student never saw. "
        f"Crops: {summary['crops']['total']} ({summary['crops']['train']} train). "
        f"Teacher `{cfg.teacher.open_clip_name}`, student `{cfg.student.open_clip_name}`, "
        f"{cfg.student.epochs} student epochs, T = {cfg.losses.temperature}, loss weights "
        f"mse {cfg.losses.mse:g}, contrastive {cfg.losses.contrastive:g}, vl-align {cfg.losses.vl_align:g} "
        f"(top-{cfg.losses.top_k}). Student rows: mean of {cfg.student.seeds} seed(s) each "
        "(seed = student init, batch order, augmentation); `train s` sums them.",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for name, m in summary["teacher"].items():
        lines.append(f"| {name} | (trained on all classes) | {'yes' if 'enriched' in name else 'no'} | "
                     + " | ".join(_pct(m[k]) for k in METRIC_KEYS) + " | "
                     + f"{summary['timings'].get('teacher_train_s', float('nan')):.0f} |")
    for name, r in summary["rows"].items():
        m = r["metrics"]
        lines.append(f"| student: {name} | {' + '.join(r['terms'])} | {'yes' if r['enrichment'] else 'no'} | "
                     + " | ".join(_pct(m[k]) for k in METRIC_KEYS) + f" | {r['train_s']:.0f} |")
    cls_row, all_row = summary["rows"].get("cls"), summary["rows"].get(CHECKPOINT_ROW)
    if cls_row and all_row:
        gap = all_row["metrics"]["ood/zero_shot"] - cls_row["metrics"]["ood/zero_shot"]
        lines += ["", f"OOD zero-shot, full loss set vs cls only: {_pct(all_row['metrics']['ood/zero_shot'])} vs "
                  f"{_pct(cls_row['metrics']['ood/zero_shot'])} ({100 * gap:+.1f} points)."]
    bench = summary["bench"]
    if bench:
        lines += ["", f"Throughput (same process, same batch of {cfg.eval.bench_batch}, interleaved): "
                  f"teacher {bench['teacher_images_per_s']:.0f} images/s, student "
                  f"{bench['student_images_per_s']:.0f} images/s: **{bench['speedup']:.1f}×** faster."]
        t_rich = summary["teacher"].get("teacher (enriched prompts)")
        if all_row and t_rich:
            keep = all_row["metrics"]["ood/zero_shot"] / max(t_rich["ood/zero_shot"], 1e-9)
            lines.append(f"The `{CHECKPOINT_ROW}` students keep {100 * keep:.0f} % of the teacher's OOD "
                         "zero-shot accuracy on average (same enriched prompts).")
            if len(all_row.get("seed_metrics", [])) > 1:
                own = all_row["seed_metrics"][0]["ood/zero_shot"]
                per = ", ".join(_pct(m["ood/zero_shot"]) for m in all_row["seed_metrics"])
                lines.append(f"Per seed OOD zero-shot of `{CHECKPOINT_ROW}`: {per}; the saved student (first seed) "
                             f"keeps {100 * own / max(t_rich['ood/zero_shot'], 1e-9):.0f} %.")
    api = summary.get("api")
    if api:
        lines += ["", "## Visual-API primitives: student backend vs oracle", "",
                  f"The `{CHECKPOINT_ROW}` student (first seed) behind the visual API, with its box proposals, "
                  f"on {api['scope']} {api['calibration']}", "", api["table"].rstrip()]
    t = summary["timings"]
    lines += ["", "Timings (s): " + ", ".join(f"{k} {v:.0f}" for k, v in t.items()) + "."]
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rayapps.distill", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="default",
                        help="profile under configs/distill/ (default, tiny, paper) or a YAML path")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("overrides", nargs="*", metavar="a.b=value", help="config overrides")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors print one line and exit 2."""
    args = _parser().parse_args(argv)
    try:
        cfg = load_distill_config(args.config, args.overrides)
        Distill(cfg, progress=not args.no_progress).run()
        return 0
    except (ConfigError, SetupError, ModelError, FileNotFoundError, ValueError) as exc:
        if os.environ.get("VISREP_DEBUG"):
            raise
        print(f"distill: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
