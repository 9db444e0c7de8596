"""Schema of a distillation job (``configs/distill/*.yaml``): frozen dataclasses.

Loaded with :func:`visrep.config.load_dataclass`, so unknown keys, wrong types and
``a.b=value`` overrides behave exactly as in the self-training profiles.  Derived values
(paths under the run directory, the ablation rows' loss switches) are functions below,
never written back into the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from visrep.config import CONFIG_DIR, ConfigError, load_dataclass, resolve_profile
from visrep.hardware import DtypeSetting

DISTILL_DIR = CONFIG_DIR / "distill"
MODELS_DIR = CONFIG_DIR / "models"

# The ablation of issue 4: row name -> (loss terms switched on, class-text enrichment).
ROWS: dict[str, tuple[frozenset[str], bool]] = {
    "cls": (frozenset({"cls"}), False),
    "+mse": (frozenset({"cls", "mse"}), False),
    "+contrastive": (frozenset({"cls", "contrastive"}), False),
    "+vl_align": (frozenset({"cls", "vl_align"}), False),
    "+enrichment": (frozenset({"cls"}), True),
    "all": (frozenset({"cls", "mse", "contrastive", "vl_align"}), True),
}
CHECKPOINT_ROW = "all"  # the row whose student is saved to <run>/student


@dataclass(frozen=True)
class RunSection:
    """Where the run lives; ``report`` empty means ``<run.dir>/distill.md``."""

    dir: str = "runs/distill"
    seed: int = 0
    mlflow_uri: str = "sqlite:///runs/mlflow.db"
    experiment: str = "visrep-distill"
    report: str = ""
    threads: int = 0  # torch threads; 0 keeps torch's default


@dataclass(frozen=True)
class WorldSection:
    """The shapes world the crops come from; ``dir`` empty builds ``<run.dir>/world``."""

    dir: str = ""
    seed: int = 0
    image_size: int = 128
    min_objects: int = 2
    max_objects: int = 5
    images: int = 1000


@dataclass(frozen=True)
class DataSection:
    """Object crops, the ID/OOD class split and the train/held-out image split."""

    crop_size: int = 32
    margin: float = 0.15
    split_seed: int = 0
    train_fraction: float = 0.7
    descriptions_file: str = ""  # JSON {class: [sentences]}; empty: generated from the world


@dataclass(frozen=True)
class TeacherSection:
    """The teacher: an open_clip name plus ``pretrained`` (tag or file) loads a real one;
    an empty ``pretrained`` trains the embedded teacher here (once; resumable)."""

    open_clip_name: str = "visrep-teacher"
    pretrained: str = ""
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    text_lr_scale: float = 1.0  # the text projection's lr = lr × this (and no weight decay)
    caption_weight: float = 1.0  # CE over the full-description captions beside the class prompts; 0: off
    weight_decay: float = 0.05
    dtype: DtypeSetting = "auto"  # bfloat16: CPU autocast during training only (weights stay fp32)


@dataclass(frozen=True)
class StudentSection:
    """The student architecture (open_clip name, text side copied from the teacher)."""

    open_clip_name: str = "visrep-student"
    proposal_steps: int = 600  # the class-agnostic box detector the student backend crops with
    seeds: int = 1  # students per ablation row (seeds run.seed, run.seed+1, ...); the table shows their mean
    epochs: int = 12
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    dtype: DtypeSetting = "float32"  # fp32 made the recorded report; auto: bf16 autocast where native


@dataclass(frozen=True)
class LossSection:
    """Weights of the four KD terms when a row switches them on, and their constants."""

    temperature: float = 0.07
    cls: float = 1.0
    mse: float = 10.0
    contrastive: float = 1.0
    vl_align: float = 1.0
    top_k: int = 10


@dataclass(frozen=True)
class EvalSection:
    """Zero-shot and few-shot evaluation."""

    shots: int = 5
    finetune_steps: int = 100
    finetune_lr: float = 1e-3
    tip_alpha: float = 1.0
    tip_beta: float = 5.5
    bench_batch: int = 256


@dataclass(frozen=True)
class ApiSection:
    """The report's table of visual-API primitives, the saved student behind them vs the oracle."""

    profile: str = "default"  # the self-training profile whose world (built in <run.dir>/api-world) is asked
    scenes: int = 30  # held-out scenes of that world; 0: no table


@dataclass(frozen=True)
class DistillConfig:
    """A whole distillation job."""

    run: RunSection = field(default_factory=RunSection)
    world: WorldSection = field(default_factory=WorldSection)
    data: DataSection = field(default_factory=DataSection)
    teacher: TeacherSection = field(default_factory=TeacherSection)
    student: StudentSection = field(default_factory=StudentSection)
    losses: LossSection = field(default_factory=LossSection)
    eval: EvalSection = field(default_factory=EvalSection)
    api: ApiSection = field(default_factory=ApiSection)
    rows: tuple[str, ...] = tuple(ROWS)


def load_distill_config(profile: str = "default", overrides: tuple[str, ...] | list[str] = ()) -> DistillConfig:
    """``default`` → configs/distill/default.yaml (or a path), then overrides, then checks."""
    cfg = load_dataclass(resolve_profile(profile, DISTILL_DIR), DistillConfig, overrides)
    unknown = [r for r in cfg.rows if r not in ROWS]
    if unknown or not cfg.rows:
        raise ConfigError(f"rows: unknown ablation rows {unknown} (known: {', '.join(ROWS)})")
    if not 0.0 < cfg.data.train_fraction < 1.0:
        raise ConfigError(f"data.train_fraction: must lie in (0, 1), got {cfg.data.train_fraction}")
    if cfg.eval.shots < 1 or cfg.losses.top_k < 1 or cfg.student.seeds < 1:
        raise ConfigError("eval.shots, losses.top_k and student.seeds must be >= 1")
    return cfg


def report_path(cfg: DistillConfig) -> Path:
    """Where the markdown table goes."""
    return Path(cfg.run.report) if cfg.run.report else Path(cfg.run.dir) / "distill.md"
