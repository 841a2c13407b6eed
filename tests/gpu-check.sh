#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU: builds the CUDA flavour, runs the self-test on the GPU, the
# GPU-tagged tests (model/.../GpuPathTest: float32 tokens equal the CPU's, float16's error, the KV cache on the
# GPU, memory given back on close) and the bench at 1536 with synthetic weights on the GPU, then prints one
# line per step and the GPU's name and decode rate. Exit code 0 when every step passed; 2 without a GPU.
#   tests/gpu-check.sh            (GPU_CHECK_LAYERS=N: decoder layers the bench runs, default all with 20 GB of
#                                  GPU memory or more, else 4 and extrapolated)
set -uo pipefail
cd "$(dirname "$0")/.."

LOGS=${GPU_CHECK_LOGS:-${TMPDIR:-/tmp}/convllava-gpu-check}  # not under target/: the build step cleans it
mkdir -p "$LOGS"
declare -a STEPS=()
FAILED=0
record() { # name, PASS|FAIL, detail
  STEPS+=("$(printf '%-10s %-4s %s' "$1" "$2" "$3")")
  [ "$2" = PASS ] || FAILED=1
}
summary() {
  echo
  echo "== gpu-check summary =="
  echo "GPU: ${GPU_NAME:-none}"
  for s in "${STEPS[@]}"; do echo "$s"; done
  [ -n "${RATE:-}" ] && echo "decode on the GPU: $RATE tokens/s (bench, 1536, ${BENCH_LAYERS_TEXT:-})"
  echo "logs: $LOGS"
  if [ "$FAILED" = 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL"; fi
}

# 0. a GPU, before a long build: the driver's own tool says whether there is one
if ! command -v nvidia-smi >/dev/null 2>&1; then
  record gpu FAIL "no NVIDIA GPU: nvidia-smi is not installed (no NVIDIA driver on this machine)"
  summary
  exit 2
fi
if ! GPU_NAME=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>"$LOGS/nvidia-smi.err" | head -1) \
    || [ -z "$GPU_NAME" ]; then
  record gpu FAIL "no NVIDIA GPU: nvidia-smi found none ($(head -1 "$LOGS/nvidia-smi.err"))"
  summary
  exit 2
fi
record gpu PASS "$GPU_NAME"
GPU_MIB=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1 | tr -dc 0-9)

# 1. the CUDA build (the cuda profile: DJL and a CUDA libtorch)
if mvn -B -Pcuda -DskipTests clean package >"$LOGS/build.log" 2>&1; then
  record build PASS "mvn -B -Pcuda -DskipTests clean package"
else
  record build FAIL "mvn -B -Pcuda -DskipTests clean package (see $LOGS/build.log)"
  summary
  exit 1
fi

# 2. the app's self-test on the GPU (--device gpu where the self-test takes it; else Auto, which picks the GPU)
SELF=(java -jar app/target/convllava.jar self-test)
if "${SELF[@]}" --help 2>&1 | grep -q -- '--device'; then SELF+=(--device gpu); fi
if "${SELF[@]}" >"$LOGS/self-test.log" 2>&1; then
  if grep -qiE '^device:.*(gpu|cuda)' "$LOGS/self-test.log"; then
    record self-test PASS "$(grep -iE '^device:' "$LOGS/self-test.log" | head -1 | sed 's/^device: *//')"
  else
    record self-test FAIL "passed but did not run on the GPU (see $LOGS/self-test.log)"
  fi
else
  record self-test FAIL "exit code $? (see $LOGS/self-test.log)"
fi

# 3. the GPU-tagged tests: they must run, not be skipped
if mvn -B -Pcuda -pl model test -Dconvllava.test.groups=gpu -Dconvllava.test.excludedGroups= >"$LOGS/gpu-tests.log" 2>&1; then
  REPORT=model/target/surefire-reports/TEST-ai.convllava.model.engine.GpuPathTest.xml
  RUN=$(grep -o 'tests="[0-9]*"' "$REPORT" 2>/dev/null | head -1 | tr -dc 0-9)
  SKIPPED=$(grep -o 'skipped="[0-9]*"' "$REPORT" 2>/dev/null | head -1 | tr -dc 0-9)
  if [ -n "$RUN" ] && [ "$RUN" -gt 0 ] && [ "${SKIPPED:-1}" = 0 ]; then
    record gpu-tests PASS "$RUN tests; $(grep -h 'GPU float16 vs CPU float32' "$LOGS/gpu-tests.log" | head -1 | cut -c1-160)"
  else
    record gpu-tests FAIL "tests=${RUN:-?} skipped=${SKIPPED:-?}: $(grep -h 'GPU tests skipped' "$LOGS/gpu-tests.log" | head -1)"
  fi
else
  record gpu-tests FAIL "see $LOGS/gpu-tests.log"
fi

# 4. the bench at 1536 with synthetic weights on the GPU
if [ -n "${GPU_CHECK_LAYERS:-}" ]; then LAYERS=$GPU_CHECK_LAYERS; elif [ "${GPU_MIB:-0}" -ge 20000 ]; then LAYERS=0; else LAYERS=4; fi
BENCH_LAYERS_TEXT=$([ "$LAYERS" = 0 ] && echo "32 layers" || echo "$LAYERS layers, extrapolated to 32")
if tests/bench/bench.sh --model-size 1536 --device gpu --layers "$LAYERS" --no-machine --output "$LOGS/bench-1536-gpu.json" \
    >"$LOGS/bench.txt" 2>"$LOGS/bench.log"; then
  RATE=$(grep -o '"decode_tokens_per_s" : [0-9.]*' "$LOGS/bench-1536-gpu.json" | awk '{print $3}')
  ATT=$(grep -o '"decode_tokens_per_s_attention" : [0-9.]*' "$LOGS/bench-1536-gpu.json" | awk '{print $3}')
  record bench PASS "decode $RATE tokens/s, with attention recorded $ATT tokens/s ($LOGS/bench.txt)"
else
  record bench FAIL "$(tail -1 "$LOGS/bench.log")"
fi

summary
[ "$FAILED" = 0 ]
