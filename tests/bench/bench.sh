#!/usr/bin/env bash
# Runs the benchmark (the bench module's convllava-bench.jar: a full-size synthetic ConvLLaVA through the
# session API the app uses) with the settings the numbers in docs/bench/ were measured with.
#   tests/bench/bench.sh --model-size 1536 --layers 4 --compare-pytorch --output docs/bench/result.json
# Builds the benchmark jar if it is missing; with --compare-pytorch installs Debian's python3-torch (and
# OpenBLAS: Debian's torch otherwise runs on the reference BLAS, ~10x slower) when torch is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

JAR=bench/target/convllava-bench.jar
if [ ! -f "$JAR" ]; then
  mvn -B -q -pl bench -am package -DskipTests
fi

PYTHON=/usr/bin/python3   # Debian's; a pyenv python3 on PATH usually has no torch
for a in "$@"; do
  if [ "$a" = "--compare-pytorch" ]; then
    if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
      echo "installing python3-torch (Debian) for the PyTorch reference" >&2
      apt-get install -y python3-torch libopenblas0-pthread >&2
    fi
  fi
done

# glibc malloc: keep freed memory (no mmap for big temporaries, no trimming); otherwise every
# >32 MB temporary is page-faulted in again and large ops run ~6x slower
export GLIBC_TUNABLES=glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184
# libtorch's OpenMP workers sleep after each op instead of spinning: the Java mat-vec kernels of the
# 8-bit and 4-bit formats that run between libtorch's ops get both cores (as the app sets it, app/.../Main)
export OMP_WAIT_POLICY=PASSIVE

# jdk.incubator.vector: the Java float16 kernel for prefills of 3 to 80 new tokens (model/.../nn/HalfMatmul)
# -XX:LoopUnrollLimit=40: the float16 kernel 25-35% faster (see model/.../nn/JitOptions)
# -XX:MaxRAMPercentage=60: 8-bit and 4-bit weights live on the Java heap (the JVM default is a quarter of RAM);
# Max/MinHeapFreeRatio: after the load's collection the heap shrinks to what it holds (as the app's launcher)
# UseSerialGC: no G1 bookkeeping beside a heap of weight arrays (as the app's launcher, app/.../Main.GC)
# MaxNewSize=64m: the young generation kept from touching RAM the weights do not need (app/.../Main.MAX_NEW_SIZE)
# -ShrinkHeapInSteps: after the load the heap shrinks to what the model holds at once, not over four collections (Main.SHRINK_AT_ONCE)
exec java --add-modules jdk.incubator.vector -XX:LoopUnrollLimit=40 -XX:MaxRAMPercentage=60 -XX:MaxHeapFreeRatio=30 -XX:MinHeapFreeRatio=10 -XX:+UseSerialGC -XX:MaxNewSize=64m -XX:-ShrinkHeapInSteps -Dai.djl.offline=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -jar "$JAR" --python "$PYTHON" "$@"
