#!/usr/bin/env bash
# Runs several GPU test selections at once on one GPU (each its own JVM; the FP64 references are CPU-bound, the
# GPU is mostly idle), each with a time limit, and prints each one's summary. Timings the tests print are not
# comparable under this sharing: run benchmarks alone. Logs: $OUT/par-<name>.log.
#   tools/gpu/parallel.sh SECONDS 'name::junit args' 'name::junit args' ...
#   e.g. tools/gpu/parallel.sh 300 "ws::--include-classname .*WgmmaWsGpuTest" "pre::--include-classname .*PreprocessGpuTest"
set -uo pipefail
out=${OUT:-out}
mkdir -p "$out"
secs=$1
shift
pids=()
names=()
for spec in "$@"; do
  name=${spec%%::*}
  args=${spec#*::}
  # each JVM its own temp directory: JCuda extracts its native libraries there, and three JVMs writing the same
  # file while another maps it crashed one in ld.so (SIGBUS, 2026-12-02)
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/par-$name.XXXX")
  # shellcheck disable=SC2086
  JAVA_TOOL_OPTIONS="${JAVA_TOOL_OPTIONS:-} -Djava.io.tmpdir=$tmp" timeout "$secs" .gpu/test --include-tag gpu $args \
    > "$out/par-$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}"
  rc=$?
  log="$out/par-${names[$i]}.log"
  echo "== ${names[$i]}: rc=$rc $(grep -E 'tests (successful|failed)' "$log" | tr -s ' []' ' ' | tr '\n' ' ')"
  grep -E '✘' "$log" | head -8
done
