#!/usr/bin/env python3
"""Times PyTorch scaled_dot_product_attention with the FlashAttention-2 and cuDNN backends on the shapes
of `sageptx bench`: CUDA events, warm-up calls, median of --runs timed calls, fresh random fp16 inputs,
several input sets when one set is smaller than twice the L2 cache. Writes one CSV row per point."""
import argparse
import csv
import math
import statistics

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as F

BACKENDS = {"fa2": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}


def length(text):
    t = text.strip().lower()
    return int(t[:-1]) * 1024 if t.endswith("k") else int(t)


def time_backend(name, sets, causal, warmup, runs):
    with sdpa_kernel(BACKENDS[name]):
        for i in range(warmup):
            q, k, v = sets[i % len(sets)]
            F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
        for i in range(runs):
            q, k, v = sets[i % len(sets)]
            starts[i].record()
            F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            ends[i].record()
        torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--heads", type=int, default=32)
    # the same option names and forms as `sageptx bench` (--head-dims / --seq-lens kept as old spellings)
    p.add_argument("--head-dim", "--head-dims", dest="head_dims", default="64,128")
    p.add_argument("--seq", "--seq-lens", dest="seq_lens", default="1k,2k,4k,8k,16k,32k")
    p.add_argument("--causal", default="both", choices=["false", "true", "both", "false,true", "no", "yes"])
    p.add_argument("--backends", default="fa2,cudnn")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--out", required=True, help="CSV file to write")
    a = p.parse_args()
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2 = getattr(props, "L2_cache_size", 50 * 2**20)
    causals = {"false": [False], "no": [False], "true": [True], "yes": [True], "both": [False, True],
               "false,true": [False, True]}[a.causal]
    gen = torch.Generator(device=dev)
    gen.manual_seed(1234)
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["gpu", "backend", "batch", "heads", "head_dim", "seq_len", "causal", "runs", "ms", "tflops"])
        for d in [int(x) for x in a.head_dims.split(",")]:
            for causal in causals:
                for n in [length(x) for x in a.seq_lens.split(",")]:
                    shape = (a.batch, a.heads, n, d)
                    set_bytes = 4 * math.prod(shape) * 2
                    count = max(1, min(16, math.ceil(2 * l2 / set_bytes)))
                    sets = [tuple(torch.randn(shape, device=dev, dtype=torch.float16, generator=gen) for _ in range(3))
                            for _ in range(count)]
                    flops = 4.0 * a.batch * a.heads * n * n * d / (2 if causal else 1)
                    for name in a.backends.split(","):
                        try:
                            ms = time_backend(name, sets, causal, a.warmup, a.runs)
                            tf = flops / (ms * 1e-3) / 1e12
                        except RuntimeError as e:
                            print(f"{name} D={d} N={n} causal={causal}: not run ({str(e).splitlines()[0]})")
                            ms, tf = float("nan"), float("nan")
                        w.writerow([props.name, name, a.batch, a.heads, d, n, causal, a.runs, f"{ms:.4f}", f"{tf:.1f}"])
                        f.flush()
                        print(f"{name:6s} D={d:4d} N={n:6d} causal={str(causal):5s} {ms:9.3f} ms {tf:7.1f} TFLOP/s", flush=True)
                    del sets
                    torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
