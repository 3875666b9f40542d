#!/usr/bin/env bash
# The issue-13 GPU run for the mma.sync family, in one call on the GPU machine (about 6 minutes): the
# mma.sync variants side by side with PyTorch SDPA (FA2, cuDNN), then compute-sanitizer memcheck and
# racecheck on the pipelined kernels, then the SASS table. Logs and tables go to $OUT (or ./out).
#   Here:  mvn -q -DskipTests test-compile && mvn -q test -Dtest=MmaSyncPtxDumpTest && ../shared/gpu/prepare
#   There: run with carry [".gpu", "target"]:  tools/gpu/mmasync-bench.sh
# Variants per PV (fp8-f16acc, fp16, fp8-f32acc): "<pv>" = the planner's default (pipelined), "<pv>-s1" =
# the single-buffered kernel of issue 3 (the before), "<pv>-q64" = 64-row tiles on 4 warps; all mma.sync
# (on sm_90 the FP8 default would be wgmma). Shapes: B=4, H=32, fp16, D 64/128, N 4k/16k, causal and not.
# Environment: BENCH_RUNS (10), BENCH_DIMS (64,128), BENCH_LENS (4k,16k), BENCH_CAUSAL (both),
# BENCH_PVS (fp8-f16acc,fp16,fp8-f32acc), BENCH_VARIANTS (default,s1,q64; also preferred and
# t<rows>x<warps>[k<keys>][s<stages>], see MmaSyncBenchMain), SKIP_SANITIZE=1, SKIP_SASS=1.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-out}
mkdir -p "$out"
cp="target/classes:target/test-classes:.gpu/lib/*"
J=(.gpu/jre/bin/java -cp "$cp")
runs=${BENCH_RUNS:-10}
dims=${BENCH_DIMS:-64,128}
lens=${BENCH_LENS:-4k,16k}
causal=${BENCH_CAUSAL:-both}
pvs=${BENCH_PVS:-fp8-f16acc,fp16,fp8-f32acc}
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$out/gpu.txt"
echo "${SAGEPTX_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}" | tee "$out/commit.txt"

stamp "ours: mma.sync variants"
timeout 240 "${J[@]}" io.sageptx.kernels.mmasync.MmaSyncBenchMain "$out" "$dims" "$lens" "$causal" "$pvs" "$runs" 3 "${BENCH_VARIANTS:-default,s1,q64}" \
  2>&1 | tee "$out/bench.log"
stamp "SDPA"
PYTHONUNBUFFERED=1 timeout 90 python3 tools/sdpa_bench.py --out "$out/sdpa.csv" --head-dims "$dims" --seq-lens "$lens" \
  --causal "$causal" --runs "$runs" 2>&1 | tee "$out/sdpa.log"
python3 tools/compare_bench.py --ours "$out/bench.csv" --sdpa "$out/sdpa.csv" --out "$out/compare.csv" \
  | tee "$out/compare.md"

if [[ -z ${SKIP_SANITIZE:-} ]]; then
  for tool in memcheck racecheck; do
    grid=small; extra=()
    [[ $tool == racecheck ]] && { grid=tiny; extra=(--racecheck-report hazard); }
    stamp "compute-sanitizer $tool (grid $grid)"
    JAVA_TOOL_OPTIONS="-Dsageptx.grid=$grid" timeout 100 compute-sanitizer --tool "$tool" --target-processes all \
      --print-limit 50 "${extra[@]}" .gpu/test --select-class io.sageptx.api.MmaSyncPipelineGpuTest \
      > "$out/sanitize-$tool.log" 2>&1
    rc=$?
    errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+ error' "$out/sanitize-$tool.log" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
    hazards=$(grep -Eo 'RACECHECK SUMMARY: [0-9]+ hazard' "$out/sanitize-$tool.log" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
    passed=$(grep -Eo '[0-9]+ tests successful' "$out/sanitize-$tool.log" | grep -Eo '^[0-9]+' | tail -1)
    failed=$(grep -Eo '[0-9]+ tests failed' "$out/sanitize-$tool.log" | grep -Eo '^[0-9]+' | tail -1)
    echo "sanitize $tool: $errors errors, $hazards hazards, tests ${passed:-?} ok / ${failed:-?} failed, exit $rc$([[ $rc == 124 ]] && echo ' TIMED OUT')" \
      | tee -a "$out/sanitize-summary.txt"
  done
fi

if [[ -z ${SKIP_SASS:-} ]]; then
  stamp "SASS table"
  timeout 60 tools/gpu/mmasync-sass.sh "$out" > "$out/sass.log" 2>&1 || echo "mmasync-sass.sh failed (see $out/sass.log)"
  head -60 "$out/mmasync-sass.md" 2>/dev/null
fi
stamp "done"
