#!/usr/bin/env bash
# What the twelfth session (2026-12-03) left unrun on a GPU, in one GPU-machine call of about 6-7 minutes (a cold
# machine costs about 110 s more). Run from the checkout after tools/gpu/prepare, with carry
# [".gpu", "target/classes", "target/test-classes"]; logs and CSVs in $OUT/next-call.tgz, a summary on stdout.
#   1. the warp-specialized kernels with 128-key blocks (refused unless -Dsageptx.unverified.wsK128=true,
#      MmaKind.WS_K128_VERIFIED): WgmmaWsGpuTest.k128*, then memcheck and racecheck of it on the sanitizer grid
#   2. the kernel cache after the single-JIT miss and the PTX-image entries without module.cubin: KernelCacheGpuTest
#   3. ws / wspp with 128-key blocks against the default at D 64 and 96 (4k, 16k; causal both)
#   4. ncu of the default (128-key serial) kernel at D=128 4k: warp states, scheduler, pipes, occupancy
# If 1 passes and 3 shows a win: set MmaKind.WS_K128_VERIFIED = true (the tuner then offers them), record the run.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-out}/next-call
mkdir -p "$out"
pack() { (cd "$out/.." && tar czf next-call.tgz next-call); }
prop="-Dsageptx.unverified.wsK128=true"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader > "$out/gpu.txt" 2>&1

JAVA_TOOL_OPTIONS="$prop" timeout 120 .gpu/test --include-tag gpu --details=tree --include-classname '.*WgmmaWsGpuTest' \
  --include-methodname '.*k128.*' > "$out/ws-k128.log" 2>&1
echo "ws k128 tests: rc=$? $(grep -E 'tests (successful|failed)' "$out/ws-k128.log" | tr -s ' ' | tr '\n' ' ')"
for tool in memcheck racecheck; do
  grid=small; extra=(); [[ $tool == racecheck ]] && { grid=tiny; extra=(--racecheck-report hazard); }
  JAVA_TOOL_OPTIONS="$prop -Dsageptx.grid=$grid" timeout 100 compute-sanitizer --tool $tool --target-processes all \
    --print-limit 20 "${extra[@]}" .gpu/test --include-tag gpu --details=flat --include-classname '.*WgmmaWsGpuTest' \
    --include-methodname '.*k128.*' > "$out/ws-k128-$tool.log" 2>&1
  echo "ws k128 $tool: rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$out/ws-k128-$tool.log" | sort | uniq -c | tr '\n' ' ')"
done
timeout 90 .gpu/test --include-tag gpu --details=tree --include-classname '.*KernelCacheGpuTest' > "$out/cache.log" 2>&1
echo "cache tests: rc=$? $(grep -E 'tests (successful|failed)' "$out/cache.log" | tr -s ' ' | tr '\n' ' ')"
pack

JAVA_TOOL_OPTIONS="$prop" timeout 120 .gpu/sageptx bench --head-dim 64,96 --seq 4k,16k --causal both \
  --variants default,wgmma-ws-fp8-f16acc+k=128,wgmma-wspp-fp8-f16acc+k=128,wgmma-wspp-fp8-f16acc --runs 5 --warmup 2 \
  --csv "$out/bench" > "$out/bench.txt" 2>&1
echo "bench: rc=$?"
grep -E '^(fp16|bf16)' "$out/bench.txt" | awk '{print $2, $3, $4, $5, $9, $10}'
pack

timeout 90 ncu --kernel-name "regex:wgmma$" --launch-skip 5 --launch-count 1 --section WarpStateStats \
  --section SchedulerStats --section ComputeWorkloadAnalysis --section Occupancy --section SourceCounters \
  -o "$out/prof" .gpu/java io.sageptx.cli.Main bench --head-dim 128 --seq 4k --variants default --runs 1 --warmup 1 \
  > "$out/ncu.log" 2>&1
echo "ncu: rc=$?"
ncu -i "$out/prof.ncu-rep" --page details --csv > "$out/prof-details.csv" 2>/dev/null
ncu -i "$out/prof.ncu-rep" --page source --csv --print-source sass > "$out/prof-sass.csv" 2>/dev/null
pack
echo "results: $out/../next-call.tgz"
