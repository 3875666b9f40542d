#!/usr/bin/env bash
# Issue 14 on the GPU machine, in one call (< 6 minutes): the decode GPU tests, compute-sanitizer memcheck on
# them (reduced grid), the decode benchmark next to PyTorch SDPA on the same shapes with the comparison table,
# and the decode-loop example. Run from the checkout that holds .gpu/ and target/ (here first: mvn -B verify,
# which also compiles the example into target/examples-decode, then ../shared/gpu/prepare; carry .gpu and
# target). Logs and CSVs go to $OUT (or ./out). Steps: DECODE_STEPS="tests memcheck bench example" (default
# all); the benchmark grid: DECODE_BENCH_ARGS / SDPA_BENCH_ARGS (default: the issue's grid, D=128 first), their
# time limits DECODE_BENCH_SECS / SDPA_BENCH_SECS (default 130 / 110 s).
set -uo pipefail
out=${OUT:-out}
mkdir -p "$out"
steps=${DECODE_STEPS:-tests memcheck bench example}
t0=$(date +%s)
stamp() { echo "[decode.sh $(( $(date +%s) - t0 )) s] $*"; }
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader; } > "$out/gpu.txt" 2>&1
summary=()

if [[ " $steps " == *" tests "* ]]; then
  stamp "GPU tests"
  timeout 200 .gpu/test --include-tag gpu --include-classname '.*Decode.*' > "$out/decode-gpu-tests.txt" 2>&1
  rc=$?
  summary+=("tests: exit $rc, $(grep -Eo '[0-9]+ tests successful' "$out/decode-gpu-tests.txt" | tail -1), $(grep -Eo '[0-9]+ tests failed' "$out/decode-gpu-tests.txt" | tail -1)")
fi

if [[ " $steps " == *" memcheck "* ]]; then
  stamp "compute-sanitizer memcheck"
  if command -v compute-sanitizer >/dev/null; then
    JAVA_TOOL_OPTIONS="-Dsageptx.grid=memcheck" timeout 150 compute-sanitizer --tool memcheck --target-processes all \
      --print-limit 50 .gpu/test --include-tag gpu --include-classname '.*Decode.*' > "$out/decode-memcheck.txt" 2>&1
    rc=$?
    errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+ error' "$out/decode-memcheck.txt" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
    summary+=("memcheck: exit $rc, $errors errors, $(grep -Eo '[0-9]+ tests successful' "$out/decode-memcheck.txt" | tail -1)$([[ $rc == 124 ]] && echo ' TIMED OUT')")
  else
    summary+=("memcheck: compute-sanitizer not on PATH")
  fi
fi

if [[ " $steps " == *" bench "* ]]; then
  # SM clock and power every 100 ms through both benchmarks: the H200's power cap lowers the SM clock after
  # large fills and loops, which the quantized kernel feels (docs/notes/decode.md, "Power cap")
  nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,clocks_event_reasons.active --format=csv,noheader \
    -lms 100 > "$out/decode-smi.csv" 2>/dev/null &
  smi=$!
  stamp "decode benchmark (SagePTX)"
  # shellcheck disable=SC2086
  timeout "${DECODE_BENCH_SECS:-130}" .gpu/java io.sageptx.bench.DecodeBenchmark --out "$out/decode-sageptx.csv" \
    ${DECODE_BENCH_ARGS:---dims 128,64 --heads 32/8,32/4,32/32 --runs 15 --warmup 5 --max-gb 40} > "$out/decode-sageptx.txt" 2>&1
  summary+=("bench sageptx: exit $?, $(($(wc -l < "$out/decode-sageptx.csv" 2>/dev/null || echo 1) - 1)) rows")
  stamp "decode benchmark (PyTorch SDPA)"
  # shellcheck disable=SC2086
  timeout "${SDPA_BENCH_SECS:-110}" python3 tools/sdpa_decode_bench.py --out "$out/decode-sdpa.csv" \
    ${SDPA_BENCH_ARGS:---dims 128,64 --heads 32/8,32/4,32/32 --runs 15 --warmup 5 --max-gb 40} > "$out/decode-sdpa.txt" 2>&1
  summary+=("bench sdpa: exit $?, $(($(wc -l < "$out/decode-sdpa.csv" 2>/dev/null || echo 1) - 1)) rows")
  kill "$smi" 2>/dev/null
  summary+=("SM clock during the benchmarks (MHz, 100 ms samples): $(awk -F', ' '{split($2, a, " "); print a[1]}' "$out/decode-smi.csv" \
    | sort -n | awk '{v[NR] = $1} END {if (NR) printf "min %d, median %d, max %d", v[1], v[int((NR + 1) / 2)], v[NR]}')")
  python3 tools/decode_compare.py "$out/decode-sageptx.csv" "$out/decode-sdpa.csv" > "$out/decode-compare.md" 2>&1
  summary+=("compare: $(tail -n +1 "$out/decode-compare.md" | grep -E 'points compared' | tail -1)")
fi

if [[ " $steps " == *" example "* ]]; then
  stamp "decode-loop example"
  if [[ -d target/examples-decode ]]; then
    timeout 60 .gpu/jre/bin/java -cp "target/classes:target/examples-decode:.gpu/lib/*" io.sageptx.examples.DecodeLoopExample 200 \
      > "$out/decode-example.txt" 2>&1
    summary+=("example: exit $?, $(tail -1 "$out/decode-example.txt")")
  else
    summary+=("example: no target/examples-decode (run mvn -B verify before ../shared/gpu/prepare)")
  fi
fi

stamp "done"
printf '%s\n' "${summary[@]}" | tee "$out/decode-summary.txt"
