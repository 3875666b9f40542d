#!/usr/bin/env bash
# One GPU-machine call of the 2026-12-02 fifth session (about 5 minutes): the decode GPU tests at full grid after the
# combine-kernel rewrite, the L2-prefetch-hint A/B of the decode kernels, split counts next to the heuristic's,
# and the short-sequence side by side of default vs default+qk=auto (the label now follows the short-sequence rule).
# Everything lands in $OUT/all.tgz (one file: the machine returns a limited number of files).
set -uo pipefail
o=${OUT:-out}/s
mkdir -p "$o"
OUT=$o/t timeout 200 tools/gpu/parallel.sh 190 "d1::--include-classname .*\.DecodeGpuTest" \
  "d2::--include-classname .*QuantDecodeGpuTest" "d3::--include-classname .*LseMergeGpuTest"
OUT=$o/l2 AB_SETS=$'base=\nl2-128=-Dsageptx.decodeL2Prefetch=128\nl2-256=-Dsageptx.decodeL2Prefetch=256' \
  AB_ARGS='--dims 128 --heads 32/8 --batch 1,8,64 --lq 1,16 --lk 32k,128k --append none --runs 10 --warmup 3' \
  tools/gpu/decode-ab.sh
OUT=$o/sp AB_SETS='splits=' AB_ARGS='--dims 128 --heads 32/8 --batch 1,8 --lq 1 --lk 8k,128k --formats dense,q8 --splits 0,16,33,64,128 --append 1,64 --runs 10' \
  tools/gpu/decode-ab.sh
SAGEPTX_COMMIT=${SAGEPTX_COMMIT:-unknown} timeout 170 tools/side_by_side "$o/sbs" --head-dim 64,128 --seq 1k,2k,4k \
  --causal both --runs 8 --warmup 2 --variants default,default+qk=auto > "$o/sbs.log" 2>&1
echo "sbs: rc=$?"
tail -16 "$o/sbs/compare.md"
tar czf "${OUT:-out}/all.tgz" -C "$o" . && rm -rf "$o"
