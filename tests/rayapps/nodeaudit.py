"""What a worker node of the simulated cluster (test_multinode.py) may read: the worker-process
setup hook each Ray worker runs at start.  It installs an audit hook that refuses to open any
path under the roots its node's raylet names in ``PRIVATE`` (the head's run dir and cache: a
node of a real cluster does not have the head's disk), and records every refusal, since a
caller may swallow the error.  Each worker also leaves a marker, so a test can tell that
the hook was installed (a run it never watched would prove nothing)."""

import os
import sys
from pathlib import Path

PRIVATE = "VISREP_TEST_HEAD_ONLY"  # os.pathsep-separated roots this node must not read
NODE = "VISREP_TEST_NODE"  # the node's name, in messages
MARKERS = "audit"  # under the node's TMPDIR: installed-<pid>, refused-<pid>


def install() -> None:
    """The setup hook (``runtime_env={"worker_process_setup_hook": install}``)."""
    roots = tuple(os.path.realpath(p) for p in os.environ.get(PRIVATE, "").split(os.pathsep) if p)
    node = os.environ.get(NODE, "?")
    marks = Path(os.environ.get("TMPDIR", "/tmp")) / MARKERS
    marks.mkdir(parents=True, exist_ok=True)
    (marks / f"installed-{os.getpid()}").write_text(node)
    if not roots:
        return
    refused = marks / f"refused-{os.getpid()}"

    def hook(event: str, args: tuple) -> None:
        if event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        path = os.path.realpath(os.fsdecode(args[0]))
        if any(path == r or path.startswith(r + os.sep) for r in roots):
            with open(refused, "a") as log:  # not under a private root: no recursion
                log.write(path + "\n")
            raise PermissionError(f"{path}: on the head's disk, which node {node} does not have")

    sys.addaudithook(hook)
