"""Every shipped config loads; bad keys, types and overrides fail naming the key."""

from pathlib import Path

import pytest

from visrep.config import CONFIG_DIR, RANGES, Config, ConfigError, flatten, load_config, redact_url, to_dict

PROFILES = sorted(p for p in CONFIG_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_every_profile_loads_and_documents_its_command(path: Path) -> None:
    cfg = load_config(str(path))
    assert isinstance(cfg, Config)
    first = path.read_text().splitlines()[0]
    assert first.startswith("# ") and "python -m rayapps." in first


def test_profiles_are_the_three_of_the_design() -> None:
    assert {p.stem for p in PROFILES} >= {"default", "tiny", "paper"}


def test_overrides_apply_with_yaml_types() -> None:
    cfg = load_config("tiny", ["sampler.k=7", "learner.dtype=bfloat16", "world.kinds=[vqa]", "run.dir=/tmp/x"])
    assert cfg.sampler.k == 7 and cfg.learner.dtype == "bfloat16"
    assert cfg.world.kinds == ("vqa",) and cfg.run.dir == "/tmp/x"


def test_dtypes_are_auto_except_in_tiny() -> None:
    """default/paper pick the dtype from the hardware (visrep.hardware); tiny stays fp32 for tests."""
    for profile in ("default", "paper"):
        cfg = load_config(profile)
        assert (cfg.policy.dtype, cfg.learner.dtype) == ("auto", "auto")
    tiny = load_config("tiny")
    assert (tiny.policy.dtype, tiny.learner.dtype) == ("float32", "float32")


def test_int_is_accepted_for_float() -> None:
    assert load_config("tiny", ["sampler.temperature=1"]).sampler.temperature == 1.0


@pytest.mark.parametrize("override, message", [
    ("sampler.kk=3", "unknown config key 'sampler.kk'"),
    ("nosuch.k=3", "unknown config key 'nosuch'"),
    ("sampler.k=three", "sampler.k: expected int"),
    ("selftrain.dedupe=1", "selftrain.dedupe: expected true/false"),
    ("learner.dtype=float16", "learner.dtype: expected one of auto, bfloat16, float32, got 'float16'"),
    ("policy.dtype=true", "policy.dtype: expected one of auto, bfloat16, float32, got True"),
    ("sampler=3", "sampler: expected a mapping"),
    ("sampler.k", "not of the form a.b=value"),
    ("sampler.k=0", "sampler.k: must be ≥ 1, got 0"),
    ("sampler.temperature=-0.5", "sampler.temperature: must be between 0 and 10, got -0.5"),
    ("sampler.top_p=0", "sampler.top_p: must be between 0.01 and 1, got 0.0"),
    ("sampler.batch_tasks=0", "sampler.batch_tasks: must be ≥ 1, got 0"),
    ("resources.samplers=0", "resources.samplers: must be ≥ 1, got 0"),
    ("resources.executor_cpus=0", "resources.executor_cpus: must be > 0, got 0.0"),
    ("executor.timeout_s=-1", "executor.timeout_s: must be > 0, got -1.0"),
    ("selftrain.reward_threshold=2", "selftrain.reward_threshold: must be between 0 and 1, got 2.0"),
    ("warm_start.probe_prompt.few_shot=-1", "warm_start.probe_prompt.few_shot: must be ≥ 0, got -1"),
    ("run.experiment=yes", "run.experiment: expected str, got True (YAML reads yes/no"),
])
def test_bad_overrides_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)")):
        load_config("tiny", [override])


def test_unknown_key_in_file_names_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("# python -m rayapps.selftrain\nexecutor:\n  timeout: 3\n")
    with pytest.raises(ConfigError, match=r"executor\.timeout"):
        load_config(str(bad))


def test_missing_profile_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("no-such-profile")


def test_configs_are_frozen_and_flatten() -> None:
    cfg = load_config("default")
    with pytest.raises(AttributeError):
        cfg.sampler.k = 3  # type: ignore[misc]
    flat = flatten(to_dict(cfg))
    assert flat["sampler.k"] == cfg.sampler.k and flat["policy.model"] == "smollm2"


def test_partial_nested_section_keeps_field_defaults(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("# python -m rayapps.selftrain\nwarm_start:\n  epochs: 2\n")
    cfg = load_config(str(path), ["warm_start.probe_prompt.few_shot=2"])
    assert cfg.warm_start.probe_prompt.few_shot == 2
    assert cfg.warm_start.probe_prompt.api_style == "full"  # the field's default, not the class's


def test_a_password_in_a_url_never_reaches_params_or_the_run_dir() -> None:
    uri = "https://alice:hunter2@mlflow.example.org:5000/api"
    cfg = load_config("tiny", [f"run.mlflow_uri={uri}"])
    assert cfg.run.mlflow_uri == uri  # the run itself connects with it
    written = flatten(to_dict(cfg))
    assert written["run.mlflow_uri"] == "https://alice:***@mlflow.example.org:5000/api"
    assert "hunter2" not in repr(written)
    for plain in ("sqlite:///runs/mlflow.db", "https://mlflow.example.org", "user@host", "a://b@c"):
        assert redact_url(plain) == plain


def test_every_range_names_a_numeric_setting_of_the_schema() -> None:
    flat = flatten(to_dict(load_config("default")))
    assert not [key for key in RANGES if not isinstance(flat.get(key), (int, float))]
    for profile in ("default", "tiny", "paper"):  # the shipped values are inside them
        load_config(profile)
