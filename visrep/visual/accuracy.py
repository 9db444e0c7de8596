"""Visual-API primitive accuracy: the student backend vs the oracle on held-out scenes,
split by in-distribution and OOD classes.

Both backends are asked the same questions about the held-out scenes, whose answers come
from the scene annotations:

- find (recall / precision at IoU 0.5), exists, count: the class phrase "{colour} {shape}"
  of each class present, plus two absent classes per scene;
- verify_property: each object's patch, its shape, its true colour/pattern and a wrong one;
- best_text_match: each object's patch against the 8 colours, and against the 8 shapes;
- simple_query: colour/shape/pattern/size of the object in each object's patch;
- image_text_score: object top-1 (the class phrase scores highest on an object of that
  class, among a scene's objects) and description retrieval top-1 (each object's full
  description, "striped red star", against the held-out images, where exactly one image has
  such an object: that one scores highest).

A measurement counts towards OOD when its class is
in the student's OOD split, else ID.  ``python -m rayapps.api_accuracy`` writes the table
for any student dir; ``rayapps.distill`` puts it in its report.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from pathlib import Path

from visrep.visual.backend import VisualBackend
from visrep.visual.calibration import prepare_student_dir
from visrep.visual.oracle import OracleBackend
from visrep.visual.student import load_student_backend
from visrep.vlm.data import ClassSplit, split_classes
from visrep.vlm.proposals import match_count
from visrep.vlm.student import StudentDir
from visrep.world import load_scenes
from visrep.world.records import COLORS, PATTERNS, SHAPES, Scene

GROUPS = ("ID", "OOD")

METRICS = (
    "find recall@0.5", "find precision@0.5", "exists", "count", "verify_property",
    "best_text_match (colour)", "best_text_match (shape)", "simple_query (attribute)",
    "image_text_score (object top-1)", "image_text_score (description retrieval top-1)",
)

# How a table's cells read; the caller formats in the scene limit.
SCOPE = ("at most {scenes} held-out scenes; each cell is the fraction right "
         "(find: recall / precision at IoU 0.5).")


class _Tally:
    """Sums per (primitive, backend, group): numerators and denominators."""

    def __init__(self) -> None:
        self.num: dict[tuple[str, str, str], float] = defaultdict(float)
        self.den: dict[tuple[str, str, str], float] = defaultdict(float)

    def add(self, metric: str, backend: str, group: str, num: float, den: float = 1.0) -> None:
        for g in (group, "all"):
            self.num[metric, backend, g] += num
            self.den[metric, backend, g] += den

    def value(self, metric: str, backend: str, group: str) -> str:
        den = self.den.get((metric, backend, group), 0.0)
        return f"{self.num[metric, backend, group] / den:.3f}" if den else "–"

    def count(self, metric: str, group: str) -> int:
        return int(self.den.get((metric, "oracle", group), 0))


def class_split(student_dir: Path, seed: int) -> ClassSplit:
    """The student's split as its ``student.json`` recorded it, else ``split_classes(seed)``."""
    meta_path = StudentDir(Path(student_dir)).meta
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("id_classes") and meta.get("ood_classes"):
            return ClassSplit(tuple(meta["id_classes"]), tuple(meta["ood_classes"]))
        seed = int(meta.get("split_seed", seed))
    return split_classes(seed)


def _group(split: ClassSplit, class_name: str) -> str:
    return "OOD" if class_name in split.ood_classes else "ID"


def _heldout_scenes(world: Path, scenes: dict[str, Scene], limit: int) -> list[Scene]:
    ids = sorted(i for i in scenes if i.startswith("heldout_") and "_neg" not in i)
    return [scenes[i] for i in ids[:limit] if scenes[i].objects]


def evaluate(world: Path, backends: dict[str, VisualBackend], split: ClassSplit,
             scene_limit: int = 30, seed: int = 0) -> _Tally:
    """Ask every backend the questions of the module docstring; return the tallies."""
    scenes = load_scenes(world)
    tally = _Tally()
    rng = random.Random(f"api-accuracy:{seed}")
    all_classes = [f"{c} {s}" for c in COLORS for s in SHAPES]
    for scene in _heldout_scenes(world, scenes, scene_limit):
        whole = (0.0, 0.0, float(scene.width), float(scene.height))
        present = sorted({o.class_name for o in scene.objects})
        absent = rng.sample([c for c in all_classes if c not in present], 2)
        for cls in present + absent:
            gt = [o.box for o in scene.objects if o.class_name == cls]
            g = _group(split, cls)
            for name, b in backends.items():
                pred = b.find(scene.image_id, whole, cls)
                hits = match_count(pred, gt)
                tally.add("find recall@0.5", name, g, hits, len(gt))
                tally.add("find precision@0.5", name, g, hits, len(pred))
                tally.add("exists", name, g, float(bool(pred) == bool(gt)))
                tally.add("count", name, g, float(len(pred) == len(gt)))
        for obj in scene.objects:
            g = _group(split, obj.class_name)
            wrong_color = rng.choice([c for c in COLORS if c != obj.color])
            wrong_pattern = rng.choice([p for p in PATTERNS if p != obj.pattern])
            for name, b in backends.items():
                for prop, truth in ((obj.color, True), (wrong_color, False),
                                    (obj.pattern, True), (wrong_pattern, False)):
                    said = b.verify_property(scene.image_id, obj.box, obj.shape, prop)
                    tally.add("verify_property", name, g, float(said == truth))
                tally.add("best_text_match (colour)", name, g,
                          float(b.best_text_match(scene.image_id, obj.box, list(COLORS)) == obj.color))
                tally.add("best_text_match (shape)", name, g,
                          float(b.best_text_match(scene.image_id, obj.box, list(SHAPES)) == obj.shape))
                for attr in ("color", "shape", "pattern", "size"):
                    answer = b.simple_query(scene.image_id, obj.box, f"What {attr} is the object?")
                    tally.add("simple_query (attribute)", name, g, float(answer == getattr(obj, attr)))
                if len(scene.objects) >= 2:
                    scores = [b.image_text_score(scene.image_id, o.box, obj.class_name) for o in scene.objects]
                    best = scene.objects[max(range(len(scores)), key=lambda k: scores[k])]
                    tally.add("image_text_score (object top-1)", name, g,
                              float(best.class_name == obj.class_name))
    candidates = _heldout_scenes(world, scenes, scene_limit)
    for obj in (o for c in candidates for o in c.objects):
        phrase = f"{obj.pattern} {obj.class_name}"
        holds = [any(o.class_name == obj.class_name and o.pattern == obj.pattern for o in c.objects)
                 for c in candidates]
        if holds.count(True) != 1 or len(candidates) < 2:
            continue
        for name, b in backends.items():
            scores = [b.image_text_score(c.image_id, (0.0, 0.0, float(c.width), float(c.height)), phrase)
                      for c in candidates]
            pick = max(range(len(scores)), key=lambda k: scores[k])
            tally.add("image_text_score (description retrieval top-1)", name,
                      _group(split, obj.class_name), float(holds[pick]))
    return tally


def markdown(tally: _Tally) -> str:
    """The table: one row per primitive, student and oracle for ID, OOD and all."""
    lines = ["| primitive | student ID | student OOD | student all | oracle ID | oracle OOD | n ID / OOD |",
             "|---|---|---|---|---|---|---|"]
    for m in METRICS:
        cells = [tally.value(m, "student", g) for g in (*GROUPS, "all")]
        cells += [tally.value(m, "oracle", g) for g in GROUPS]
        lines.append(f"| {m} | {' | '.join(cells)} | {tally.count(m, 'ID')} / {tally.count(m, 'OOD')} |")
    return "\n".join(lines) + "\n"


def accuracy_table(student_dir: Path, world: Path, scenes: int, split_seed: int = 0,
                   proposal_steps: int = 600, recalibrate: bool = False) -> tuple[str, str]:
    """(markdown table, calibration line) of the student backend vs the oracle on ``world``'s
    held-out scenes; prepares the student dir's detector and calibration when missing."""
    student_dir = Path(student_dir)
    if recalibrate or not StudentDir(student_dir).ready_for_tools():
        start = time.monotonic()
        calibration = prepare_student_dir(student_dir, world, proposal_steps=proposal_steps)
        print(f"prepared {student_dir}: {calibration} ({time.monotonic() - start:.0f} s)", flush=True)
    student = load_student_backend(student_dir, world / "images")
    backends: dict[str, VisualBackend] = {"oracle": OracleBackend(load_scenes(world)), "student": student}
    tally = evaluate(world, backends, class_split(student_dir, split_seed), scenes)
    return markdown(tally), f"Student calibration (fitted on train scenes): {student.calibration}."
