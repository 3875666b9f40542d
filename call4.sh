#!/usr/bin/env bash
set -uo pipefail
mkdir -p $OUT/r
timeout 200 ncu --target-processes all -k regex:'quant' -c 3 --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis --section LaunchStats \
   .gpu/java io.sageptx.cli.Main bench --head-dim 128 --seq 4k --causal false --variants default --runs 1 --warmup 0 > $OUT/r/ncu-stalls.txt 2>&1
grep -E "quant_|Stall|Warp Cycles|Issued Warp|No Eligible|Active Warps|Eligible Warps|Memory Throughput|L1/TEX Hit|L2 Hit|Mem Busy|Max Bandwidth" $OUT/r/ncu-stalls.txt | sed 's/sage_attn_d128[a-z0-9_]*wgmma_//' | cut -c1-150 | head -80
