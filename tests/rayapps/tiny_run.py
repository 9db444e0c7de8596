"""The record of the session's tiny run (the ``tiny_run`` fixture of this tier's conftest),
and the tiny policies this tier's fixtures fine-tune."""

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TinyRun:
    """A finished run of the tiny profile: its directory, MLflow store and what it printed."""

    dir: Path
    mlflow_uri: str
    out: str
    overrides: tuple[str, ...] = ()  # beside run.dir and run.mlflow_uri

    def args(self, *extra: str) -> list[str]:
        """The command line that made it (plus ``extra`` overrides)."""
        return ["--config", "tiny", f"run.dir={self.dir}", f"run.mlflow_uri={self.mlflow_uri}",
                *self.overrides, *extra]

    def copy(self, dest: Path, name: str = "run") -> "TinyRun":
        """The run (as ``dest/name``) and its MLflow store copied under ``dest``, for a test
        that goes on with it (resumes, extends, re-distils) without changing what other
        tests read."""
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.dir, dest / name, symlinks=True)
        shutil.copy2(self.mlflow_uri.removeprefix("sqlite:///"), dest / "mlflow.db")
        return TinyRun(dest / name, f"sqlite:///{dest}/mlflow.db", self.out, self.overrides)


def fine_tuned(pairs: list[tuple[str, str]], epochs: int, out: Path) -> Path:
    """The tiny policy fine-tuned on ``pairs`` (lr 1e-2) the loop's way, by its learner group
    on the running Ray cluster, written as an HF checkpoint at ``out``."""
    from rayapps.learners import LearnerGroup
    from visrep.cli import cache_dir
    from visrep.config import load_config
    from visrep.policy.models import resolve_model

    cfg = load_config("tiny")
    group = LearnerGroup(cfg, resolve_model(cfg.policy, cache_dir()))
    try:
        group.train(pairs, epochs, 1e-2, 0)
        return group.save(out)
    finally:
        group.kill()
