"""Test-wide settings: one OpenMP thread per xdist worker, visrep first (its DEFAULT_ENV:
offline hubs, no telemetry; and its torchvision fix before any test imports torch), Ray's
local cluster on any OS, the xdist groups, and the `gpu` tier skipped where there is no CUDA."""

import os

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Before torch is imported: beside the other worker, a test process's second OpenMP thread
    # spins on a core that worker needs (2 threads with a second busy process on 2 cores: ~50x
    # slower, tests/vlm/test_proposals.py).  Ray's actors set their own (rayapps.cluster).
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import visrep  # noqa: E402, F401

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


GROUPS = ("ray", "engines")  # markers whose tests run together, on one pytest-xdist worker


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked with a ``GROUPS`` name form one xdist group (``scripts/test`` runs ``-n auto
    --dist loadgroup``), in file order: the `ray` tier shares one local cluster, and two
    clusters on a machine fight over Ray's ports (test_job_submit even stops every Ray
    process); the in-process engines keep the order they are known to share a process in
    (DeepSpeed's process group before vLLM's engine).  The `ray` tier goes first, because it
    is most of the suite's time and the other worker runs the rest beside it: its waits for
    actors and subprocesses leave a core idle about half the time."""
    if any(item.get_closest_marker("gpu") for item in items):
        import torch  # only when `gpu` tests were collected: torch's import is a second or two

        if not torch.cuda.is_available():
            skip = pytest.mark.skip(reason="gpu tier: needs CUDA (torch.cuda.is_available() is False)")
            for item in items:
                if item.get_closest_marker("gpu"):
                    item.add_marker(skip)
    for item in items:
        for group in GROUPS:
            if item.get_closest_marker(group):
                item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: item.get_closest_marker("ray") is None)
