#!/usr/bin/env bash
# One GPU-machine call of the 2026-12-02 fifth session (under 4 minutes; the steps' limits add to 230 s): the decode
# GPU tests at full grid after the combine-kernel rewrite, the L2-prefetch-hint A/B of the decode kernels, the
# short-sequence side by side of default vs default+qk=auto (the label now follows the short-sequence rule), and
# split counts next to the heuristic's. Results in $OUT/all.tgz, re-packed after every step (the machine returns
# a limited number of files, and a step cut short by the call's limit keeps what came before).
set -uo pipefail
o=${OUT:-out}/s
mkdir -p "$o"
pack() { tar czf "${OUT:-out}/all.tgz" -C "$o" . ; }
OUT=$o/t timeout 100 tools/gpu/parallel.sh 95 "d1::--include-classname .*\.DecodeGpuTest" \
  "d2::--include-classname .*QuantDecodeGpuTest" "d3::--include-classname .*LseMergeGpuTest"
pack
OUT=$o/l2 AB_SECS=35 AB_SETS=$'base=\nl2-256=-Dsageptx.decodeL2Prefetch=256' \
  AB_ARGS='--dims 128 --heads 32/8 --batch 1,8,64 --lq 1,16 --lk 32k,128k --append none --runs 8 --warmup 2' \
  tools/gpu/decode-ab.sh
pack
SAGEPTX_COMMIT=${SAGEPTX_COMMIT:-unknown} timeout 55 tools/side_by_side "$o/sbs" --head-dim 64,128 --seq 1k,2k \
  --causal both --runs 8 --warmup 2 --variants default,default+qk=auto > "$o/sbs.log" 2>&1
echo "sbs: rc=$?"
tail -10 "$o/sbs/compare.md"
pack
OUT=$o/sp AB_SECS=30 AB_SETS='splits=' AB_ARGS='--no-warm --dims 128 --heads 32/8 --batch 1 --lq 1 --lk 8k,128k --formats dense --splits 0,16,33,64 --append 64 --runs 8' \
  tools/gpu/decode-ab.sh
pack
