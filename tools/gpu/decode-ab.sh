#!/usr/bin/env bash
# The decode benchmark under several JVM option sets, one after another, each with its own kernel cache (so a
# property that changes the generated PTX never meets another set's cached module), then one table of the
# times side by side. Run on the GPU machine from the checkout that holds .gpu/ and target/.
#   AB_SETS=$'base=\nl2-256=-Dsageptx.decodeL2Prefetch=256' AB_ARGS='--dims 128 --heads 32/8 --batch 8,64 --lq 1 --lk 32k' \
#     tools/gpu/decode-ab.sh
# Output: $OUT/ab/<set>.csv and .txt, the table on stdout (ms per call, the first set's ratio to each other).
set -uo pipefail
out=${OUT:-out}/ab
mkdir -p "$out"
sets=${AB_SETS:-$'base='}
args=${AB_ARGS:---dims 128 --heads 32/8 --batch 8,64 --lq 1,16 --lk 32k --append none}
names=()
while IFS= read -r line; do
  [[ -z $line ]] && continue
  name=${line%%=*}
  opts=${line#*=}
  names+=("$name")
  mkdir -p "$out/cache-$name"
  # shellcheck disable=SC2086
  SAGEPTX_CACHE_DIR="$out/cache-$name" JAVA_TOOL_OPTIONS="$opts" timeout "${AB_SECS:-120}" .gpu/java \
    io.sageptx.bench.DecodeBenchmark --out "$out/$name.csv" $args > "$out/$name.txt" 2>&1
  echo "set $name ($opts): rc=$?"
done <<< "$sets"
python3 - "$out" "${names[@]}" <<'PY'
import csv, sys, os
d, names = sys.argv[1], sys.argv[2:]
rows = {}
for n in names:
    p = os.path.join(d, n + '.csv')
    if not os.path.exists(p):
        continue
    for r in csv.DictReader(open(p)):
        k = (r['format'], r['batch'], r['lq'], r['lk'], r['splits'])
        rows.setdefault(k, {})[n] = r
print('| format | B | Lq | Lk | splits | ' + ' | '.join(f'{n} ms' for n in names) + ' | ' +
      ' | '.join(f'{names[0]}/{n}' for n in names[1:]) + ' |')
print('|' + '---|' * (5 + 2 * len(names) - 1))
for k, v in rows.items():
    ms = [float(v[n]['ms']) if n in v else float('nan') for n in names]
    print('| ' + ' | '.join(k) + ' | ' + ' | '.join(f'{m:.4f}' for m in ms) + ' | ' +
          ' | '.join(f'{ms[0] / m:.3f}' for m in ms[1:]) + ' |')
PY
