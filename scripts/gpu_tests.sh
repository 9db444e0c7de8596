#!/usr/bin/env bash
# The `gpu` tier on a machine with CUDA: nvidia-smi, the gpu-marked tests, then the sampler and
# learner benches on the GPU.  Each step's output goes to $OUT/<step>.txt when $OUT is set.
#
#   VISREP_STACK=gpu bash scripts/venv.sh    # first, where PyPI is reachable (the CUDA stack, ~GBs)
#   bash scripts/gpu_tests.sh [pytest args]  # then; VISREP_VENV=DIR uses a venv built elsewhere
#
# Without internet the venv cannot be built here: it must exist already (a GPU-stack venv,
# made by venv.sh with VISREP_STACK=gpu).  Runs every step, exits non-zero if any failed.
# Limits (seconds): GPU_TESTS_TIMEOUT (tests, 1200), GPU_BENCH_TIMEOUT (each bench, 300);
# GPU_BENCH_MODEL: the benches' policy (smollm2, or tiny).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VISREP_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
OUT="${OUT:-}"
cd "$ROOT"
export VISREP_CACHE="${VISREP_CACHE:-$ROOT/.cache/visrep}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's code, whichever venv runs it

if [[ "$(cat "$VENV/.visrep-stamp" 2>/dev/null)" != gpu-* ]]; then
  echo "gpu_tests: $VENV is not a GPU-stack venv; building it (needs PyPI: on a machine without" \
       "internet, build it first with VISREP_STACK=gpu bash scripts/venv.sh, or set VISREP_VENV)" >&2
  VISREP_STACK=gpu VISREP_VENV="$VENV" bash "$ROOT/scripts/venv.sh"
fi

failed=()
step() {  # step NAME SECONDS CMD...: runs CMD under a timeout, its output also to $OUT/NAME.txt
  local name=$1 limit=$2 rc=0
  shift 2
  echo "== $name: $*"
  if [[ -n "$OUT" ]]; then
    mkdir -p "$OUT"
    timeout "$limit" "$@" 2>&1 | tee "$OUT/$name.txt" || rc=$?
  else
    timeout "$limit" "$@" || rc=$?
  fi
  [[ $rc -eq 0 ]] || { echo "== $name: FAILED (exit $rc)"; failed+=("$name"); }
}

step nvidia-smi 60 nvidia-smi
# Without CUDA the gpu tests would all skip and the run would look green: fail instead.
step cuda 120 "$PY" -c "import visrep, torch; assert torch.cuda.is_available(), 'torch sees no CUDA device'; \
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())"
[[ ${#failed[@]} -eq 0 ]] || { echo "gpu_tests: no usable GPU here (${failed[*]} failed): stopping" >&2; exit 1; }
step tests "${GPU_TESTS_TIMEOUT:-1200}" "$PY" -m pytest -m gpu -q -rs --durations=10 tests/gpu tests/test_hardware.py "$@"
MODEL="${GPU_BENCH_MODEL:-smollm2}"
step bench_sampler "${GPU_BENCH_TIMEOUT:-300}" "$PY" bench/sampler_throughput.py --model "$MODEL" \
  --cache-dir "$VISREP_CACHE" --hf-dtype bfloat16 --prompts 64 --n 4 --max-tokens 128
step bench_learner "${GPU_BENCH_TIMEOUT:-300}" "$PY" bench/learner_throughput.py --model "$MODEL" \
  --cache-dir "$VISREP_CACHE" --examples 64 --batch-size 16 --max-len 256 --epochs 2
rm -f /dev/shm/deepspeed_allreduce_buffer_* 2>/dev/null || true

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "gpu_tests: failed: ${failed[*]}" >&2
  exit 1
fi
echo "gpu_tests: all steps passed"
