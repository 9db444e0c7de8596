"""cluster.yaml validates offline against Ray's own cluster-launcher schema."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _validate(config: dict) -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(config))


def test_cluster_yaml_is_a_valid_ray_cluster_config() -> None:
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    _validate(config)
    assert "rayapps.selftrain" in (ROOT / "cluster.yaml").read_text().splitlines()[0]


def test_the_validation_can_fail() -> None:
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    config["no_such_key"] = 1
    with pytest.raises(Exception, match="no_such_key"):
        _validate(config)


def test_the_cluster_starts_with_token_auth_and_every_node_holds_the_token() -> None:
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    starts = [c for c in (*config["head_start_ray_commands"], *config["worker_start_ray_commands"]) if " start " in c]
    assert len(starts) == 2 and all("RAY_AUTH_MODE=token " in c for c in starts)
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
    assert "chmod 600 ~/.ray/auth_token" in config["setup_commands"]


def test_the_head_serves_mlflow_where_the_paper_profile_logs() -> None:
    from visrep.config import load_config

    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    server = [c for c in config["head_start_ray_commands"] if "mlflow server" in c]
    assert len(server) == 1 and not any("mlflow" in c for c in config["worker_start_ray_commands"])
    # reachable from other nodes, artifacts proxied by the server into a store on the head
    assert re.search(r"--host 0\.0\.0\.0 --port 5000 .*--serve-artifacts --artifacts-destination \S+", server[0])
    assert "/health" in server[0]  # started once: a rerun of `ray up` finds it up
    # the driver runs on the head (ray job's entrypoint), so loopback reaches the server
    assert load_config("paper").run.mlflow_uri == "http://127.0.0.1:5000"
