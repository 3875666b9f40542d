#!/usr/bin/env bash
# The issue-4 demonstration on the GPU machine, from a clean cache folder (run from the folder that
# holds .gpu/ and target/): info, warmup (cold) then a second process (warm, from disk), autotune of
# one key, verify, cache list/verify, a corrupted entry rebuilt, and the GPU tests of the cache and tuner.
# Logs go to $OUT (or ./out).
set -uo pipefail
out=${OUT:-out}
mkdir -p "$out"
export SAGEPTX_CACHE_DIR=${SAGEPTX_CACHE_DIR:-/tmp/sageptx-demo-cache}
rm -rf "$SAGEPTX_CACHE_DIR"
J() {
  echo; echo "\$ sageptx $*"
  local t0=$EPOCHREALTIME
  .gpu/java io.sageptx.cli.Main "$@"
  local rc=$?
  echo "(exit $rc, $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s wall, JVM start included)"
}
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  J info
  J warmup --device 0 --dtype fp16
  J warmup --dtype fp16
  J autotune --head-dim 128 --dtype fp16 --seq 4096 --reps 8
  J warmup --head-dim 128 --dtype fp16 --causal false --tuned-only
  J verify --head-dim 64,128 --dtype fp16
  J cache list
  J cache verify
  first=$(find "$SAGEPTX_CACHE_DIR/kernels" -name module.cubin | head -1)
  echo; echo "first bytes of a cached module.cubin (an ELF cubin starts with 7f 45 4c 46):"; head -c 4 "$first" | od -An -tx1
  victim=$(find "$SAGEPTX_CACHE_DIR/kernels" -name module.cubin | head -1)
  echo; echo "corrupting $victim (one byte flipped)"
  printf '\xff' | dd of="$victim" bs=1 seek=100 count=1 conv=notrunc 2>/dev/null
  J cache verify
  J warmup --dtype fp16
  J cache verify
  J info
  J autotune --bogus-option
  J warmup --device 7
} 2>&1 | tee "$out/cli.txt"
.gpu/test --include-classname '.*(KernelCacheGpuTest|AutotuneGpuTest)' 2>&1 | tee "$out/gpu-tests.txt"
