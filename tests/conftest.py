"""Test-wide settings: visrep first (its DEFAULT_ENV: offline hubs, no telemetry; and its
torchvision fix before any test imports torch), Ray's local cluster on any OS, and the
`ray` tier kept on one pytest-xdist worker."""

import os

import pytest

import visrep  # noqa: F401

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `ray` tier first and as one xdist group (``scripts/test`` runs ``-n 2 --dist
    loadgroup``): its tests share one local cluster, and two clusters on a machine fight over
    Ray's ports (test_job_submit even stops every Ray process).  First, because it is most of
    the suite's time: the other worker runs the rest beside it.  Their waits for actors and
    subprocesses leave a core idle about half the time."""
    for item in items:
        if item.get_closest_marker("ray"):
            item.add_marker(pytest.mark.xdist_group("ray"))
    items.sort(key=lambda item: item.get_closest_marker("ray") is None)
