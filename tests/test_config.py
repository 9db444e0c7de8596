"""Every shipped config loads; bad keys, types and overrides fail naming the key."""

from pathlib import Path

import pytest

from visrep.config import CONFIG_DIR, Config, ConfigError, flatten, load_config, to_dict

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
])
def test_bad_overrides_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
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
