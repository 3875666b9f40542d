#!/usr/bin/env python3
"""Joins `sageptx bench` (bench.csv) and tools/sdpa_bench.py (sdpa.csv) into one table: our end-to-end
TFLOP/s per variant, the FlashAttention-2 and cuDNN backends', and the ratios of our best variant to each.
Prints a Markdown table and writes compare.csv beside --out."""
import argparse
import csv
import math
from collections import defaultdict


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ours", required=True)
    p.add_argument("--sdpa", required=True)
    p.add_argument("--out", required=True, help="compare.csv to write")
    a = p.parse_args()
    ours = defaultdict(dict)
    variants = []
    for r in read(a.ours):
        key = (int(r["head_dim"]), r["causal"].lower() == "true", int(r["seq_len"]))
        ours[key][r["variant"]] = (float(r["total_tflops"]), float(r["attn_tflops"]), float(r["pre_tbps"]))
        if r["variant"] not in variants:
            variants.append(r["variant"])
    theirs = defaultdict(dict)
    for r in read(a.sdpa):
        key = (int(r["head_dim"]), r["causal"].lower() == "true", int(r["seq_len"]))
        theirs[key][r["backend"]] = float(r["tflops"])
    cols = ["D", "causal", "N"] + [f"{v}" for v in variants] + ["best kernel-only", "FA2", "cuDNN", "best/FA2", "best/cuDNN"]
    rows = []
    for key in sorted(ours):
        d, causal, n = key
        vals = [ours[key].get(v, (math.nan,) * 3)[0] for v in variants]
        best = max((x for x in vals if not math.isnan(x)), default=math.nan)
        best_kernel = max((ours[key][v][1] for v in ours[key]), default=math.nan)
        fa2 = theirs[key].get("fa2", math.nan)
        cudnn = theirs[key].get("cudnn", math.nan)
        rows.append([d, "yes" if causal else "no", n] + vals + [best_kernel, fa2, cudnn, best / fa2, best / cudnn])
    print("TFLOP/s end to end (quantization included); 'best kernel-only' is the fused kernel alone.")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        cells = [str(x) if isinstance(x, (int, str)) else ("-" if math.isnan(x) else (f"{x:.2f}" if abs(x) < 10 else f"{x:.0f}")) for x in r]
        print("| " + " | ".join(cells) + " |")
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(rows)


if __name__ == "__main__":
    main()
