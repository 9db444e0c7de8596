"""Test-wide settings: visrep first (its DEFAULT_ENV: offline hubs, no telemetry; and its
torchvision fix before any test imports torch), and Ray's local cluster on any OS."""

import os

import visrep  # noqa: F401

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
