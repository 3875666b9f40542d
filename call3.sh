#!/usr/bin/env bash
# session 12, call 3: qk=auto test, side by side (D 64/128 all N; other head dims 4k/16k), odd head-dim sweep
set -u
export OUT=${OUT:-/tmp/out}
mkdir -p $OUT/w
pack() { (cd $OUT && tar czf r.tgz w); }
timeout 120 .gpu/test --include-tag gpu --details=tree --include-classname '.*QkAutoGpuTest' > $OUT/w/auto.log 2>&1
echo "auto rc=$? $(grep -E 'tests (successful|failed)' $OUT/w/auto.log | tr -s ' ' | tr '\n' ' ')"; grep -E '✘' $OUT/w/auto.log | head -5
pack
SAGEPTX_COMMIT=$(cat commit.txt) timeout 260 tools/side_by_side $OUT/w/sbs1 --head-dim 64,128 --seq 1k,2k,4k,8k,16k,32k --causal both --runs 5 --warmup 2 --variants default,wgmma-fp8-f16acc > $OUT/w/sbs1.log 2>&1
echo "sbs1 rc=$?"; cat $OUT/w/sbs1/compare.md 2>/dev/null | head -40
pack
SAGEPTX_COMMIT=$(cat commit.txt) timeout 200 tools/side_by_side $OUT/w/sbs2 --head-dim 48,80,96,160,192,256 --seq 4k,16k --causal both --runs 3 --warmup 2 --variants default,wgmma-fp8-f16acc+k=64+q=128+w=8,wgmma-fp8-f16acc+k=64+q=64+w=4,wgmma-fp8-f16acc+k=128+q=64+w=4 > $OUT/w/sbs2.log 2>&1
echo "sbs2 rc=$?"
pack
timeout 100 .gpu/sageptx bench --head-dim 144,176,208,224,240 --seq 4k,16k --variants wgmma-fp8-f16acc+k=64+q=128+w=8,wgmma-fp8-f16acc+k=64+q=64+w=4,wgmma-fp8-f16acc+k=128+q=64+w=4 --runs 3 --warmup 2 --csv $OUT/w/b3 > $OUT/w/bench3.txt 2>&1
echo bench3 rc=$?
grep -E "^(fp16|bf16)" $OUT/w/bench3.txt | awk '{print $2, $3, $4, $5, $9, $10}'
pack; rm -rf $OUT/w
