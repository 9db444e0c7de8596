"""The record of the session's tiny run (the ``tiny_run`` fixture of this tier's conftest)."""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TinyRun:
    """A finished run of the tiny profile: its directory, MLflow store and what it printed."""

    dir: Path
    mlflow_uri: str
    out: str

    def args(self, *extra: str) -> list[str]:
        """The command line that made it (plus ``extra`` overrides)."""
        return ["--config", "tiny", f"run.dir={self.dir}", f"run.mlflow_uri={self.mlflow_uri}", *extra]
