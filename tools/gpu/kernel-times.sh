#!/usr/bin/env bash
# Per-kernel GPU time of one SagePTX call, by Nsight Compute (gpu__time_duration of every launch), for the shapes
# and variants given as `bench` arguments in KT_CASES (one case per line). Writes $OUT/kt-<n>.csv (ncu's raw
# CSV) and prints a table per case: kernel name, launches, mean microseconds. Run on the GPU machine from the
# checkout that holds .gpu/ and target/.
#   KT_CASES=$'--head-dim 128 --seq 1k --causal false --variants default' tools/gpu/kernel-times.sh
set -uo pipefail
out=${OUT:-out}
mkdir -p "$out"
n=0
while IFS= read -r args; do
  [[ -z $args ]] && continue
  n=$((n + 1))
  echo "== case $n: bench $args"
  # shellcheck disable=SC2086
  timeout 120 ncu --target-processes all --csv --metrics gpu__time_duration.sum \
    .gpu/java io.sageptx.cli.Main bench $args --runs 1 --warmup 1 > "$out/kt-$n.csv" 2> "$out/kt-$n.err"
  python3 - "$out/kt-$n.csv" <<'PY'
import csv, sys, collections
rows = [l for l in open(sys.argv[1]) if l.startswith('"')]
t = collections.OrderedDict()
for r in csv.DictReader(rows):
    if r.get('Metric Name') != 'gpu__time_duration.sum':
        continue
    name = r['Kernel Name'].split('(')[0]
    v = float(r['Metric Value'].replace(',', ''))
    unit = r.get('Metric Unit', 'ns')
    us = v / 1000 if unit in ('ns', 'nsecond') else v * 1000 if unit in ('ms', 'msecond') else v
    t.setdefault(name, []).append(us)
print('| kernel | launches | mean us | last us |')
print('|---|---|---|---|')
for k, v in t.items():
    print(f'| {k[:90]} | {len(v)} | {sum(v)/len(v):.1f} | {v[-1]:.1f} |')
PY
done <<< "${KT_CASES:---head-dim 128 --seq 1k --causal false --variants default}"
