#!/usr/bin/env bash
# One GPU-machine call of the 2026-12-02 fifth session (under 4 minutes; the steps' limits add to 225 s): the decode
# GPU tests at full grid after the combine-kernel rewrite; the decode kernels under option sets (L2 prefetch hint,
# warps x stages) side by side; default vs default+qk=auto at short lengths (the label now follows the
# short-sequence rule); split counts next to the heuristic's. Results in $OUT/all.tgz, re-packed after every step
# (the machine returns a limited number of files, and a step cut short by the call's limit keeps what came before).
set -uo pipefail
o=${OUT:-out}/s
mkdir -p "$o"
pack() { tar czf "${OUT:-out}/all.tgz" -C "$o" . ; }
OUT=$o/t timeout 85 tools/gpu/parallel.sh 80 "d1::--include-classname .*\.DecodeGpuTest" \
  "d2::--include-classname .*QuantDecodeGpuTest" "d3::--include-classname .*LseMergeGpuTest"
pack
OUT=$o/ab AB_SECS=25 AB_SETS=$'base=\nl2-256=-Dsageptx.decodeL2Prefetch=256\nt4x4=-Dsageptx.decodeTiles=4x4\nt8x3=-Dsageptx.decodeTiles=8x3\nt8x2=-Dsageptx.decodeTiles=8x2' \
  AB_ARGS='--dims 128 --heads 32/8 --batch 8,64 --lq 1,16 --lk 32k,128k --formats dense,q8 --append none --runs 6 --warmup 2' \
  tools/gpu/decode-ab.sh
pack
timeout 45 .gpu/sageptx bench --head-dim 64,128 --seq 1k,2k,4k --causal both --runs 8 --warmup 2 \
  --variants default,default+qk=auto --csv "$o/auto" > "$o/auto.log" 2>&1
echo "short auto: rc=$?"
grep -E "TFLOP|default" "$o/auto.log" | tail -30
pack
OUT=$o/sp AB_SECS=20 AB_SETS='splits=' AB_ARGS='--no-warm --dims 128 --heads 32/8 --batch 1 --lq 1 --lk 8k,128k --formats dense --splits 0,16,33,64 --append 64 --runs 8' \
  tools/gpu/decode-ab.sh
pack
