#!/usr/bin/env python3
"""Joins io.sageptx.bench.DecodeBenchmark's CSV with tools/sdpa_decode_bench.py's: per shape the best SDPA
backend (native GQA preferred only by speed) against each SagePTX format, the ratio SagePTX / SDPA (< 1:
SagePTX faster), the bandwidth of K/V bytes read, and the issue's targets: 16-bit formats <= SDPA everywhere
and >= 80 % of the copy bandwidth (--copy-tbs, default 4.3 TB/s) where K/V exceed 1 GB; the quantized cache
>= 1.7x faster than SDPA's best at Lk >= 8k. Prints a markdown table and a summary.
usage: decode_compare.py sageptx.csv sdpa.csv [--copy-tbs 4.3]"""
import argparse
import csv
from collections import defaultdict


def key(r):
    return (int(r["batch"]), int(r["heads"]), int(r["kv_heads"]), int(r["lq"]), int(r["lk"]), int(r["head_dim"]))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("sageptx")
    p.add_argument("sdpa")
    p.add_argument("--copy-tbs", type=float, default=4.3)
    a = p.parse_args()
    best = {}
    for r in csv.DictReader(open(a.sdpa)):
        k = key(r)
        ms = float(r["ms"])
        if k not in best or ms < best[k][0]:
            best[k] = (ms, r["backend"] + ("/" + r["gqa"] if r["gqa"] not in ("native", "mha") else ""))
    ours = defaultdict(dict)
    appends = []
    for r in csv.DictReader(open(a.sageptx)):
        if r["format"] == "append":
            appends.append(r)
            continue
        ours[key(r)][r["format"]] = r
    print("| D | H/Hkv | B | Lq | Lk | SDPA best | ms | dense ms | x | paged ms | x | TB/s | q8 ms | speedup |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    fails = []
    n16 = 0
    nq = 0
    for k in sorted(ours):
        b, h, hkv, lq, lk, d = k
        s = best.get(k)
        row = ours[k]
        cells = []
        sd = s[0] if s else float("nan")
        for f in ("dense", "paged"):
            r = row.get(f)
            if r is None:
                cells += ["", ""]
                continue
            ms = float(r["ms"])
            x = ms / sd if s else float("nan")
            cells += [f"{ms:.4f}", f"{x:.2f}"]
            if s:
                n16 += 1
                if x > 1.0:
                    fails.append(f"{f} D={d} H={h}/{hkv} B={b} Lq={lq} Lk={lk}: {x:.2f}x SDPA")
            kvb = int(r["kv_bytes"])
            if kvb > 1e9 and float(r["tb_s"]) < 0.8 * a.copy_tbs:
                fails.append(f"{f} D={d} H={h}/{hkv} B={b} Lq={lq} Lk={lk}: {float(r['tb_s']):.2f} TB/s < 80 % of {a.copy_tbs}")
        tb = row.get("paged", row.get("dense", {})).get("tb_s", "")
        q = row.get("q8")
        qc = ["", ""]
        if q is not None:
            qms = float(q["ms"])
            sp = sd / qms if s else float("nan")
            qc = [f"{qms:.4f}", f"{sp:.2f}x"]
            if s and lk >= 8192:
                nq += 1
                if sp < 1.7:
                    fails.append(f"q8 D={d} H={h}/{hkv} B={b} Lq={lq} Lk={lk}: {sp:.2f}x faster than SDPA (< 1.7x)")
        print(f"| {d} | {h}/{hkv} | {b} | {lq} | {lk} | {s[1] if s else '-'} | {sd:.4f} | " + " | ".join(cells[:4])
              + f" | {tb} | " + " | ".join(qc) + " |")
    for r in appends:
        print(f"\nappend of one token, B={r['batch']}, Hkv={r['kv_heads']}, D={r['head_dim']}: "
              f"{float(r['ms']) * 1000:.2f} us" + ("" if float(r["ms"]) * 1000 < 10 or int(r["batch"]) != 64 else "  (target < 10 us)"))
    print(f"\n{n16} 16-bit points and {nq} quantized points compared; {len(fails)} miss a target:")
    for x in fails:
        print("- " + x)


if __name__ == "__main__":
    main()
