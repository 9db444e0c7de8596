"""Typed configuration: YAML profiles → frozen dataclasses, with ``a.b=value`` overrides.

Why a hand-rolled loader of ~100 lines rather than Hydra/OmegaConf: the schema is the
dataclasses below, so an unknown key or a wrong type fails with the key's full path, and
every section is a plain frozen object that actors receive on their own (each actor gets
only its section).  Derived values are functions of the config, never written back.

(Over 300 lines on purpose: every section's schema sits beside the loader, so one file
shows every key a profile may set.)
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from visrep.hardware import DtypeSetting

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
T = typing.TypeVar("T")


class ConfigError(ValueError):
    """A config file or override is invalid; the message names the key path."""


@dataclass(frozen=True)
class RunConfig:
    """Where the run lives and how long it goes."""

    dir: str = "runs/default"
    seed: int = 0
    iterations: int = 3
    mlflow_uri: str = "sqlite:///mlflow.db"
    experiment: str = "visrep-selftrain"


@dataclass(frozen=True)
class WorldConfig:
    """The embedded shapes world (or a directory of real data in the same formats).

    ``splits`` maps a dataset's split names to what the run uses them as: "train",
    "heldout" or "skip" (e.g. ``{val: heldout, testA: heldout, testB: skip}``); a split not
    named is "train" when it is called train and held out otherwise.  A real dataset is
    converted into a world dir once (``python -m visrep.world convert``), then named by ``dir``.
    """

    dir: str = ""  # empty: <run.dir>/world, generated on demand
    splits: dict[str, Literal["train", "heldout", "skip"]] = field(default_factory=dict)
    seed: int = 0
    image_size: int = 128
    min_objects: int = 2
    max_objects: int = 5
    train_images: int = 60
    heldout_images: int = 30
    tasks_per_image: int = 1  # per kind
    retrieval_candidates: int = 4
    kinds: tuple[str, ...] = ("detect", "vqa", "retrieve")


@dataclass(frozen=True)
class VisualConfig:
    """Which backend answers the visual API, and where its student comes from.

    ``student`` reads pixels through a distilled student: ``student_dir`` (a
    ``<distill run>/student``), or when empty one the job distils itself with the
    ``distill`` profile (one teacher, one student; cached, ``rayapps.distill.obtain_student``).
    ``oracle`` reads annotations; with the student it is also what ``attribute`` uses to tell
    a program's failures from the tools' (zero-reward programs are re-run under it).
    ``proposals``: where the student's boxes come from: ``network``, the proposal detector in
    the student dir (trained on the shapes world), or ``annotations``, the dataset's own boxes
    (the ground-truth-proposal setting of RefCOCO evaluation, for real images the detector
    does not apply to).  Which words the tools understand is not a setting: the scenes tell
    (shapes world or real annotations, ``visrep.visual.annotations.grammar_for``).
    """

    backend: str = "oracle"
    student_dir: str = ""  # empty with backend=student: distilled here (configs/distill/<distill>.yaml), cached
    distill: str = "default"  # the distillation profile that makes the student when student_dir is empty
    attribute: bool = True  # with backend=student: re-run zero-reward programs under the oracle
    proposals: typing.Literal["network", "annotations"] = "network"  # the student's boxes (see above)


@dataclass(frozen=True)
class ExecutorConfig:
    """Limits of one program run and the size of the worker pool."""

    timeout_s: float = 2.0
    memory_mb: int = 1024
    workers: int = 2
    max_output_chars: int = 10000
    max_tool_calls: int = 1000  # per program run; tool time counts against timeout_s too
    recycle_after: int = 500  # programs a sandbox worker serves before it is replaced
    memo_images: int = 256  # images whose tool answers the executor's memo keeps (LRU)


@dataclass(frozen=True)
class PolicyConfig:
    """The policy model: ``smollm2`` (offline wheel), ``tiny`` (random, tests) or an HF dir."""

    model: str = "smollm2"
    dtype: DtypeSetting = "auto"  # auto: bf16 where the hardware has it natively (visrep.hardware)
    max_model_len: int = 1024
    tiny_layers: int = 2
    tiny_hidden: int = 64


@dataclass(frozen=True)
class PromptConfig:
    """How a task becomes a prompt: how many seed examples and how much of the API it shows.

    The policy's prompt (``prompt:``) can be short, since fine-tuning teaches the API; the
    few-shot probe (``warm_start.probe_prompt``) shows the API and worked examples, since
    it asks whether the untrained model can write programs from the prompt alone.
    """

    few_shot: int = 0
    api_style: str = "none"  # full | signatures | none


@dataclass(frozen=True)
class SamplerConfig:
    """vLLM sampling of K programs per task."""

    k: int = 4
    temperature: float = 0.8
    # Truncation by top-k, not nucleus: on CPU vLLM's top-p sorts the 49k-token vocabulary
    # for every sequence at every step, ~30 % of all sampling time in a profiled grow phase;
    # top-k takes the k largest without a sort.  ``top_p`` 1.0 / ``top_k`` 0: off.
    top_p: float = 1.0
    top_k: int = 50
    max_tokens: int = 160
    kv_cache_gib: float = 2.0  # CPU: vLLM's KV cache, allocated (and zeroed) at every engine start
    batch_tasks: int = 32

    @property
    def greedy_batch_tasks(self) -> int:
        """Tasks per sampler call when each task gets one greedy program (evaluation, the
        few-shot baseline): ``batch_tasks`` x ``k``, so the engine decodes as many sequences
        at once as in grow (measured standalone on CPU: 24 sequences at a time decoded at
        0.65-0.75x the rate of 96; in the loop the eval phase took about the same time)."""
        return self.batch_tasks * self.k


@dataclass(frozen=True)
class LearnerConfig:
    """DeepSpeed SFT on filtered programs."""

    zero_stage: int = 0
    lr: float = 5e-5
    epochs: int = 1
    batch_size: int = 8
    max_len: int = 512
    dtype: DtypeSetting = "auto"  # bfloat16: DeepSpeed's bf16 (fp32 master weights); auto as the policy's


@dataclass(frozen=True)
class WarmStartConfig:
    """Seed programs (the paper's human corrections) used when few-shot fails, or when the
    loop's prompt is not the probe's (the probe then shows nothing of what the loop samples)."""

    seeds_file: str = "configs/seeds/programs.jsonl"
    probe_prompt: PromptConfig = field(default_factory=lambda: PromptConfig(few_shot=3, api_style="full"))
    min_solve_rate: float = 0.10
    epochs: int = 3
    # At least this many optimiser steps, epochs repeated until there are: a small seed file
    # (8 GQA programs: 3 steps in 3 epochs) left the policy writing prose, not programs.
    min_steps: int = 18
    lr: float = 1e-4
    probe_tasks: int = 32

    def epochs_for(self, examples: int, batch_size: int) -> int:
        """Epochs over ``examples`` seed programs in global batches of ``batch_size``:
        ``epochs``, or more where that would be fewer than ``min_steps`` steps."""
        per_epoch = max(1, math.ceil(examples / batch_size))
        return max(self.epochs, math.ceil(self.min_steps / per_epoch))


@dataclass(frozen=True)
class SelfTrainConfig:
    """The loop's filter: keep rewards ≥ τ, deduplicate, optionally keep seeds mixed in; and
    the corrections a person wrote after saturation, from the iteration they join."""

    reward_threshold: float = 1.0
    dedupe: bool = True
    max_per_task: int = 2
    keep_seeds: bool = True
    eval_tasks: int = 0  # 0: all held-out tasks
    corrections_file: str = ""  # JSON lines from `python -m rayapps.failures`, bodies filled in
    corrections_from: int = 0  # the first iteration whose improve trains on them (0: not used)


@dataclass(frozen=True)
class RedistillConfig:
    """The closed loop: every ``every`` iterations (0: never) the student is fine-tuned on
    the crops its tools got wrong in grow, labelled by the teacher, mixed with its original
    distillation data (``mix`` of each batch), for ``steps`` steps; the executors then load
    it.  ``control`` also spends the same steps on as many random crops, measured the same
    way and then discarded (the comparison at equal compute)."""

    every: int = 0
    steps: int = 60
    batch_size: int = 64
    lr: float = 5.0e-4
    mix: float = 0.5
    max_crops: int = 512
    control: bool = True


Role = Literal["sampler", "executor", "scorer", "learner"]  # the actor roles a run spawns


@dataclass(frozen=True)
class ResourcesConfig:
    """Actors per role and CPUs/GPUs each; read only by ``rayapps``."""

    samplers: int = 1
    executors: int = 1
    scorers: int = 1
    sampler_cpus: float = 1.0
    sampler_gpus: float = 0.0
    executor_cpus: float = 1.0
    scorer_cpus: float = 0.1
    learners: int = 1  # DeepSpeed ranks (one actor each)
    learner_cpus: float = 1.0
    learner_gpus: float = 0.0
    max_restarts: int = 2  # times Ray restarts a role actor whose process died (its batches re-run)
    # Ray custom resources each actor of a role also asks for: pins a role to the node types
    # that declare them (cluster.yaml's ``resources``), e.g. {sampler: {gpu_worker: 1}}
    custom: dict[Role, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """The whole run. Each actor receives only its own section."""

    run: RunConfig = field(default_factory=RunConfig)
    world: WorldConfig = field(default_factory=WorldConfig)
    visual: VisualConfig = field(default_factory=VisualConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    warm_start: WarmStartConfig = field(default_factory=WarmStartConfig)
    selftrain: SelfTrainConfig = field(default_factory=SelfTrainConfig)
    redistill: RedistillConfig = field(default_factory=RedistillConfig)
    resources: ResourcesConfig = field(default_factory=ResourcesConfig)


# Inclusive bounds of numeric settings (a value outside is a ConfigError naming the key).
_POSITIVE = 1e-12
RANGES: dict[str, tuple[float, float]] = {
    **{key: (0, math.inf) for key in (
        "run.iterations", "executor.max_output_chars", "executor.memo_images", "prompt.few_shot",
        "warm_start.probe_prompt.few_shot", "warm_start.epochs", "warm_start.min_steps",
        "selftrain.max_per_task", "selftrain.eval_tasks",
        "selftrain.corrections_from", "redistill.every", "resources.sampler_gpus", "resources.learner_gpus",
        "resources.max_restarts")},
    **{key: (1, math.inf) for key in (
        "world.min_objects", "world.max_objects", "world.train_images", "world.heldout_images",
        "world.tasks_per_image", "executor.workers", "executor.max_tool_calls", "executor.recycle_after",
        "sampler.k", "sampler.max_tokens", "sampler.batch_tasks", "learner.epochs",
        "learner.batch_size", "warm_start.probe_tasks", "redistill.steps", "redistill.batch_size",
        "redistill.max_crops", "resources.samplers", "resources.executors", "resources.scorers",
        "resources.learners")},
    **{key: (_POSITIVE, math.inf) for key in (
        "executor.timeout_s", "learner.lr", "warm_start.lr", "redistill.lr", "resources.sampler_cpus",
        "resources.executor_cpus", "resources.scorer_cpus", "resources.learner_cpus")},
    **{key: (0, 1) for key in ("warm_start.min_solve_rate", "selftrain.reward_threshold", "redistill.mix")},
    "world.image_size": (32, math.inf),
    "world.retrieval_candidates": (2, math.inf),
    "executor.memory_mb": (16, math.inf),
    "sampler.kv_cache_gib": (1 / 64, math.inf),  # 16 MiB
    "policy.max_model_len": (64, math.inf),
    "sampler.temperature": (0, 10),
    "sampler.top_p": (0.01, 1),
    "sampler.top_k": (0, math.inf),
    "learner.zero_stage": (0, 3),
    "learner.max_len": (16, math.inf),
}


def _coerce(value: Any, tp: Any, path: str) -> Any:
    """Check/convert ``value`` to the annotated type ``tp``; raise ConfigError naming ``path``."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {type(value).__name__}")
        return _build(tp, value, path)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        key_tp, value_tp = typing.get_args(tp)
        return {_coerce(k, key_tp, f"{path}.{k}"): _coerce(v, value_tp, f"{path}.{k}") for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        (item_tp, _) = typing.get_args(tp)
        return tuple(_coerce(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return _coerce(value, option, path)
            except ConfigError:
                continue
        raise ConfigError(f"{path}: {value!r} matches none of {tp}")
    if origin is typing.Literal:
        options = typing.get_args(tp)
        if not any(type(value) is type(o) and value == o for o in options):
            raise ConfigError(f"{path}: expected one of {', '.join(map(str, options))}, got {value!r}")
        return value
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"{path}: expected null, got {value!r}")
        return None
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true/false, got {value!r}")
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if tp in (int, float, str) and not (isinstance(value, tp) and not isinstance(value, bool)):
        hint = " (YAML reads yes/no/on/off/true/false as booleans: quote it)" if tp is str and isinstance(
            value, bool) else ""
        if tp is float and isinstance(value, str) and _is_number(value):
            hint = " (YAML reads 1e-2 as text: write 0.01 or 1.0e-2)"
        raise ConfigError(f"{path}: expected {tp.__name__}, got {value!r}{hint}")
    if path in RANGES and isinstance(value, (int, float)):
        low, high = RANGES[path]
        if not low <= value <= high:
            bound = "> 0" if low == _POSITIVE else f"≥ {low}" if high == math.inf else f"between {low} and {high}"
            raise ConfigError(f"{path}: must be {bound}, got {value!r}")
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _build(cls: type, data: dict[str, Any], path: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            where = f"{path}.{key}" if path else key
            raise ConfigError(f"unknown config key '{where}' (known: {', '.join(sorted(names))})")
    defaults = cls()
    kwargs = {}
    for key, value in data.items():
        where = f"{path}.{key}" if path else key
        if dataclasses.is_dataclass(hints[key]) and isinstance(value, dict):
            # A partial section keeps the field's own defaults for the keys it leaves out.
            value = {**dataclasses.asdict(getattr(defaults, key)), **value}
        kwargs[key] = _coerce(value, hints[key], where)
    return cls(**kwargs)


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"override '{text}' is not of the form a.b=value")
    key, raw = text.split("=", 1)
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override '{text}' has an empty key")
    return key.split("."), yaml.safe_load(raw) if raw != "" else ""


def _merge(data: dict[str, Any], keys: list[str], value: Any) -> None:
    node = data
    for i, key in enumerate(keys[:-1]):
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override '{'.'.join(keys)}': '{'.'.join(keys[:i + 1])}' is not a section")
        node = child
    node[keys[-1]] = value


def resolve_profile(name_or_path: str, folder: Path = CONFIG_DIR) -> Path:
    """``default`` → <folder>/default.yaml; anything with a suffix or slash is a path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml") and "/" not in name_or_path:
        path = folder / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    return path


def load_dataclass(path: Path, schema: type[T], overrides: typing.Sequence[str] = ()) -> T:
    """Load a YAML file into the frozen dataclass ``schema``, after ``a.b=value`` overrides.

    Shared by every job's config (self-training here, distillation in ``visrep.vlm``), so
    all of them report unknown keys and wrong types the same way.
    """
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    for text in overrides:
        keys, value = _parse_override(text)
        _merge(data, keys, value)
    return _build(schema, data, "")


def load_config(profile: str = "default", overrides: typing.Sequence[str] = ()) -> Config:
    """Load a self-training profile, apply ``a.b=value`` overrides, validate against the schema."""
    return load_dataclass(resolve_profile(profile), Config, overrides)


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain nested dict (for MLflow params and the run directory's config.yaml), with the
    password of any URL in it (``run.mlflow_uri`` may carry one) replaced by ``***``: both
    are read by people other than the run's owner."""
    return _redacted(dataclasses.asdict(cfg))


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, str) and "@" in value and "://" in value:
        return redact_url(value)
    return value


def redact_url(text: str) -> str:
    """``scheme://user:secret@host/...`` -> ``scheme://user:***@host/...`` (else unchanged)."""
    try:
        parts = urllib.parse.urlsplit(text)
        password = parts.password
    except ValueError:
        return text
    if password is None:
        return text
    host = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (MLflow params are flat)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
