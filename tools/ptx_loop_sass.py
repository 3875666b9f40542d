#!/usr/bin/env python3
"""SASS instructions of one iteration of a decode kernel's key loop, without a disassembler.

Assembles the PTX with ptxas as it is and with the loop body (LOOP: .. '@%p4 bra.uni LOOP;') emitted twice
(labels inside renamed); the difference of the .text sizes, / 16 bytes per instruction (sm_80 .. sm_120), is
the body. --typical first cuts what a tile in the middle of a sequence skips: the O rescale body (NORESCALE),
the mask section (NOMASK) and the zero-filling K copy of a partial tile (KPARTL .. KDONEL).

usage: ptx_loop_sass.py kernel.ptx sm_90 [--typical]
(docs/notes/decode.md, "Instructions per K/V byte", was measured with it; ptxas on PATH)
"""
import os
import re
import struct
import subprocess
import sys
import tempfile


def text_instructions(cubin):
    b = open(cubin, 'rb').read()
    shoff = struct.unpack_from('<Q', b, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', b, 0x3A)
    secs = [struct.unpack_from('<IIQQQQIIQQ', b, shoff + i * shentsize) for i in range(shnum)]
    so = secs[shstrndx][4]
    name = lambda s: b[so + s[0]:b.index(b'\0', so + s[0])].decode()
    return sum(s[5] for s in secs if name(s).startswith('.text.')) // 16


def assemble(ptx, arch):
    d = tempfile.mkdtemp(prefix='ptx-loop-')
    p, c = os.path.join(d, 'k.ptx'), os.path.join(d, 'k.cubin')
    open(p, 'w').write(ptx)
    r = subprocess.run(['ptxas', '-arch=' + arch, '-v', p, '-o', c], capture_output=True, text=True)
    if r.returncode:
        sys.exit(r.stderr[:4000])
    regs = re.search(r'Used (\d+) registers', r.stderr).group(1)
    spills = re.search(r'(\d+) bytes spill stores', r.stderr).group(1)
    return text_instructions(c), regs, spills


def typical(lines):
    i0 = [i for i, l in enumerate(lines) if l.strip() == 'LOOP:'][0]
    out, skip = [], False
    for i, l in enumerate(lines):
        t = l.strip()
        if i > i0 and (t.startswith('@!%p4 bra.uni NORESCALE') or t.startswith('@!%pmask bra.uni NOMASK')
                       or t.startswith('@!%p5 bra.uni KPARTL')):
            skip = True
            out.append(l)
            continue
        if skip and t in ('NORESCALE:', 'NOMASK:', 'KDONEL:'):
            skip = False
        if skip and (t == 'KPARTL:' or t.startswith('bra.uni KDONEL')):
            out.append(l)
            continue
        if not skip:
            out.append(l)
    return out


def main():
    path, arch = sys.argv[1], sys.argv[2]
    lines = open(path).read().split('\n')
    if '--typical' in sys.argv:
        lines = typical(lines)
    i0 = [i for i, l in enumerate(lines) if l.strip() == 'LOOP:'][0]
    i1 = [i for i, l in enumerate(lines) if '@%p4 bra.uni LOOP;' in l][0]
    body = lines[i0 + 1:i1]
    labels = [l.strip()[:-1] for l in body if re.match(r'^\s*[A-Za-z_]\w*:\s*$', l)]
    dup = []
    for l in body:
        for lb in labels:
            l = re.sub(r'\b' + re.escape(lb) + r'\b', lb + '_DUP', l)
        dup.append(l)
    n1, regs, spills = assemble('\n'.join(lines), arch)
    n2, _, _ = assemble('\n'.join(lines[:i0 + 1] + body + dup + lines[i1:]), arch)
    print(f"{path} {arch}: kernel {n1} SASS, {regs} registers, {spills} spill bytes; loop body {n2 - n1} SASS per tile")


if __name__ == '__main__':
    main()
