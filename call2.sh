#!/usr/bin/env bash
# session 12, call 2: 128-key default on the GPU: tests, sanitizers, head-dim sweep
set -u
export OUT=${OUT:-/tmp/out}
mkdir -p $OUT/w
pack() { (cd $OUT && tar czf r.tgz w); }
tools/gpu/parallel.sh 240 \
 'wg::--include-classname .*WgmmaGpuTest' \
 'core::--include-classname .*SageAttentionGpuTest' \
 'modes::--include-classname .*(SageAttentionModesGpuTest|InputFamiliesGpuTest)' \
 'auto::--include-classname .*(QkAutoGpuTest|AutotuneGpuTest|KernelCacheGpuTest|VerifyFilesGpuTest)' \
 > $OUT/w/suite.txt 2>&1
mv $OUT/par-*.log $OUT/w/ 2>/dev/null
cat $OUT/w/suite.txt; pack
for tool in memcheck racecheck; do
  grid=small; extra=(); [[ $tool == racecheck ]] && { grid=tiny; extra=(--racecheck-report hazard); }
  JAVA_TOOL_OPTIONS="-Dsageptx.grid=$grid" timeout 100 compute-sanitizer --tool $tool --target-processes all --print-limit 20 "${extra[@]}" \
    .gpu/test --include-tag gpu --details=flat --include-classname '.*WgmmaGpuTest' --include-methodname '.*k128.*' > $OUT/w/san-$tool.log 2>&1
  echo "$tool rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' $OUT/w/san-$tool.log | sort | uniq -c | tr '\n' ' ') $(grep -E 'tests (successful|failed)' $OUT/w/san-$tool.log | tr -s ' ' | tr '\n' ' ')"
done
pack
timeout 200 .gpu/sageptx bench --head-dim 32,48,80,96,112,160,192,256 --seq 4k,16k --variants default,wgmma-fp8-f16acc+k=64+q=64+w=4,wgmma-fp8-f16acc+k=64+q=128+w=8,wgmma-fp8-f16acc+k=128+q=64+w=4 --runs 3 --warmup 2 --csv $OUT/w/b2 > $OUT/w/bench2.txt 2>&1
echo bench rc=$?
grep -E "^(fp16|bf16)" $OUT/w/bench2.txt | awk '{print $2, $3, $4, $5, $9, $10}'
pack; rm -rf $OUT/w
