#!/usr/bin/env bash
# Installs Debian's headless Chromium (the MLflow UI test's real browser) when it is missing.
# Run by scripts/test; needs root or passwordless sudo and apt, else says so and goes on
# (the browser test then fails under CI=true and is skipped elsewhere, naming this script).
set -euo pipefail
if command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=()
[[ $(id -u) -eq 0 ]] || SUDO=(sudo -n)
if ! command -v apt-get >/dev/null 2>&1 || ! "${SUDO[@]}" true 2>/dev/null; then
  echo "visrep: no chromium, and no apt-get with root here: the MLflow UI test will not run" >&2
  exit 0
fi
echo "visrep: installing Debian's chromium-headless-shell (the MLflow UI test's browser)" >&2
export DEBIAN_FRONTEND=noninteractive
install() { "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$1" >/dev/null 2>&1; }
# the package lists may be missing or stale on a fresh machine; older releases ship only `chromium`
install chromium-headless-shell || install chromium \
  || { "${SUDO[@]}" apt-get update -qq >/dev/null 2>&1; install chromium-headless-shell || install chromium; } \
  || echo "visrep: apt could not install chromium: the MLflow UI test will not run" >&2
