"""What every command line of the project shares: user errors, paths, the cache, ``main``.

Each job (``rayapps.*``, ``python -m visrep.programs``, ``python -m visrep.world``) is a
``main(argv)`` that wires library calls; the plumbing around it lives here once, so a user
error reads the same everywhere: one line on stderr, ``<prog>: error: <what and where>``,
exit status 2, and ``VISREP_DEBUG=1`` re-raises it with its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from visrep.config import CONFIG_DIR, ConfigError

REPO_DIR = CONFIG_DIR.parent


class SetupError(RuntimeError):
    """The job cannot start as asked (a mismatched run dir, a missing file); one-line message."""


class Interrupted(RuntimeError):
    """The run stopped part-way for a reason outside the code (an actor lost for good);
    what finished is kept, so the message ends by saying that a rerun resumes."""


# What a user can get wrong; anything else is a bug and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ConfigError, SetupError, FileNotFoundError, ValueError)


def resolve_path(path: str) -> Path:
    """A path from a config: as given if it exists (absolute or from the cwd), else from the repo."""
    candidate = Path(path)
    if candidate.exists() or candidate.is_absolute():
        return candidate
    return REPO_DIR / path


def cache_dir() -> Path:
    """Where converted base models and cached worlds live between runs
    (``VISREP_CACHE``, else ``~/.cache/visrep``)."""
    return Path(os.environ.get("VISREP_CACHE") or Path.home() / ".cache" / "visrep")


def run_main(prog: str, body: Callable[[], int],
             errors: tuple[type[BaseException], ...] = USER_ERRORS) -> int:
    """``body()``'s exit code; a user error (``errors``) prints one line and returns 2, an
    ``Interrupted`` run one line and 1, Ctrl-C one line and 130 (no traceback: what
    finished is kept)."""
    try:
        return body()
    except errors as exc:
        if os.environ.get("VISREP_DEBUG"):
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        if os.environ.get("VISREP_DEBUG"):
            raise
        print(f"{prog}: stopped: {exc}; rerun the same command to resume", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if os.environ.get("VISREP_DEBUG"):
            raise
        print(f"{prog}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
