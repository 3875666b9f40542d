#!/usr/bin/env bash
# session 12, call 1: the GPU suite at the untested commits (+ 128-key blocks), then the 128-key A/B
set -u
export OUT=${OUT:-/tmp/out}
mkdir -p $OUT/w
nvidia-smi --query-gpu=name,driver_version,clocks.sm,power.draw --format=csv > $OUT/w/gpu.txt
tools/gpu/parallel.sh 290 \
 'core::--include-classname .*SageAttentionGpuTest' \
 'modes::--include-classname .*(SageAttentionModesGpuTest|InputFamiliesGpuTest)' \
 'auto::--include-classname .*(QkAutoGpuTest|Qk16GpuTest|PreprocessGpuTest)' \
 'wg::--include-classname .*(WgmmaGpuTest|AutotuneGpuTest|KernelCacheGpuTest)' \
 'ws::--include-classname .*WgmmaWsGpuTest' \
 'mma::--include-classname .*(MmaSyncPipelineGpuTest|DecodeGpuTest|QuantDecodeGpuTest|LseMergeGpuTest)' \
 'misc::--include-classname .*(ConcurrencyGpuTest|InteropGpuTest|RawHandlesGpuTest|VerifyFilesGpuTest|SanitizerGridGpuTest)' \
 > $OUT/w/suite.txt 2>&1
mv $OUT/par-*.log $OUT/w/ 2>/dev/null
cat $OUT/w/suite.txt
grep -E "k128" $OUT/w/par-wg.log | grep -E "✘|failed" | head
timeout 190 .gpu/sageptx bench --head-dim 64,128 --seq 1k,4k,16k --variants default,wgmma-fp8-f16acc+k=128+q=64+w=4,wgmma-fp8-f16acc+k=128+q=128+w=8 --runs 3 --warmup 2 --csv $OUT/w/b1 > $OUT/w/bench1.txt 2>&1
echo bench rc=$?
grep -vE "^\s*$" $OUT/w/bench1.txt | tail -30
cd $OUT && tar czf r.tgz w && rm -rf w
