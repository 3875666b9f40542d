#!/usr/bin/env python3
"""PyTorch scaled_dot_product_attention on the decode shapes of issue 14 (io.sageptx.bench.DecodeBenchmark's
grid): q [B, H, Lq, D], k and v [B, Hkv, Lk, D] fp16/bf16, no mask for Lq = 1 and the bottom-right causal mask
(torch.nn.attention.bias.causal_lower_right) for Lq > 1. Per shape every backend of --backends is timed
(CUDA events around each call, warm-up calls first, median of --runs); GQA runs natively (enable_gqa=True)
where the backend takes it, else with K/V expanded to H heads before timing (gqa column: native/expanded).
One CSV row per (shape, backend) that ran; tools/decode_compare.py keeps the best per shape."""
import argparse
import csv
import statistics
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

try:
    from torch.nn.attention.bias import causal_lower_right
except ImportError:  # older PyTorch
    causal_lower_right = None

BACKENDS = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION}


def length(text):
    t = text.strip().lower()
    return int(t[:-1]) * 1024 if t.endswith("k") else int(t)


def ints(text):
    return [length(x) for x in text.split(",") if x.strip()]


WARM_S = 0.05


def time_call(fn, warmup, runs):
    # at least `warmup` calls and WARM_S seconds (as io.sageptx.bench.WarmUp, 50 ms in DecodeBenchmark):
    # timing starts in the call's own steady state, not in the power-capped transient of the random fill
    # before it
    t0 = time.perf_counter()
    n = 0
    while n < warmup or time.perf_counter() - t0 < WARM_S:
        fn()
        n += 1
        if n % 8 == 0 or n >= warmup:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(runs)]
    for i in range(runs):
        starts[i].record()
        fn()
        ends[i].record()
    torch.cuda.synchronize()
    return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch", default="1,8,32,64")
    p.add_argument("--lq", default="1,4,16")
    p.add_argument("--lk", default="1k,8k,32k,128k")
    p.add_argument("--heads", default="32/8,32/4,32/32")
    p.add_argument("--dims", default="64,128")
    p.add_argument("--dtype", default="fp16", choices=["fp16", "bf16"])
    p.add_argument("--backends", default="flash,cudnn,efficient")
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--max-gb", type=float, default=40.0, help="skip shapes whose K+V exceed this (GB)")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    dt = torch.float16 if a.dtype == "fp16" else torch.bfloat16
    gen = torch.Generator(device=dev)
    gen.manual_seed(1234)
    heads = [tuple(int(x) for x in h.split("/")) for h in a.heads.split(",")]
    # about a second at a large shape: the first points must not run at idle clocks
    q = torch.randn(32, 32, 1, 128, device=dev, dtype=dt, generator=gen)
    k = torch.randn(32, 8, 8192, 128, device=dev, dtype=dt, generator=gen)
    with sdpa_kernel(BACKENDS["flash"]):
        try:
            time_call(lambda: F.scaled_dot_product_attention(q, k, k, enable_gqa=True), 5, 200)
        except RuntimeError:
            pass
    del q, k
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["gpu", "backend", "dtype", "batch", "heads", "kv_heads", "lq", "lk", "head_dim", "gqa", "ms", "kv_bytes",
                    "tb_s"])
        for d in ints(a.dims):
            for (h, hkv) in heads:
                for b in ints(a.batch):
                    for lk in ints(a.lk):
                        kv_bytes = 4 * b * hkv * lk * d
                        if kv_bytes / 1e9 > a.max_gb:
                            continue
                        k = torch.randn(b, hkv, lk, d, device=dev, dtype=dt, generator=gen)
                        v = torch.randn(b, hkv, lk, d, device=dev, dtype=dt, generator=gen)
                        for lq in ints(a.lq):
                            q = torch.randn(b, h, lq, d, device=dev, dtype=dt, generator=gen)
                            mask = None
                            if lq > 1:
                                if causal_lower_right is None:
                                    print(f"lq={lq}: no causal_lower_right in this PyTorch; skipped")
                                    continue
                                mask = causal_lower_right(lq, lk)
                            for name in a.backends.split(","):
                                ms, mode = float("nan"), ""
                                with sdpa_kernel(BACKENDS[name]):
                                    try:
                                        ms = time_call(lambda: F.scaled_dot_product_attention(
                                            q, k, v, attn_mask=mask, enable_gqa=(h != hkv)), a.warmup, a.runs)
                                        mode = "native" if h != hkv else "mha"
                                    except RuntimeError as e:
                                        err = str(e).splitlines()[0][:120]
                                        if h != hkv:
                                            try:
                                                ke = k.repeat_interleave(h // hkv, dim=1)
                                                ve = v.repeat_interleave(h // hkv, dim=1)
                                                ms = time_call(lambda: F.scaled_dot_product_attention(
                                                    q, ke, ve, attn_mask=mask), a.warmup, a.runs)
                                                mode = "expanded"
                                                del ke, ve
                                            except (RuntimeError, torch.OutOfMemoryError) as e2:
                                                err = str(e2).splitlines()[0][:120]
                                        if mode == "":
                                            print(f"{name:9s} D={d} H={h}/{hkv} B={b} Lq={lq} Lk={lk}: not run ({err})")
                                if mode:
                                    tb = kv_bytes / (ms * 1e-3) / 1e12
                                    w.writerow([props.name, name, a.dtype, b, h, hkv, lq, lk, d, mode, f"{ms:.5f}", kv_bytes,
                                                f"{tb:.3f}"])
                                    f.flush()
                                    print(f"{name:9s} D={d:3d} H={h}/{hkv:<2d} B={b:2d} Lq={lq:2d} Lk={lk:6d} {mode:8s} "
                                          f"{ms:9.4f} ms {tb:6.2f} TB/s", flush=True)
                            del q
                        del k, v
                        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
