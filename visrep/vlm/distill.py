"""The distillation job's steps over one run directory: teacher → one student per ablation row.

:meth:`Distill.setup` makes what every row needs (the world, the object crops, the ID/OOD
class split, the frozen teacher, its cached clean-view features and the class weights);
:meth:`Distill.student_row` distils and evaluates one row (the mean of ``student.seeds``
students) and keeps the ``CHECKPOINT_ROW`` row's first student in ``<run.dir>/student``;
:meth:`Distill.write` writes ``summary.json`` and the report.  Resumable: the teacher
checkpoint, the feature cache and each finished row are kept in the run directory and
skipped on a rerun with the same settings.

The visual tools' part of the job (box proposals, calibration, the API table) lives above
this layer, in ``visrep.visual``; ``rayapps.distill`` runs the steps in order.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from visrep.cli import SetupError, resolve_path
from visrep.vlm import text as vlm_text
from visrep.vlm.config import CHECKPOINT_ROW, ROWS, DistillConfig, report_path
from visrep.vlm.data import CLASSES, ClassSplit, Crops, load_crops, split_classes
from visrep.vlm.evaluate import compare_throughput, evaluate_features, student_metrics
from visrep.vlm.features import cached_features, encode_crops
from visrep.vlm.models import VLModel, copy_text_side, create_model, load_model, save_model
from visrep.vlm.report import render_report
from visrep.vlm.student import StudentDir, load_student, save_student
from visrep.vlm.train import distill_student, train_teacher
from visrep.world import build_world

# Bumped when a row's result gains metrics, so rows finished before are recomputed.
ROW_METRICS_VERSION = 2  # 2: the imitation metrics (visrep.vlm.evaluate.imitation_metrics)


def _hash(data: Any) -> str:
    """A short, stable key of settings: a cached result is reused only under the same key."""
    return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _plain(data: Any) -> Any:
    """Tuples as lists, so the run's ``config.yaml`` is plain YAML."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data


@dataclass(frozen=True)
class Setup:
    """What every row needs, made once per run."""

    world: Path
    crops: Crops
    split: ClassSplit
    teacher: VLModel
    features: torch.Tensor  # (N, D) the teacher's clean-view crop features
    class_weights: dict[bool, torch.Tensor]  # enrichment → (C, D) class text embeddings
    features_cached: bool


class Distill:
    """One distillation job over one run directory."""

    def __init__(self, cfg: DistillConfig, progress: bool = True) -> None:
        self.cfg = cfg
        self.root = Path(cfg.run.dir).resolve()
        self.student = StudentDir(self.root / "student")
        self.progress = progress
        self.timings: dict[str, float] = {}

    @contextmanager
    def timed(self, key: str) -> Iterator[None]:
        """Record the block's seconds as ``timings[key]`` (the report and MLflow show them)."""
        start = time.perf_counter()
        yield
        self.timings[key] = time.perf_counter() - start

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
            return {c: vlm_text.generated_descriptions(c) for c in CLASSES}
        return vlm_text.load_descriptions(resolve_path(path), CLASSES)

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
        plain = vlm_text.class_prompts(CLASSES, enrich=False)
        rich = vlm_text.class_prompts(CLASSES, enrich=True, descriptions=descriptions)
        prompts = [p + r for p, r in zip(plain, rich)]
        mask = crops.train
        print(f"distill: training the teacher ({t.open_clip_name}) on {int(mask.sum())} crops "
              f"of {len(CLASSES)} classes", flush=True)
        caption_ids = vlm_text.pattern_prompt_ids(crops.labels[mask], crops.patterns[mask])
        stats = train_teacher(vl, crops.images[mask], crops.labels[mask], prompts, vlm_text.pattern_prompts(CLASSES),
                              caption_ids, t, self.cfg.losses.temperature, self.cfg.run.seed, self.progress)
        self.timings["teacher_train_s"] = stats.seconds
        save_model(vl, ckpt, {"settings": key, "train_seconds": stats.seconds, "final_loss": stats.final_loss})
        return vl.freeze()

    def setup(self) -> Setup:
        """Threads, the run dir's ``config.yaml``, then world → crops → teacher → features."""
        c = self.cfg
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
        with self.timed("teacher_features_s"):
            features, hit = cached_features(teacher, crops.images, self.root / "teacher", self.progress)
        class_weights = {
            enrich: vlm_text.ensemble(teacher.encode_texts,
                                      vlm_text.class_prompts(CLASSES, enrich=enrich, descriptions=descriptions))
            for enrich in (False, True)}
        return Setup(world, crops, split, teacher, features, class_weights, hit)

    # ---- rows -------------------------------------------------------------------
    def teacher_rows(self, s: Setup) -> dict[str, dict[str, float]]:
        """The teacher's own numbers with plain and with enriched class prompts."""
        c = self.cfg
        return {f"teacher ({'enriched' if e else 'plain'} prompts)":
                evaluate_features(s.features, s.crops, s.split, s.class_weights[e], c.eval,
                                  c.losses.temperature, c.run.seed)
                for e in (False, True)}

    def student_row(self, row: str, s: Setup) -> dict[str, Any]:
        c = self.cfg
        crops, split, class_w = s.crops, s.split, s.class_weights
        terms, enrich = ROWS[row]
        out_file = self.root / "rows" / row.lstrip("+") / "result.json"
        key = _hash({"teacher": self._teacher_key(), "student": asdict(c.student), "losses": asdict(c.losses),
                     "eval": asdict(c.eval), "row": row, "pretrained": c.teacher.pretrained,
                     "metrics": ROW_METRICS_VERSION})
        save_ckpt = row == CHECKPOINT_ROW and not self.student.has_student()
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
            copy_text_side(s.teacher, candidate)
            run_stats = distill_student(candidate, crops.images[mask], local[crops.labels[mask]], s.features[mask],
                                        class_w[enrich][train_ids], weights, c.student, c.losses.temperature,
                                        c.losses.top_k, seed, self.progress, desc=f"student {row} seed {seed}")
            start = time.perf_counter()
            s_feats = encode_crops(candidate, crops.images)
            per_seed.append(student_metrics(s_feats, s.features, crops, split, class_w[enrich], c.eval,
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
            save_student(student, self.student.root, {
                "row": row, "classes": list(CLASSES), "id_classes": list(split.id_classes),
                "ood_classes": list(split.ood_classes), "crop_margin": c.data.margin,
                "crop_size": c.data.crop_size, "teacher": c.teacher.open_clip_name, "metrics": per_seed[0],
                "distill_run": str(self.root),  # its config.yaml, teacher and crops: what re-distillation needs
                "temperature": c.losses.temperature})
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(json.dumps(result, indent=1) + "\n")
        print(f"distill: row {row:13s} ID zs {metrics['id/zero_shot']:.3f}  OOD zs {metrics['ood/zero_shot']:.3f}  "
              f"(mean of {len(per_seed)} seeds, {train_s:.0f} s)", flush=True)
        return result

    # ---- after the rows ---------------------------------------------------------
    def throughput(self, s: Setup) -> dict[str, float]:
        """Images/s of the teacher and the saved student on one batch (empty without a student)."""
        if not self.student.has_student():
            return {}
        student = load_student(self.student.root)
        size = self.cfg.eval.bench_batch
        batch = s.crops.images[:size]
        if batch.shape[0] < size:
            batch = batch.repeat((size + batch.shape[0] - 1) // batch.shape[0], 1, 1, 1)
        batch = batch[:size]
        return compare_throughput(s.teacher.encode_images, s.teacher.prepare(batch),
                                  student.encode_images, student.prepare(batch))

    def summary(self, s: Setup, teacher_rows: dict[str, dict[str, float]], rows: dict[str, dict[str, Any]],
                bench: dict[str, float], api: dict[str, str]) -> dict[str, Any]:
        """Everything the report and MLflow read, as ``summary.json`` holds it."""
        return {"rows": rows, "teacher": teacher_rows, "bench": bench, "timings": self.timings,
                "crops": {"total": len(s.crops.labels), "train": int(s.crops.train.sum())},
                "split": asdict(s.split), "features_cached": s.features_cached, "api": api}

    def write(self, summary: dict[str, Any]) -> Path:
        """``<run.dir>/summary.json`` and the markdown report (``run.report``); the report's path."""
        (self.root / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        report = report_path(self.cfg)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_report(self.cfg, summary))
        return report
