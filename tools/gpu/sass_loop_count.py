#!/usr/bin/env python3
"""Counts the SASS instructions of a kernel's key loop, by class, from `cuobjdump -sass` output.

The key loop is the code between the target of the function's last backward branch to the key loop
(the largest backward `BRA`) and that branch. Prints one line per function:
  name <tab> loop instructions <tab> MMA (IMMA+QMMA+HMMA) <tab> non-MMA <tab> ratio <tab> class=count ...
and the whole function's LDL/STL count (spills). Lines whose mnemonic an older cuobjdump cannot print
(QMMA on CUDA 11.x) are classified from their encoding (opcode 0x27a = QMMA).
Usage: cuobjdump -sass x.cubin | sass_loop_count.py [--label NAME] [--tsv]
"""
import re
import sys
from collections import Counter

INSN = re.compile(r"^\s+/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;?\s*/\*\s*0x([0-9a-f]{16})\s*\*/")
BLANK = re.compile(r"^\s+/\*\s*0x([0-9a-f]{16})\s*\*/\s*$")
FUNC = re.compile(r"^\s+Function\s*:\s*(\S+)")
UNKNOWN_OPCODES = {0x27a: "QMMA"}
MMA = ("IMMA", "QMMA", "HMMA")


def parse(lines):
    funcs = []
    cur = None
    pending = None  # an encoding line whose instruction text was blank
    last_addr = -16
    for line in lines:
        m = FUNC.match(line)
        if m:
            cur = {"name": m.group(1), "insns": []}
            funcs.append(cur)
            last_addr = -16
            continue
        if cur is None:
            continue
        m = INSN.match(line)
        if m:
            addr = int(m.group(1), 16)
            text = m.group(2).strip()
            cur["insns"].append((addr, text, int(m.group(3), 16)))
            last_addr = addr
            pending = "second"
            continue
        m = BLANK.match(line)
        if m:
            word = int(m.group(1), 16)
            if pending == "second":
                pending = None      # the second half of the previous instruction
            else:
                # an instruction the disassembler printed without text (first half of a pair)
                last_addr += 16
                cur["insns"].append((last_addr, "", word))
                pending = "second"
    return funcs


def mnemonic(text, word):
    if not text:
        return UNKNOWN_OPCODES.get(word & 0xfff, "op_%03x" % (word & 0xfff))
    t = re.sub(r"^@!?U?P[T0-9]+\s+", "", text)
    op = t.split()[0] if t.split() else ""
    return op.split(".")[0]


def loop_range(insns):
    best = None
    for addr, text, word in insns:
        m = re.search(r"\bBRA\s+(?:`?\(?)(0x[0-9a-f]+)", text)
        if m:
            target = int(m.group(1), 16)
            if target < addr and (best is None or addr - target > best[1] - best[0]):
                best = (target, addr)
    return best


def main():
    label = None
    tsv = "--tsv" in sys.argv
    if "--label" in sys.argv:
        label = sys.argv[sys.argv.index("--label") + 1]
    funcs = parse(sys.stdin.read().splitlines())
    for f in funcs:
        insns = f["insns"]
        spills = sum(1 for _, t, w in insns if mnemonic(t, w) in ("LDL", "STL"))
        rng = loop_range(insns)
        if rng is None:
            print(f"{label or f['name']}\tno loop\tLDL/STL {spills}")
            continue
        body = [(a, t, w) for a, t, w in insns if rng[0] <= a <= rng[1]]
        c = Counter(mnemonic(t, w) for _, t, w in body)
        nops = c.pop("NOP", 0)
        mma = sum(c[m] for m in MMA)
        total = sum(c.values())
        other = total - mma
        classes = " ".join(f"{k}={v}" for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
        ratio = other / mma if mma else float("inf")
        if tsv:
            print("\t".join([label or f["name"], str(total), str(mma), str(other), f"{ratio:.2f}", str(spills), classes]))
        else:
            print(f"{label or f['name']}: loop {total} instructions (+{nops} NOP), MMA {mma} "
                  f"({' '.join(f'{m}={c[m]}' for m in MMA if c[m])}), other {other}, other/MMA {ratio:.2f}, "
                  f"LDL/STL in function {spills}\n    {classes}")


if __name__ == "__main__":
    main()
