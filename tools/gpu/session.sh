#!/usr/bin/env bash
# One GPU-machine session in one call: runs the named steps in order, each with its own time limit, logs
# everything under $OUT/work and packs it into $OUT/run.tgz (the device tool brings back at most 8 files).
# Prints a short summary per step last. Needs .gpu/ (tools/gpu prepare or ../shared/gpu/prepare) and target/.
#   tools/gpu/session.sh tests[:SECONDS] bench[:SECONDS] sanitize[:SECONDS] select:CLASSREGEX[:SECONDS] ...
# Environment: BENCH_ARGS (extra tools/side_by_side options), TEST_ARGS (extra JUnit launcher options).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-/tmp/sageptx-out}
work=$out/work
mkdir -p "$work"
summary=()
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.sm,temperature.gpu,power.draw --format=csv | tee "$work/gpu.txt"
for step in "$@"; do
  name=${step%%:*}
  rest=${step#"$name"}
  rest=${rest#:}
  secs=300
  arg=""
  case $name in
    select) arg=${rest%%:*}; [[ $rest == *:* ]] && secs=${rest##*:} ;;
    *) [[ -n $rest ]] && secs=$rest ;;
  esac
  start=$(date +%s)
  case $name in
    tests)
      timeout "$secs" .gpu/test --include-tag gpu --details=tree ${TEST_ARGS:-} >"$work/tests.log" 2>&1
      rc=$?
      line="tests: rc=$rc $(grep -E 'tests (successful|failed|aborted|skipped)' "$work/tests.log" | tr -s ' []' ' ' | tr '\n' ' ')" ;;
    select)
      log="$work/select-$(echo "$arg" | tr -c 'A-Za-z0-9' '_' | cut -c1-40).log"
      timeout "$secs" .gpu/test --include-tag gpu --details=tree --include-classname "$arg" ${TEST_ARGS:-} >"$log" 2>&1
      rc=$?
      line="select $arg: rc=$rc $(grep -E 'tests (successful|failed)' "$log" | tr -s ' []' ' ' | tr '\n' ' ')" ;;
    bench)
      timeout "$secs" tools/side_by_side "$work/sbs" ${BENCH_ARGS:-} >"$work/bench-run.log" 2>&1
      rc=$?
      line="bench: rc=$rc" ;;
    sanitize)
      SANITIZE_TIMEOUT=$(( secs / 2 )) tools/sanitize "$work/sanitize" >"$work/sanitize-run.log" 2>&1
      rc=$?
      line="sanitize: rc=$rc $(grep '^sanitize' "$work/sanitize-run.log" | tr '\n' ' ')" ;;
    sanitize-class)
      # memcheck then racecheck (hazards) of one test class on a reduced grid (sageptx.grid=small / tiny)
      arg=${rest%%:*}; [[ $rest == *:* ]] && secs=${rest##*:}
      line="sanitize-class $arg:"
      for tool in memcheck racecheck; do
        grid=small; extra=()
        [[ $tool == racecheck ]] && { grid=tiny; extra=(--racecheck-report hazard); }
        log="$work/san-$tool-$(echo "$arg" | tr -c 'A-Za-z0-9' '_' | cut -c1-30).log"
        JAVA_TOOL_OPTIONS="-Dsageptx.grid=$grid" timeout $(( secs / 2 )) compute-sanitizer --tool $tool --target-processes all \
          --print-limit 50 "${extra[@]}" .gpu/test --include-tag gpu --details=flat --include-classname "$arg" >"$log" 2>&1
        rc=$?
        errors=$(grep -Eo 'ERROR SUMMARY: [0-9]+ error' "$log" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
        hazards=$(grep -Eo 'RACECHECK SUMMARY: [0-9]+ hazard' "$log" | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
        ok=$(grep -Eo '[0-9]+ tests successful' "$log" | grep -Eo '^[0-9]+' | tail -1)
        bad=$(grep -Eo '[0-9]+ tests failed' "$log" | grep -Eo '^[0-9]+' | tail -1)
        line+=" $tool rc=$rc errors=$errors hazards=$hazards tests=${ok:-?}/${bad:-?}failed;"
      done ;;
    script)
      # another tool script with its own OUT under the work folder: script:tools/gpu/x.sh:SECONDS
      arg=${rest%%:*}; [[ $rest == *:* ]] && secs=${rest##*:}
      sub="$work/$(basename "$arg" .sh)"
      mkdir -p "$sub"
      OUT="$sub" timeout "$secs" "$arg" >"$sub/run.log" 2>&1
      rc=$?
      line="script $arg: rc=$rc" ;;
    *) line="$name: unknown step"; rc=2 ;;
  esac
  summary+=("$line ($(( $(date +%s) - start )) s)")
  echo "== $line"
done
tar czf "$out/run.tgz" -C "$work" . 2>/dev/null
printf '%s\n' "${summary[@]}"
[[ -f $work/sbs/compare.md ]] && cat "$work/sbs/compare.md"
grep -E '✘|FAILED|failed:' "$work"/tests.log 2>/dev/null | head -30
exit 0
