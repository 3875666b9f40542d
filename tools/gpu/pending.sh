#!/usr/bin/env bash
# Everything the 2026-12-02 session left unmeasured, in one GPU-machine call (about 9-10 minutes; a cold machine
# costs about 110 s more of device time before it starts). Run from the checkout that holds .gpu/ and target/
# (tools/gpu/prepare), with carry [".gpu", "target"]; results in $OUT/pending.tgz, a summary on stdout.
#   steps (PENDING_STEPS, default all): tests memcheck sbs decode kernels
#   tests    the whole GPU suite in three parallel groups (short auto and QuantDecodeGpuTest after its fix included)
#   memcheck compute-sanitizer memcheck of the quantized decode tests (reduced grid; MEMCHECK_CLASSES picks others)
#   racecheck compute-sanitizer racecheck (shared-memory hazards) of the decode tests (reduced grid;
#            RACECHECK_CLASSES picks others)
#   sbs      tools/side_by_side over the issue-12 grid (D 64/128, N 1k..32k, causal both): the default as users
#            get it (the short-sequence rule included), auto, and the mma.sync family
#   decode   the decode benchmark next to SDPA, then again with -Dsageptx.packedLaunch=false (host_us of both)
#   kernels  per-kernel times (ncu) of the INT8 path at D=128 1k and 4k (preprocessing after commit 5185239)
#   dkernels ncu of the decode kernels (time, DRAM bytes and throughput, occupancy, warp stalls) at the shapes
#            that miss issue 14's targets: small dense calls, the quantized cache, Lq=16
#   subset   the decode, quantized-decode, qk=auto and core GPU test classes only (a quicker check of a change
#            that every launch goes through)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-out}/pending
mkdir -p "$out"
steps=${PENDING_STEPS:-tests memcheck sbs decode kernels}
t0=$(date +%s)
stamp() { echo "[pending $(( $(date +%s) - t0 )) s] $*"; }
has() { [[ " $steps " == *" $1 "* ]]; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader > "$out/gpu.txt" 2>&1

if has tests; then
  # the whole GPU suite in three groups at once (every call now goes through AttentionLaunches), then the short-auto
  # test with the rule on (the suite runs with -Dsageptx.shortSequenceQk=int8; the test turns it on itself)
  stamp "GPU tests: the whole suite in three parallel groups"
  mapfile -t classes < <(cd target/test-classes && find . -name '*Gpu*.class' ! -name '*$*' | sed 's|^\./||; s|\.class$||; s|/|.|g' | sort)
  groups=("" "" "")
  for i in "${!classes[@]}"; do
    g=$(( i % 3 ))
    groups[$g]+="${groups[$g]:+|}${classes[$i]//./\\.}"
  done
  OUT=$out timeout 330 tools/gpu/parallel.sh 320 \
    "g1::--include-classname (${groups[0]})" "g2::--include-classname (${groups[1]})" \
    "g3::--include-classname (${groups[2]})" > "$out/tests.txt" 2>&1
  cat "$out/tests.txt"
fi

if has subset; then
  stamp "GPU tests: decode, quantized decode, qk=auto and the core classes"
  OUT=$out timeout 330 tools/gpu/parallel.sh 320 "s1::--include-classname (.*\\.DecodeGpuTest|.*QuantDecodeGpuTest)" \
    "s2::--include-classname .*QkAutoGpuTest" "s3::--include-classname .*\\.SageAttentionGpuTest" > "$out/subset.txt" 2>&1
  cat "$out/subset.txt"
fi

if has memcheck; then
  stamp "memcheck of the quantized decode tests"
  JAVA_TOOL_OPTIONS=-Dsageptx.grid=small timeout 150 compute-sanitizer --tool memcheck --target-processes all \
    --print-limit 30 .gpu/test --include-tag gpu --details=flat --include-classname "${MEMCHECK_CLASSES:-.*QuantDecodeGpuTest}" \
    > "$out/memcheck-qdecode.log" 2>&1
  echo "memcheck: rc=$? $(grep -E 'ERROR SUMMARY' "$out/memcheck-qdecode.log" | sort | uniq -c | tr '\n' ' ')" \
    "$(grep -E 'tests (successful|failed)' "$out/memcheck-qdecode.log" | tr -s ' []' ' ' | tr '\n' ' ')"
fi

if has racecheck; then
  stamp "racecheck of the decode tests"
  JAVA_TOOL_OPTIONS=-Dsageptx.grid=small timeout 200 compute-sanitizer --tool racecheck --racecheck-report hazard \
    --target-processes all --print-limit 30 .gpu/test --include-tag gpu --details=flat \
    --include-classname "${RACECHECK_CLASSES:-.*\\.DecodeGpuTest}" > "$out/racecheck.log" 2>&1
  echo "racecheck: rc=$? $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$out/racecheck.log" | sort | uniq -c | tr '\n' ' ')" \
    "$(grep -E 'tests (successful|failed)' "$out/racecheck.log" | tr -s ' []' ' ' | tr '\n' ' ')"
fi

if has sbs; then
  stamp "side by side"
  SAGEPTX_COMMIT=${SAGEPTX_COMMIT:-unknown} timeout 300 tools/side_by_side "$out/sbs" --head-dim 64,128 \
    --seq 1k,2k,4k,8k,16k,32k --causal both --runs 8 --warmup 2 \
    --variants default,default+qk=auto,fp8-f16acc,fp16 > "$out/sbs.log" 2>&1
  echo "sbs: rc=$?"
  tail -30 "$out/sbs/compare.md" 2>/dev/null
fi

if has decode; then
  stamp "decode benchmark, then with unpacked launches"
  grid="--dims 128 --heads 32/8 --batch 1,8,64 --lq 1,16 --lk 8k,32k,128k --runs 10 --warmup 3 --max-gb 40"
  OUT=$out/dec DECODE_STEPS=bench DECODE_BENCH_ARGS="$grid --append 1,64" SDPA_BENCH_ARGS="$grid" \
    timeout 200 bash tools/gpu/decode.sh > "$out/decode.log" 2>&1
  echo "decode: rc=$?"
  JAVA_TOOL_OPTIONS=-Dsageptx.packedLaunch=false timeout 120 .gpu/java io.sageptx.bench.DecodeBenchmark \
    --out "$out/decode-unpacked.csv" $grid --append 1,64 > "$out/decode-unpacked.txt" 2>&1
  echo "decode unpacked: rc=$?"
  python3 - "$out/dec/decode-sageptx.csv" "$out/decode-unpacked.csv" <<'PY' || true
import csv, sys
a = {(r['format'], r['batch'], r['lq'], r['lk']): r for r in csv.DictReader(open(sys.argv[1]))}
b = {(r['format'], r['batch'], r['lq'], r['lk']): r for r in csv.DictReader(open(sys.argv[2]))}
print('| format | B | Lq | Lk | ms | ms unpacked | host us | host us unpacked |')
print('|---|---|---|---|---|---|---|---|')
for k in a:
    if k in b:
        print(f"| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {float(a[k]['ms']):.4f} | {float(b[k]['ms']):.4f} | "
              f"{float(a[k]['host_us']):.1f} | {float(b[k]['host_us']):.1f} |")
PY
fi

if has kernels; then
  stamp "per-kernel times"
  OUT=$out/kt KT_CASES=$'--head-dim 128 --seq 1k --causal false --variants default+qk=int8\n--head-dim 128 --seq 4k --causal false --variants default' \
    timeout 150 tools/gpu/kernel-times.sh > "$out/kernel-times.txt" 2>&1
  cat "$out/kernel-times.txt"
fi

if has dkernels; then
  stamp "decode kernels under ncu"
  mkdir -p "$out/dk"
  n=0
  while read -r fmt b lq lk; do
    n=$((n + 1))
    timeout 90 ncu --target-processes all --kernel-name regex:sageptx_decode --launch-skip 2 --launch-count 2 \
      --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section MemoryWorkloadAnalysis \
      .gpu/java io.sageptx.bench.DecodeBenchmark --out "$out/dk/p$n.csv" --no-warm --runs 1 --warmup 1 --append none \
      --dims 128 --heads 32/8 --formats "$fmt" --batch "$b" --lq "$lq" --lk "$lk" > "$out/dk/ncu-$n-$fmt-b$b-q$lq-$lk.txt" 2>&1
    echo "== $fmt B=$b Lq=$lq Lk=$lk: rc=$?"
    grep -E '^  [a-z_]+.*\(|Duration|DRAM Throughput|Memory Throughput|Achieved Occupancy|Registers Per|Grid Size|Block Size|Stall|Warp Cycles Per Issued' \
      "$out/dk/ncu-$n-$fmt-b$b-q$lq-$lk.txt" | head -40
  done <<'CASES'
dense 1 1 8k
dense 1 1 128k
q8 64 1 32k
dense 64 16 32k
CASES
fi

stamp "done"
tar czf "${OUT:-out}/pending.tgz" -C "$(dirname "$out")" "$(basename "$out")"
