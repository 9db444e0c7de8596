"""The record of the session's tiny run (the ``tiny_run`` fixture of this tier's conftest)."""

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
