#!/usr/bin/env python3
"""Plots TFLOP/s against N from compare.csv (tools/compare_bench.py): one panel per head dim and mask,
one line per SagePTX variant and per PyTorch SDPA backend. Needs matplotlib (not on the GPU machine:
run it where it is installed, on the CSV that came back)."""
import argparse
import csv
import math

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FIXED = ["D", "causal", "N", "best kernel-only", "best/FA2", "best/cuDNN"]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("compare_csv")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--title", default="")
    a = p.parse_args()
    with open(a.compare_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    series = [c for c in rows[0].keys() if c not in FIXED]
    panels = sorted({(int(r["D"]), r["causal"]) for r in rows})
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (d, causal) in zip(axes[0], panels):
        pts = sorted((r for r in rows if int(r["D"]) == d and r["causal"] == causal), key=lambda r: int(r["N"]))
        ns = [int(r["N"]) for r in pts]
        for s in series:
            ys = [float(r[s]) if r[s] not in ("", "nan") else math.nan for r in pts]
            style = "--" if s in ("FA2", "cuDNN") else "-"
            ax.plot(ns, ys, style, marker="o", label=f"PyTorch {s}" if s in ("FA2", "cuDNN") else f"SagePTX {s}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(ns, [f"{n // 1024}k" for n in ns])
        ax.set_title(f"D={d}, causal={causal}")
        ax.set_xlabel("N (sequence length)")
        ax.set_ylabel("TFLOP/s")
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=8)
    if a.title:
        fig.suptitle(a.title)
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
