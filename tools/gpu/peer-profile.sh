#!/usr/bin/env bash
# ncu of PyTorch SDPA's decode kernel next to SagePTX's on one decode shape (issue 14: why does the peer read
# K/V faster?). Run on the GPU machine from the checkout that holds .gpu/ and target/ (tools/gpu/prepare),
# carry [".gpu", "target"]. Output under $OUT/peer: ncu text per side, the SASS opcode mix of each kernel
# (from ncu's source page), and an ncu report per side.
#   PEER_SHAPE="B H HKV LQ LK D" (default "64 32 8 1 32768 128"), PEER_BACKEND=cudnn|flash|efficient (default cudnn)
#   PEER_FORMAT=dense|paged|q8 for SagePTX (default dense), PEER_SIDES="sdpa sageptx" (default both)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-out}/peer
mkdir -p "$out"
read -r B H HKV LQ LK D <<< "${PEER_SHAPE:-64 32 8 1 32768 128}"
backend=${PEER_BACKEND:-cudnn}
fmt=${PEER_FORMAT:-dense}
sections=(--section SpeedOfLight --section LaunchStats --section Occupancy --section MemoryWorkloadAnalysis
  --section MemoryWorkloadAnalysis_Tables --section WarpStateStats --section InstructionStats --section SourceCounters)

cat > "$out/peer.py" <<PY
import torch, torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
be = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
      "efficient": SDPBackend.EFFICIENT_ATTENTION}["$backend"]
q = torch.randn($B, $H, $LQ, $D, device="cuda", dtype=torch.float16)
k = torch.randn($B, $HKV, $LK, $D, device="cuda", dtype=torch.float16)
v = torch.randn($B, $HKV, $LK, $D, device="cuda", dtype=torch.float16)
torch.cuda.synchronize()
with sdpa_kernel(be):
    for _ in range(4):
        o = F.scaled_dot_product_attention(q, k, v, enable_gqa=($H != $HKV))
torch.cuda.synchronize()
print("ok", o.shape)
PY
sides=${PEER_SIDES:-sdpa sageptx}
if [[ " $sides " == *" sdpa "* ]]; then
echo "== SDPA $backend B=$B H=$H/$HKV Lq=$LQ Lk=$LK D=$D"
# the attention kernels only (not the randn fills): the first call of 4 is skipped, a split call's two kernels kept
timeout 150 ncu --target-processes all --kernel-name 'regex:(cudnn|fmha|flash|attn|sdpa|xmma|sm90|gemm)' \
  --launch-skip 1 --launch-count 3 "${sections[@]}" -o "$out/sdpa" -f python3 "$out/peer.py" > "$out/sdpa-ncu.log" 2>&1
echo "sdpa ncu rc=$?"
ncu -i "$out/sdpa.ncu-rep" > "$out/sdpa.txt" 2>&1
ncu -i "$out/sdpa.ncu-rep" --page source --csv --print-source sass > "$out/sdpa-sass.csv" 2>&1
fi
if [[ " $sides " == *" sageptx "* ]]; then
echo "== SagePTX $fmt"
timeout 150 ncu --target-processes all --kernel-name regex:sageptx_decode --launch-skip 2 --launch-count 1 "${sections[@]}" \
  -o "$out/sageptx" -f .gpu/java io.sageptx.bench.DecodeBenchmark --out "$out/p.csv" --no-warm --runs 1 --warmup 1 \
  --append none --dims "$D" --heads "$H/$HKV" --formats "$fmt" --batch "$B" --lq "$LQ" --lk "$LK" > "$out/sageptx-ncu.log" 2>&1
echo "sageptx ncu rc=$?"
ncu -i "$out/sageptx.ncu-rep" > "$out/sageptx.txt" 2>&1
ncu -i "$out/sageptx.ncu-rep" --page source --csv --print-source sass > "$out/sageptx-sass.csv" 2>&1
fi
for side in $sides; do
  echo "== $side"
  grep -E '^  [A-Za-z_].*\(|Duration|DRAM Throughput|Memory Throughput|L2 Hit|L1/TEX Hit|Achieved Occupancy|Registers Per|Grid Size|Block Size|Shared Memory Config|Dynamic Shared|Static Shared|Warp Cycles Per Issued|Issued Ipc|Executed Instructions  ' "$out/$side.txt" | head -40
  # the opcode mix: the SASS lines' first word, weighted by their executed-instruction counts where the CSV has them
  python3 - "$out/$side-sass.csv" <<'PY' || true
import csv, sys, collections, re
rows = list(csv.reader(open(sys.argv[1], errors="replace")))
hdr = next((i for i, r in enumerate(rows) if r and r[0] == "Address"), None)
if hdr is None:
    print("no SASS table:", (rows[0] if rows else "empty")); sys.exit()
h = rows[hdr]
src = h.index("Source")
ex = next((i for i, c in enumerate(h) if c.startswith("Instructions Executed")), None)
mix = collections.Counter()
for r in rows[hdr + 1:]:
    if r and r[0] == "Kernel Name": break
    if len(r) <= src: continue
    op = re.sub(r"^@!?U?P\w+\s+", "", r[src].strip()).split(" ")[0]
    if not op: continue
    n = float(r[ex].replace(",", "")) if ex is not None and r[ex].replace(",", "").replace(".", "").isdigit() else 1
    mix[op.split(".")[0]] += n
tot = sum(mix.values())
print("opcodes (executed share):", ", ".join(f"{k} {v / tot:.1%}" for k, v in mix.most_common(18)))
# global loads whose L2 sectors exceed the ideal (uncoalesced, or split by the hardware)
t, i = h.index("L2 Theoretical Sectors Global"), h.index("L2 Theoretical Sectors Global Ideal")
shown = 0
for r in rows[hdr + 1:]:
    if shown == 12: break
    if r and r[0] == "Kernel Name": break
    if len(r) > t and r[t] not in ("", "0") and r[i] not in ("", "0") and float(r[t]) > 1.01 * float(r[i]):
        shown += 1
        print(f"  excess sectors {float(r[t]) / float(r[i]):.2f}x ideal: {r[src].strip()[:80]} ({r[ex]} executed)")

PY
done
tar czf "${OUT:-out}/peer.tgz" -C "$(dirname "$out")" --exclude='*.ncu-rep' "$(basename "$out")"
