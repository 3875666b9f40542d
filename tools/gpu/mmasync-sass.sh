#!/usr/bin/env bash
# SASS instruction counts of the mma.sync attention kernel's key loop (one 64-key block per iteration),
# before (stages=1, the single-buffered kernel) and after (the planner's default), for sm_80, sm_89, sm_90
# and sm_120, D 64/128, every PV variant: MMA (IMMA/QMMA/HMMA) per block, every other instruction class,
# LDL/STL (spills) in the whole function, and ptxas -v registers. Runs on the GPU machine (ptxas,
# cuobjdump; no Java there): the PTX comes from `mvn test` here (MmaSyncPtxDumpTest writes
# target/mmasync-ptx/*.ptx; carry "target").
#   tools/gpu/mmasync-sass.sh [OUTDIR]        (default $OUT or ./out)  -> OUTDIR/mmasync-sass.tsv, .md, sass/*.sass
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-${OUT:-out}}
ptx=$root/target/mmasync-ptx
[[ -d $ptx ]] || { echo "mmasync-sass: no $ptx: run 'mvn test' (MmaSyncPtxDumpTest) and carry target" >&2; exit 2; }
mkdir -p "$out/sass"
tsv=$out/mmasync-sass.tsv
printf 'kernel\tregisters\tspill_bytes\tloop_insns\tmma\tnon_mma\tnon_mma_per_mma\tldl_stl\tclasses\n' > "$tsv"
for f in "$ptx"/*.ptx; do
  base=$(basename "$f" .ptx)
  arch=${base%%_d*}
  cubin=$out/sass/$base.cubin
  info=$(ptxas -v -arch="$arch" "$f" -o "$cubin" 2>&1)
  regs=$(grep -oE 'Used [0-9]+ registers' <<<"$info" | grep -oE '[0-9]+' | head -1)
  spill=$(grep -oE '[0-9]+ bytes spill stores' <<<"$info" | grep -oE '^[0-9]+' | head -1)
  cuobjdump -sass "$cubin" > "$out/sass/$base.sass"
  line=$(python3 "$root/tools/gpu/sass_loop_count.py" --tsv --label "$base" < "$out/sass/$base.sass")
  IFS=$'\t' read -r label total mma other ratio ldl classes <<<"$line"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$base" "${regs:-?}" "${spill:-?}" "$total" "$mma" "$other" "$ratio" "$ldl" "$classes" >> "$tsv"
  rm -f "$cubin"
done
{
  echo "| kernel | regs | spill B | loop insns | MMA | non-MMA | non-MMA/MMA | LDL/STL |"
  echo "|---|---|---|---|---|---|---|---|"
  tail -n +2 "$tsv" | awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8}'
  echo
  echo "Instruction classes per loop iteration (the masked path of a block is inside the loop range; FSEL/ISETP of it"
  echo "run only in blocks that need a mask):"
  tail -n +2 "$tsv" | awk -F'\t' '{printf "- %s: %s\n", $1, $9}'
} > "$out/mmasync-sass.md"
cat "$out/mmasync-sass.md"
