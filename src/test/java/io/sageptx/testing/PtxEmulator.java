package io.sageptx.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Map.Entry;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.sageptx.numerics.Half;

/**
 * A small interpreter of the PTX subset SagePTX's decode kernels use, for tests without a GPU: it runs a
 * kernel's CTAs one after another, each thread with its own registers, warps in lockstep only where the
 * PTX ISA requires it (the .sync/.aligned collectives: shfl.sync, ldmatrix, mma.sync, bar.warp.sync; and
 * bar.sync for the CTA), which it checks (a collective reached by some lanes of a warp only, or by lanes
 * at different instructions, is an error). Semantics are those of the PTX ISA document, written
 * independently of the kernels: mma.sync m16n8k16 fragment layouts, ldmatrix (.trans), cp.async with
 * src-size zero fill, whose copies land only when a cp.async.wait_group retires their group (so a read
 * before the wait sees stale shared memory, which starts as 0xFF bytes: NaN in every float format).
 * Global memory is a set of allocations; any access outside them (cp.async sources included, even with
 * src-size 0) throws {@link Fault}, like compute-sanitizer's memcheck. FP32 arithmetic is Java float
 * (round to nearest); ex2/lg2.approx are computed exactly and rounded; mma products are summed exactly in
 * double and rounded once. Not a performance model and not the whole ISA: an unknown instruction throws.
 */
public final class PtxEmulator {

    /** An access outside every allocation, a misaligned access, or a broken collective. */
    public static final class Fault extends RuntimeException {
        Fault(String msg) {
            super(msg);
        }
    }

    // ------------------------------------------------------------------------------------------ memory

    /** Device memory: allocations at fixed, 256-byte aligned addresses. Little endian. */
    public static final class Memory {
        private final TreeMap<Long, byte[]> allocs = new TreeMap<>();
        private long next = 0x1000_0000L;

        public long alloc(long bytes) {
            if (bytes <= 0 || bytes > Integer.MAX_VALUE) throw new IllegalArgumentException("alloc " + bytes);
            long base = next;
            allocs.put(base, new byte[(int) bytes]);
            next = (base + bytes + 0x1000 + 255) / 256 * 256;
            return base;
        }

        private byte[] find(long addr, int n, String what) {
            Entry<Long, byte[]> e = allocs.floorEntry(addr);
            if (e == null || addr + n > e.getKey() + e.getValue().length) {
                throw new Fault(what + ": " + n + " bytes at 0x" + Long.toHexString(addr) + " are outside every allocation");
            }
            return e.getValue();
        }

        public void check(long addr, int n, String what) {
            find(addr, n, what);
        }

        public long read(long addr, int n) {
            byte[] a = find(addr, n, "read");
            int off = (int) (addr - allocs.floorKey(addr));
            long v = 0;
            for (int i = n - 1; i >= 0; i--) v = (v << 8) | (a[off + i] & 0xffL);
            return v;
        }

        public void write(long addr, int n, long v) {
            byte[] a = find(addr, n, "write");
            int off = (int) (addr - allocs.floorKey(addr));
            for (int i = 0; i < n; i++) {
                a[off + i] = (byte) v;
                v >>>= 8;
            }
        }

        public long put(short[] x) {
            long a = alloc(2L * Math.max(1, x.length));
            for (int i = 0; i < x.length; i++) write(a + 2L * i, 2, x[i]);
            return a;
        }

        public long put(float[] x) {
            long a = alloc(4L * Math.max(1, x.length));
            for (int i = 0; i < x.length; i++) write(a + 4L * i, 4, Float.floatToRawIntBits(x[i]));
            return a;
        }

        public long put(int[] x) {
            long a = alloc(4L * Math.max(1, x.length));
            for (int i = 0; i < x.length; i++) write(a + 4L * i, 4, x[i]);
            return a;
        }

        public long put(byte[] x) {
            long a = alloc(Math.max(1, x.length));
            for (int i = 0; i < x.length; i++) write(a + i, 1, x[i]);
            return a;
        }

        /** An allocation filled with one byte value (0xFF: NaN in every float format). */
        public long fill(long bytes, int value) {
            long a = alloc(bytes);
            java.util.Arrays.fill(allocs.get(a), (byte) value);
            return a;
        }

        /** Sets {@code bytes} bytes at {@code addr} (inside one allocation) to {@code value}. */
        public void fill(long addr, long bytes, int value) {
            byte[] b = find(addr, (int) bytes, "fill");
            int off = (int) (addr - allocs.floorKey(addr));
            java.util.Arrays.fill(b, off, off + (int) bytes, (byte) value);
        }

        public short[] shorts(long addr, int n) {
            short[] o = new short[n];
            for (int i = 0; i < n; i++) o[i] = (short) read(addr + 2L * i, 2);
            return o;
        }

        public float[] floats(long addr, int n) {
            float[] o = new float[n];
            for (int i = 0; i < n; i++) o[i] = Float.intBitsToFloat((int) read(addr + 4L * i, 4));
            return o;
        }

        public int[] ints(long addr, int n) {
            int[] o = new int[n];
            for (int i = 0; i < n; i++) o[i] = (int) read(addr + 4L * i, 4);
            return o;
        }

        public byte[] bytes(long addr, int n) {
            byte[] o = new byte[n];
            for (int i = 0; i < n; i++) o[i] = (byte) read(addr + i, 1);
            return o;
        }
    }

    // ------------------------------------------------------------------------------------------ program

    private enum Kind { REG, IMM, VEC, MEM, LABEL, SPECIAL, SYMBOL }

    private static final class Operand {
        Kind kind;
        int reg = -1;          // REG; MEM base register
        long imm;              // IMM; MEM offset
        int[] vec;             // VEC: register indices (-1: immediate, value in vecImm)
        long[] vecImm;
        String name;           // MEM: parameter name; LABEL; SPECIAL; SYMBOL
        int target = -1;       // LABEL
    }

    private static final class Instr {
        final String text;
        final int line;
        String op;
        String[] parts;        // op split at '.'
        Operand[] args;
        int guard = -1;
        boolean guardNeg;
        Exec exec;
        boolean collective;

        Instr(String text, int line) {
            this.text = text;
            this.line = line;
        }

        @Override
        public String toString() {
            return "line " + line + ": " + text;
        }
    }

    private interface Exec {
        void run(Thread th, Instr in);
    }

    private record Param(String name, int bytes) {
    }

    /** One parsed entry function. */
    public static final class Kernel {
        final String name;
        final List<Param> params = new ArrayList<>();
        final Map<String, Integer> regs = new HashMap<>();
        final List<Instr> code = new ArrayList<>();
        final Map<String, Integer> labels = new HashMap<>();
        /** Static shared variables: name -> byte offset; the dynamic window (smem) starts after them. */
        final Map<String, Integer> shared = new HashMap<>();
        int staticShared;
        int maxThreads;

        Kernel(String name) {
            this.name = name;
        }

        public String name() {
            return name;
        }

        int reg(String n) {
            Integer i = regs.get(n);
            if (i == null) throw new IllegalStateException("kernel " + name + ": undeclared register " + n);
            return i;
        }
    }

    private static final Pattern ENTRY = Pattern.compile("\\.visible\\s+\\.entry\\s+(\\w+)\\s*\\(");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+\\.(u64|u32|f32|b64|b32|s32)\\s+(\\w+)");
    private static final Pattern REGDECL = Pattern.compile("\\.reg\\s+\\.(\\w+)\\s+(.*);");
    private static final Pattern RANGE = Pattern.compile("(%\\w+)<(\\d+)>");

    /** Parses the entries of a PTX module. */
    public static Map<String, Kernel> parse(String ptx) {
        Map<String, Kernel> out = new LinkedHashMap<>();
        String[] lines = ptx.split("\n");
        Kernel k = null;
        boolean inParams = false;
        boolean inBody = false;
        for (int ln = 0; ln < lines.length; ln++) {
            String raw = lines[ln];
            int c = raw.indexOf("//");
            String s = (c >= 0 ? raw.substring(0, c) : raw).trim();
            if (s.isEmpty()) continue;
            Matcher em = ENTRY.matcher(s);
            if (em.find()) {
                k = new Kernel(em.group(1));
                out.put(k.name, k);
                inParams = true;
                continue;
            }
            if (k == null) continue;
            if (inParams) {
                Matcher pm = PARAM.matcher(s);
                if (pm.find()) {
                    String t = pm.group(1);
                    k.params.add(new Param(pm.group(2), t.equals("u64") || t.equals("b64") ? 8 : 4));
                }
                if (s.startsWith(")")) inParams = false;
                continue;
            }
            if (s.startsWith(".maxntid")) {
                k.maxThreads = Integer.parseInt(s.replaceAll("[^0-9,]", "").split(",")[0]);
                continue;
            }
            if (s.equals("{")) {
                inBody = true;
                continue;
            }
            if (s.equals("}")) {
                inBody = false;
                resolve(k);
                k = null;
                continue;
            }
            if (!inBody) continue;
            if (s.startsWith(".reg")) {
                Matcher rm = REGDECL.matcher(s);
                if (!rm.find()) throw new IllegalStateException("line " + (ln + 1) + ": bad .reg: " + s);
                for (String n : rm.group(2).split(",")) {
                    n = n.trim();
                    Matcher r = RANGE.matcher(n);
                    if (r.matches()) {
                        int cnt = Integer.parseInt(r.group(2));
                        for (int i = 0; i < cnt; i++) k.regs.put(r.group(1) + i, k.regs.size());
                    } else {
                        k.regs.put(n, k.regs.size());
                    }
                }
                continue;
            }
            if (s.startsWith(".shared")) {
                // .shared .align A .<type> name[count]: count elements of the type's width (b8/u8/s8: 1 byte)
                Matcher sm = Pattern.compile("\\.shared\\s+\\.align\\s+(\\d+)\\s+\\.([bsuf])(\\d+)\\s+(\\w+)\\[(\\d+)\\]")
                        .matcher(s);
                if (!sm.find()) throw new IllegalStateException("line " + (ln + 1) + ": bad .shared: " + s);
                int align = Integer.parseInt(sm.group(1));
                k.staticShared = (k.staticShared + align - 1) / align * align;
                k.shared.put(sm.group(4), k.staticShared);
                k.staticShared += Integer.parseInt(sm.group(5)) * (Integer.parseInt(sm.group(3)) / 8);
                continue;
            }
            if (s.startsWith(".")) continue; // other directives
            if (s.endsWith(":")) {
                k.labels.put(s.substring(0, s.length() - 1), k.code.size());
                continue;
            }
            for (String stmt : s.split(";")) {
                stmt = stmt.trim();
                if (!stmt.isEmpty()) k.code.add(parseInstr(k, stmt, ln + 1));
            }
        }
        return out;
    }

    private static void resolve(Kernel k) {
        for (Instr in : k.code) {
            for (Operand o : in.args) {
                if (o.kind == Kind.LABEL) {
                    Integer t = k.labels.get(o.name);
                    if (t == null) throw new IllegalStateException(in + ": unknown label " + o.name);
                    o.target = t;
                }
            }
        }
    }

    private static Instr parseInstr(Kernel k, String s, int line) {
        Instr in = new Instr(s, line);
        if (s.startsWith("@")) {
            int sp = s.indexOf(' ');
            String g = s.substring(1, sp);
            in.guardNeg = g.startsWith("!");
            in.guard = k.reg(in.guardNeg ? g.substring(1) : g);
            s = s.substring(sp + 1).trim();
        }
        int sp = s.indexOf(' ');
        in.op = sp < 0 ? s : s.substring(0, sp);
        in.parts = in.op.split("\\.");
        String rest = sp < 0 ? "" : s.substring(sp + 1).trim();
        List<String> toks = splitTop(rest);
        in.args = new Operand[toks.size()];
        boolean branch = in.parts[0].equals("bra");
        for (int i = 0; i < toks.size(); i++) in.args[i] = operand(k, toks.get(i), branch);
        in.exec = compile(in);
        return in;
    }

    private static List<String> splitTop(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        StringBuilder cur = new StringBuilder();
        for (char ch : s.toCharArray()) {
            if (ch == '{' || ch == '[') depth++;
            if (ch == '}' || ch == ']') depth--;
            if (ch == ',' && depth == 0) {
                out.add(cur.toString().trim());
                cur.setLength(0);
            } else {
                cur.append(ch);
            }
        }
        if (cur.length() > 0) out.add(cur.toString().trim());
        return out;
    }

    private static Operand operand(Kernel k, String t, boolean branch) {
        Operand o = new Operand();
        if (t.startsWith("{")) {
            List<String> el = splitTop(t.substring(1, t.length() - 1));
            o.kind = Kind.VEC;
            o.vec = new int[el.size()];
            o.vecImm = new long[el.size()];
            for (int i = 0; i < el.size(); i++) {
                String e = el.get(i);
                if (e.startsWith("%")) o.vec[i] = k.reg(e);
                else {
                    o.vec[i] = -1;
                    o.vecImm[i] = imm(e);
                }
            }
            return o;
        }
        if (t.startsWith("[")) {
            String in = t.substring(1, t.length() - 1).trim();
            o.kind = Kind.MEM;
            int plus = in.indexOf('+');
            String base = plus < 0 ? in : in.substring(0, plus).trim();
            if (plus >= 0) o.imm = imm(in.substring(plus + 1).trim());
            if (base.startsWith("%")) o.reg = k.reg(base);
            else o.name = base;
            return o;
        }
        if (t.startsWith("%")) {
            if (t.startsWith("%tid.") || t.startsWith("%ctaid.") || t.startsWith("%nctaid.") || t.startsWith("%ntid.")
                    || t.equals("%laneid")) {
                o.kind = Kind.SPECIAL;
                o.name = t;
                return o;
            }
            o.kind = Kind.REG;
            o.reg = k.reg(t);
            return o;
        }
        if (branch) {
            o.kind = Kind.LABEL;
            o.name = t;
            return o;
        }
        if (t.equals("smem") || k.shared.containsKey(t)) {
            o.kind = Kind.SYMBOL;
            o.name = t;
            o.imm = t.equals("smem") ? -1 : k.shared.get(t);
            return o;
        }
        o.kind = Kind.IMM;
        o.imm = imm(t);
        return o;
    }

    private static long imm(String t) {
        t = t.trim();
        if (t.startsWith("0f") || t.startsWith("0F")) return Long.parseLong(t.substring(2), 16);
        if (t.startsWith("0x") || t.startsWith("0X")) return Long.parseUnsignedLong(t.substring(2), 16);
        if (t.startsWith("-0x")) return -Long.parseLong(t.substring(3), 16);
        return Long.parseLong(t);
    }

    // ------------------------------------------------------------------------------------------ threads

    private static final class Thread {
        final long[] r;
        final int tid;
        final int lane;
        final int warp;
        int pc;
        boolean done;
        boolean blocked;
        final int[] ctaid;
        final int[] nctaid;
        final int ntid;
        final Cta cta;
        // cp.async: pending copies (group number) and the open group
        final List<long[]> pending = new ArrayList<>(); // {group, dstShared, srcGlobal, size, srcSize}
        long group;

        Thread(int nregs, int tid, Cta cta, int[] ctaid, int[] nctaid, int ntid) {
            this.r = new long[nregs];
            this.tid = tid;
            this.lane = tid & 31;
            this.warp = tid >> 5;
            this.cta = cta;
            this.ctaid = ctaid;
            this.nctaid = nctaid;
            this.ntid = ntid;
        }
    }

    private static final class Cta {
        final byte[] smem;
        final Memory mem;
        final Map<String, Long> params;
        final Thread[] threads;
        final int dynBase;

        Cta(int staticBytes, int smemBytes, Memory mem, Map<String, Long> params, int n) {
            this.dynBase = (staticBytes + 127) / 128 * 128;
            this.smem = new byte[dynBase + smemBytes];
            java.util.Arrays.fill(smem, (byte) 0xFF);
            this.mem = mem;
            this.params = params;
            this.threads = new Thread[n];
        }

        long lds(long addr, int n, Instr in) {
            if (addr < 0 || addr + n > smem.length) {
                throw new Fault(in + ": shared read of " + n + " bytes at " + addr + " outside [0, " + smem.length + ")");
            }
            if (addr % n != 0 && n <= 16) throw new Fault(in + ": misaligned shared read at " + addr);
            long v = 0;
            for (int i = n - 1; i >= 0; i--) v = (v << 8) | (smem[(int) addr + i] & 0xffL);
            return v;
        }

        void sts(long addr, int n, long v, Instr in) {
            if (addr < 0 || addr + n > smem.length) {
                throw new Fault(in + ": shared write of " + n + " bytes at " + addr + " outside [0, " + smem.length + ")");
            }
            if (addr % n != 0) throw new Fault(in + ": misaligned shared write at " + addr);
            for (int i = 0; i < n; i++) {
                smem[(int) addr + i] = (byte) v;
                v >>>= 8;
            }
        }
    }

    // ------------------------------------------------------------------------------------------ launch

    /** Statistics of one launch. */
    public record Stats(long instructions, int ctas) {
    }

    /**
     * Runs {@code kernel} over the grid, CTA after CTA; {@code args} by parameter name: Long (u64) or
     * Integer (u32) or Float (f32). Throws {@link Fault} on a bad access or collective.
     */
    public static Stats launch(Kernel kernel, int gx, int gy, int gz, int threads, int smemBytes, Memory mem,
                               Map<String, Object> args) {
        Map<String, Long> params = new HashMap<>();
        for (Param p : kernel.params) {
            Object v = args.get(p.name());
            if (v == null) throw new IllegalArgumentException("kernel " + kernel.name + ": parameter " + p.name() + " not bound");
            long bits = v instanceof Float f ? Float.floatToRawIntBits(f) & 0xffffffffL
                    : v instanceof Integer i ? i & 0xffffffffL : (Long) v;
            params.put(p.name(), bits);
        }
        for (String n : args.keySet()) {
            if (kernel.params.stream().noneMatch(p -> p.name().equals(n))) {
                throw new IllegalArgumentException("kernel " + kernel.name + ": no parameter " + n);
            }
        }
        if (kernel.maxThreads > 0 && threads > kernel.maxThreads) throw new IllegalArgumentException("too many threads");
        long count = 0;
        int[] nct = {gx, gy, gz};
        for (int z = 0; z < gz; z++) {
            for (int y = 0; y < gy; y++) {
                for (int x = 0; x < gx; x++) {
                    count += runCta(kernel, new int[] {x, y, z}, nct, threads, smemBytes, mem, params);
                }
            }
        }
        return new Stats(count, gx * gy * gz);
    }

    private static long runCta(Kernel k, int[] ctaid, int[] nct, int n, int smemBytes, Memory mem, Map<String, Long> params) {
        Cta cta = new Cta(k.staticShared, smemBytes, mem, params, n);
        for (int t = 0; t < n; t++) cta.threads[t] = new Thread(k.regs.size(), t, cta, ctaid, nct, n);
        int warps = (n + 31) / 32;
        long steps = 0;
        while (true) {
            boolean progress = false;
            boolean allDone = true;
            for (int w = 0; w < warps; w++) {
                for (int l = 0; l < 32 && w * 32 + l < n; l++) {
                    Thread th = cta.threads[w * 32 + l];
                    if (th.done || th.blocked) continue;
                    steps += runUntilBlocked(k, th);
                    progress = true;
                }
                // a warp collective: every live lane of the warp at the same collective (not bar.sync)
                int pc = -1;
                boolean all = true;
                boolean any = false;
                boolean anyDone = false;
                for (int l = 0; l < 32 && w * 32 + l < n; l++) {
                    Thread th = cta.threads[w * 32 + l];
                    if (th.done) {
                        anyDone = true;
                        continue;
                    }
                    Instr in = k.code.get(th.pc);
                    if (!th.blocked || in.parts[0].equals("bar") && in.parts[1].equals("sync")) {
                        all = false;
                        continue;
                    }
                    any = true;
                    if (pc == -1) pc = th.pc;
                    else if (pc != th.pc) {
                        throw new Fault("warp " + w + " of CTA " + java.util.Arrays.toString(ctaid) + ": lanes at different "
                                + "collectives: " + k.code.get(pc) + " and " + in);
                    }
                }
                if (any && all) {
                    if (anyDone) throw new Fault("warp " + w + ": " + k.code.get(pc) + " with exited lanes");
                    collective(k, cta, w, n, k.code.get(pc));
                    progress = true;
                }
            }
            // bar.sync: every live thread of the CTA at a bar.sync
            boolean allAtBar = true;
            boolean anyLive = false;
            for (Thread th : cta.threads) {
                if (th.done) continue;
                anyLive = true;
                allDone = false;
                Instr in = k.code.get(th.pc);
                if (!(th.blocked && in.parts[0].equals("bar") && in.parts[1].equals("sync"))) allAtBar = false;
            }
            if (!anyLive) break;
            if (allAtBar) {
                for (Thread th : cta.threads) {
                    if (th.done) continue;
                    th.blocked = false;
                    th.pc++;
                }
                progress = true;
            }
            if (allDone) break;
            if (!progress) {
                StringBuilder sb = new StringBuilder("deadlock in CTA " + java.util.Arrays.toString(ctaid) + ":");
                for (Thread th : cta.threads) {
                    if (!th.done && th.tid % 32 == 0) sb.append("\n  thread ").append(th.tid).append(" at ").append(k.code.get(th.pc));
                }
                throw new Fault(sb.toString());
            }
        }
        return steps;
    }

    private static boolean guardPasses(Thread th, Instr in) {
        if (in.guard < 0) return true;
        boolean g = th.r[in.guard] != 0;
        return in.guardNeg != g;
    }

    private static long runUntilBlocked(Kernel k, Thread th) {
        long steps = 0;
        while (true) {
            if (th.pc >= k.code.size()) throw new Fault("thread " + th.tid + " ran off the end of " + k.name);
            Instr in = k.code.get(th.pc);
            steps++;
            if (steps > 50_000_000L) throw new Fault("thread " + th.tid + ": too many steps (a loop?) at " + in);
            if (in.collective) {
                if (in.guard >= 0) throw new Fault(in + ": predicated collective");
                th.blocked = true;
                return steps;
            }
            if (!guardPasses(th, in)) {
                th.pc++;
                continue;
            }
            String op = in.parts[0];
            if (op.equals("bra")) {
                th.pc = in.args[0].target;
                continue;
            }
            if (op.equals("ret") || op.equals("exit")) {
                th.done = true;
                return steps;
            }
            try {
                in.exec.run(th, in);
            } catch (Fault f) {
                throw f;
            } catch (RuntimeException e) {
                throw new IllegalStateException("thread " + th.tid + " CTA " + java.util.Arrays.toString(th.ctaid) + " at "
                        + in + ": " + e, e);
            }
            th.pc++;
        }
    }

    // ------------------------------------------------------------------------------------------ values

    private static long get(Thread th, Operand o) {
        switch (o.kind) {
            case REG:
                return th.r[o.reg];
            case IMM:
                return o.imm;
            case SYMBOL:
                return o.imm < 0 ? th.cta.dynBase : o.imm;
            case SPECIAL:
                return switch (o.name) {
                    case "%tid.x" -> th.tid;
                    case "%tid.y", "%tid.z" -> 0;
                    case "%ntid.x" -> th.ntid;
                    case "%ctaid.x" -> th.ctaid[0];
                    case "%ctaid.y" -> th.ctaid[1];
                    case "%ctaid.z" -> th.ctaid[2];
                    case "%nctaid.x" -> th.nctaid[0];
                    case "%nctaid.y" -> th.nctaid[1];
                    case "%nctaid.z" -> th.nctaid[2];
                    case "%laneid" -> th.lane;
                    default -> throw new IllegalStateException(o.name);
                };
            default:
                throw new IllegalStateException("operand kind " + o.kind);
        }
    }

    private static void set(Thread th, Operand o, long v) {
        if (o.kind != Kind.REG) throw new IllegalStateException("destination is not a register");
        th.r[o.reg] = v;
    }

    private static float f(long v) {
        return Float.intBitsToFloat((int) v);
    }

    private static long bits(float x) {
        return Float.floatToRawIntBits(x) & 0xffffffffL;
    }

    private static long u32(long v) {
        return v & 0xffffffffL;
    }

    private static int s32(long v) {
        return (int) v;
    }

    private static float ftz(float x) {
        return Math.abs(x) < Float.MIN_NORMAL && x != 0 ? Math.copySign(0f, x) : x;
    }

    /** max.f32 / min.f32: NaN only when both are NaN. */
    private static float fmax(float a, float b) {
        if (Float.isNaN(a)) return b;
        if (Float.isNaN(b)) return a;
        if (a == 0 && b == 0) return Float.floatToRawIntBits(a) == 0 ? a : b;
        return Math.max(a, b);
    }

    private static float fmin(float a, float b) {
        if (Float.isNaN(a)) return b;
        if (Float.isNaN(b)) return a;
        return Math.min(a, b);
    }

    private static float ex2(float x) {
        if (Float.isNaN(x)) return Float.NaN;
        return (float) Math.pow(2.0, x);
    }

    // ------------------------------------------------------------------------------------------ compile

    private static int width(String type) {
        return switch (type) {
            case "u8", "s8", "b8" -> 1;
            case "u16", "s16", "b16", "f16", "bf16" -> 2;
            case "u32", "s32", "b32", "f32" -> 4;
            case "u64", "s64", "b64", "f64" -> 8;
            default -> throw new IllegalStateException("type " + type);
        };
    }

    private static boolean isType(String p) {
        return p.matches("[usbf](8|16|32|64)|bf16|pred|f16x2|bf16x2");
    }

    private static String type(Instr in) {
        for (int i = in.parts.length - 1; i >= 1; i--) if (isType(in.parts[i])) return in.parts[i];
        throw new IllegalStateException(in + ": no type");
    }

    private static boolean has(Instr in, String mod) {
        for (int i = 1; i < in.parts.length; i++) if (in.parts[i].equals(mod)) return true;
        return false;
    }

    private static Exec compile(Instr in) {
        String op = in.parts[0];
        switch (op) {
            case "bra", "ret", "exit":
                return (th, x) -> { };
            case "mov": {
                String t = type(in);
                if (in.args[0].kind == Kind.VEC) { // mov.b32 {lo, hi}, r  (unpack)
                    return (th, x) -> {
                        long v = get(th, x.args[1]);
                        int w = 32 / x.args[0].vec.length;
                        for (int i = 0; i < x.args[0].vec.length; i++) {
                            th.r[x.args[0].vec[i]] = (v >>> (w * i)) & ((1L << w) - 1);
                        }
                    };
                }
                if (in.args[1].kind == Kind.VEC) { // mov.b32 r, {lo, hi} (pack)
                    return (th, x) -> {
                        int w = 32 / x.args[1].vec.length;
                        long v = 0;
                        for (int i = 0; i < x.args[1].vec.length; i++) {
                            long e = x.args[1].vec[i] < 0 ? x.args[1].vecImm[i] : th.r[x.args[1].vec[i]];
                            v |= (e & ((1L << w) - 1)) << (w * i);
                        }
                        th.r[x.args[0].reg] = v;
                    };
                }
                if (t.equals("pred")) return (th, x) -> set(th, x.args[0], get(th, x.args[1]) != 0 ? 1 : 0);
                int w = width(t);
                long mask = w == 8 ? -1L : (1L << (8 * w)) - 1;
                return (th, x) -> set(th, x.args[0], get(th, x.args[1]) & mask);
            }
            case "add", "sub", "mul", "mad", "div", "rem", "min", "max", "fma", "neg", "abs":
                return arith(in);
            case "shl", "shr", "and", "or", "xor", "not", "bfe", "prmt", "lop3":
                return bitwise(in);
            case "setp":
                return setp(in);
            case "selp": {
                String t = type(in);
                long mask = width(t) == 8 ? -1L : (1L << (8 * width(t))) - 1;
                return (th, x) -> set(th, x.args[0], (get(th, x.args[3]) != 0 ? get(th, x.args[1]) : get(th, x.args[2])) & mask);
            }
            case "cvt":
                return cvt(in);
            case "ex2":
                return (th, x) -> set(th, x.args[0], bits(ftz(ex2(ftz(f(get(th, x.args[1])))))));
            case "lg2":
                return (th, x) -> {
                    float a = f(get(th, x.args[1]));
                    float r = Float.isNaN(a) || a < 0 ? Float.NaN : a == 0 ? Float.NEGATIVE_INFINITY
                            : (float) (Math.log(a) / Math.log(2.0));
                    set(th, x.args[0], bits(r));
                };
            case "rcp":
                return (th, x) -> set(th, x.args[0], bits(1.0f / f(get(th, x.args[1]))));
            case "sqrt":
                return (th, x) -> set(th, x.args[0], bits((float) Math.sqrt(f(get(th, x.args[1])))));
            case "ld":
                return load(in);
            case "st":
                return store(in);
            case "red":
                return reduce(in);
            case "atom":
                return atomic(in);
            case "fence", "membar":
                // CTAs run one after another and threads one at a time: every access is already ordered
                return (th, x) -> { };
            case "cp":
                return cpAsync(in);
            case "shfl", "ldmatrix", "mma", "vote":
                in.collective = true;
                return (th, x) -> { };
            case "bar":
                in.collective = true;
                return (th, x) -> { };
            default:
                throw new IllegalStateException(in + ": unsupported instruction");
        }
    }

    private static Exec arith(Instr in) {
        String op = in.parts[0];
        String t = type(in);
        boolean lo = has(in, "lo");
        boolean wide = has(in, "wide");
        if (t.equals("f32")) {
            boolean ftz = has(in, "ftz");
            return switch (op) {
                case "add" -> (th, x) -> set(th, x.args[0], bits(fz(ftz, fz(ftz, f(get(th, x.args[1]))) + fz(ftz, f(get(th, x.args[2]))))));
                case "sub" -> (th, x) -> set(th, x.args[0], bits(fz(ftz, fz(ftz, f(get(th, x.args[1]))) - fz(ftz, f(get(th, x.args[2]))))));
                case "mul" -> (th, x) -> set(th, x.args[0], bits(fz(ftz, fz(ftz, f(get(th, x.args[1]))) * fz(ftz, f(get(th, x.args[2]))))));
                case "fma", "mad" -> (th, x) -> set(th, x.args[0], bits(fz(ftz, Math.fma(fz(ftz, f(get(th, x.args[1]))),
                        fz(ftz, f(get(th, x.args[2]))), fz(ftz, f(get(th, x.args[3])))))));
                case "max" -> (th, x) -> set(th, x.args[0], bits(fmax(f(get(th, x.args[1])), f(get(th, x.args[2])))));
                case "min" -> (th, x) -> set(th, x.args[0], bits(fmin(f(get(th, x.args[1])), f(get(th, x.args[2])))));
                case "neg" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) ^ 0x80000000L);
                case "abs" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) & 0x7fffffffL);
                case "div" -> (th, x) -> set(th, x.args[0], bits(f(get(th, x.args[1])) / f(get(th, x.args[2]))));
                default -> throw new IllegalStateException(in + ": unsupported");
            };
        }
        if (t.equals("f16x2") || t.equals("bf16x2")) {
            boolean bf = t.equals("bf16x2");
            return (th, x) -> {
                long r = 0;
                for (int h = 0; h < 2; h++) {
                    float a = half(get(th, x.args[1]) >>> (16 * h), bf);
                    float b = x.args.length > 2 ? half(get(th, x.args[2]) >>> (16 * h), bf) : 0;
                    float c = x.args.length > 3 ? half(get(th, x.args[3]) >>> (16 * h), bf) : 0;
                    float v = switch (op) {
                        case "add" -> a + b;
                        case "sub" -> a - b;
                        case "mul" -> a * b;
                        case "fma" -> (float) ((double) a * b + c);
                        default -> throw new IllegalStateException(x + ": unsupported");
                    };
                    r |= (toHalf(v, bf) & 0xffffL) << (16 * h);
                }
                set(th, x.args[0], r);
            };
        }
        boolean signed = t.startsWith("s");
        int w = width(t);
        if (w == 4) {
            return switch (op) {
                case "add" -> (th, x) -> set(th, x.args[0], u32(get(th, x.args[1]) + get(th, x.args[2])));
                case "sub" -> (th, x) -> set(th, x.args[0], u32(get(th, x.args[1]) - get(th, x.args[2])));
                case "mul" -> wide
                        ? (signed ? (th, x) -> set(th, x.args[0], (long) s32(get(th, x.args[1])) * s32(get(th, x.args[2])))
                                  : (th, x) -> set(th, x.args[0], u32(get(th, x.args[1])) * u32(get(th, x.args[2]))))
                        : (th, x) -> set(th, x.args[0], u32(get(th, x.args[1]) * get(th, x.args[2])));
                case "mad" -> wide
                        ? (th, x) -> set(th, x.args[0], u32(get(th, x.args[1])) * u32(get(th, x.args[2])) + get(th, x.args[3]))
                        : (th, x) -> set(th, x.args[0], u32(get(th, x.args[1]) * get(th, x.args[2]) + get(th, x.args[3])));
                case "div" -> signed ? (th, x) -> set(th, x.args[0], u32(s32(get(th, x.args[1])) / s32(get(th, x.args[2]))))
                        : (th, x) -> {
                            long b = u32(get(th, x.args[2]));
                            if (b == 0) throw new Fault(x + ": division by zero");
                            set(th, x.args[0], u32(get(th, x.args[1])) / b);
                        };
                case "rem" -> (th, x) -> {
                    long b = u32(get(th, x.args[2]));
                    if (b == 0) throw new Fault(x + ": division by zero");
                    set(th, x.args[0], u32(get(th, x.args[1])) % b);
                };
                case "min" -> signed ? (th, x) -> set(th, x.args[0], u32(Math.min(s32(get(th, x.args[1])), s32(get(th, x.args[2])))))
                        : (th, x) -> set(th, x.args[0], Math.min(u32(get(th, x.args[1])), u32(get(th, x.args[2]))));
                case "max" -> signed ? (th, x) -> set(th, x.args[0], u32(Math.max(s32(get(th, x.args[1])), s32(get(th, x.args[2])))))
                        : (th, x) -> set(th, x.args[0], Math.max(u32(get(th, x.args[1])), u32(get(th, x.args[2]))));
                case "neg" -> (th, x) -> set(th, x.args[0], u32(-get(th, x.args[1])));
                case "abs" -> (th, x) -> set(th, x.args[0], u32(Math.abs(s32(get(th, x.args[1])))));
                default -> throw new IllegalStateException(in + ": unsupported");
            };
        }
        if (w == 8) {
            return switch (op) {
                case "add" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) + get(th, x.args[2]));
                case "sub" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) - get(th, x.args[2]));
                case "mul" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) * get(th, x.args[2]));
                case "mad" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) * get(th, x.args[2]) + get(th, x.args[3]));
                case "min" -> (th, x) -> set(th, x.args[0], Math.min(get(th, x.args[1]), get(th, x.args[2])));
                case "max" -> (th, x) -> set(th, x.args[0], Math.max(get(th, x.args[1]), get(th, x.args[2])));
                default -> throw new IllegalStateException(in + ": unsupported");
            };
        }
        throw new IllegalStateException(in + ": unsupported width");
    }

    private static float fz(boolean ftz, float x) {
        return ftz ? ftz(x) : x;
    }

    private static float half(long bits, boolean bf) {
        short s = (short) bits;
        return bf ? Half.bf16ToFloat(s) : Half.halfToFloat(s);
    }

    private static short toHalf(float v, boolean bf) {
        return bf ? Half.floatToBf16(v) : Half.floatToHalf(v);
    }

    private static Exec bitwise(Instr in) {
        String op = in.parts[0];
        String t = type(in);
        if (t.equals("pred")) {
            return switch (op) {
                case "and" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) & get(th, x.args[2]));
                case "or" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) | get(th, x.args[2]));
                case "xor" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) ^ get(th, x.args[2]));
                case "not" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) ^ 1);
                default -> throw new IllegalStateException(in + ": unsupported");
            };
        }
        int w = width(t);
        long mask = w == 8 ? -1L : (1L << (8 * w)) - 1;
        return switch (op) {
            case "shl" -> (th, x) -> {
                long s = u32(get(th, x.args[2]));
                set(th, x.args[0], s >= 8L * w ? 0 : (get(th, x.args[1]) << s) & mask);
            };
            case "shr" -> t.startsWith("s")
                    ? (th, x) -> {
                        long s = Math.min(u32(get(th, x.args[2])), 8L * w - 1);
                        long v = w == 4 ? s32(get(th, x.args[1])) : get(th, x.args[1]);
                        set(th, x.args[0], (v >> s) & mask);
                    }
                    : (th, x) -> {
                        long s = u32(get(th, x.args[2]));
                        set(th, x.args[0], s >= 8L * w ? 0 : ((get(th, x.args[1]) & mask) >>> s) & mask);
                    };
            case "and" -> (th, x) -> set(th, x.args[0], get(th, x.args[1]) & get(th, x.args[2]) & mask);
            case "or" -> (th, x) -> set(th, x.args[0], (get(th, x.args[1]) | get(th, x.args[2])) & mask);
            case "xor" -> (th, x) -> set(th, x.args[0], (get(th, x.args[1]) ^ get(th, x.args[2])) & mask);
            case "not" -> (th, x) -> set(th, x.args[0], ~get(th, x.args[1]) & mask);
            case "bfe" -> (th, x) -> {
                if (!t.equals("u32")) throw new IllegalStateException(x + ": only bfe.u32");
                long pos = u32(get(th, x.args[2])) & 0xff;
                long len = u32(get(th, x.args[3])) & 0xff;
                long v = u32(get(th, x.args[1]));
                set(th, x.args[0], len == 0 ? 0 : (v >>> Math.min(pos, 31)) & ((1L << Math.min(len, 32)) - 1));
            };
            case "prmt" -> (th, x) -> {
                long a = u32(get(th, x.args[1]));
                long b = u32(get(th, x.args[2]));
                long c = u32(get(th, x.args[3]));
                long src = a | (b << 32);
                long r = 0;
                for (int i = 0; i < 4; i++) {
                    int sel = (int) (c >>> (4 * i)) & 0xf;
                    long byt = (src >>> (8 * (sel & 7))) & 0xff;
                    if ((sel & 8) != 0) byt = (byt & 0x80) != 0 ? 0xff : 0; // sign replicate
                    r |= byt << (8 * i);
                }
                set(th, x.args[0], r);
            };
            case "lop3" -> (th, x) -> {
                long a = get(th, x.args[1]);
                long b = get(th, x.args[2]);
                long c = get(th, x.args[3]);
                int lut = (int) get(th, x.args[4]);
                long r = 0;
                for (int bit = 0; bit < 32; bit++) {
                    int idx = (int) (((a >>> bit) & 1) << 2 | ((b >>> bit) & 1) << 1 | ((c >>> bit) & 1));
                    r |= (long) ((lut >>> idx) & 1) << bit;
                }
                set(th, x.args[0], r);
            };
            default -> throw new IllegalStateException(in + ": unsupported");
        };
    }

    private static Exec setp(Instr in) {
        String cmp = in.parts[1];
        String t = type(in);
        String bool = in.parts.length > 3 && (in.parts[2].equals("and") || in.parts[2].equals("or") || in.parts[2].equals("xor"))
                ? in.parts[2] : null;
        return (th, x) -> {
            long a = get(th, x.args[1]);
            long b = get(th, x.args[2]);
            boolean r;
            if (t.equals("f32")) {
                float fa = f(a);
                float fb = f(b);
                r = switch (cmp) {
                    case "eq" -> fa == fb;
                    case "ne" -> fa != fb && !Float.isNaN(fa) && !Float.isNaN(fb);
                    case "lt" -> fa < fb;
                    case "le" -> fa <= fb;
                    case "gt" -> fa > fb;
                    case "ge" -> fa >= fb;
                    case "neu" -> fa != fb;
                    case "nan" -> Float.isNaN(fa) || Float.isNaN(fb);
                    case "num" -> !Float.isNaN(fa) && !Float.isNaN(fb);
                    default -> throw new IllegalStateException(x + ": setp." + cmp);
                };
            } else {
                int w = width(t);
                boolean signed = t.startsWith("s");
                long va = w == 4 ? (signed ? s32(a) : u32(a)) : a;
                long vb = w == 4 ? (signed ? s32(b) : u32(b)) : b;
                int c = signed || w == 4 ? Long.compare(va, vb) : Long.compareUnsigned(va, vb);
                r = switch (cmp) {
                    case "eq" -> va == vb;
                    case "ne" -> va != vb;
                    case "lt", "lo" -> c < 0;
                    case "le", "ls" -> c <= 0;
                    case "gt", "hi" -> c > 0;
                    case "ge", "hs" -> c >= 0;
                    default -> throw new IllegalStateException(x + ": setp." + cmp);
                };
            }
            if (bool != null) {
                boolean c = get(th, x.args[3]) != 0;
                r = switch (bool) {
                    case "and" -> r && c;
                    case "or" -> r || c;
                    default -> r ^ c;
                };
            }
            set(th, x.args[0], r ? 1 : 0);
        };
    }

    private static Exec cvt(Instr in) {
        // cvt[.rnd][.sat...].dst.src
        List<String> types = new ArrayList<>();
        for (int i = 1; i < in.parts.length; i++) if (isType(in.parts[i]) || in.parts[i].equals("e4m3x2")) types.add(in.parts[i]);
        String dst = types.get(0);
        String src = types.get(1);
        if ((dst.equals("f16x2") || dst.equals("bf16x2")) && src.equals("f32")) {
            boolean bf = dst.equals("bf16x2");
            return (th, x) -> {
                short hi = toHalf(f(get(th, x.args[1])), bf);
                short lo = toHalf(f(get(th, x.args[2])), bf);
                set(th, x.args[0], ((hi & 0xffffL) << 16) | (lo & 0xffffL));
            };
        }
        if (dst.equals("f32") && (src.equals("f16") || src.equals("bf16"))) {
            boolean bf = src.equals("bf16");
            return (th, x) -> set(th, x.args[0], bits(half(get(th, x.args[1]), bf)));
        }
        if ((dst.equals("f16") || dst.equals("bf16")) && src.equals("f32")) {
            boolean bf = dst.equals("bf16");
            return (th, x) -> set(th, x.args[0], toHalf(f(get(th, x.args[1])), bf) & 0xffffL);
        }
        if (dst.equals("u64") && src.equals("u32")) return (th, x) -> set(th, x.args[0], u32(get(th, x.args[1])));
        if (dst.equals("u16") && src.equals("u32")) return (th, x) -> set(th, x.args[0], get(th, x.args[1]) & 0xffff);
        if (dst.equals("u32") && src.equals("u16")) return (th, x) -> set(th, x.args[0], get(th, x.args[1]) & 0xffff);
        if (dst.equals("f32") && src.equals("u32") && has(in, "rn")) {
            return (th, x) -> set(th, x.args[0], bits((float) u32(get(th, x.args[1]))));
        }
        if (dst.equals("u32") && src.equals("f32")) {
            if (!has(in, "rni")) throw new IllegalStateException(in + ": only cvt.rni to integers");
            return (th, x) -> {
                float v = f(get(th, x.args[1]));
                double r = Float.isNaN(v) ? 0 : Math.max(0, Math.min(4294967295.0, Math.rint(v)));
                set(th, x.args[0], (long) r);
            };
        }
        if (dst.equals("s64") && src.equals("s32")) return (th, x) -> set(th, x.args[0], (long) s32(get(th, x.args[1])));
        if (dst.equals("u32") && src.equals("u64")) return (th, x) -> set(th, x.args[0], u32(get(th, x.args[1])));
        if (dst.equals("f32") && (src.equals("s32") || src.equals("u32"))) {
            boolean s = src.equals("s32");
            return (th, x) -> set(th, x.args[0], bits(s ? (float) s32(get(th, x.args[1])) : (float) u32(get(th, x.args[1]))));
        }
        if ((dst.equals("s32") || dst.equals("s8")) && src.equals("f32")) {
            boolean rni = has(in, "rni");
            boolean sat = has(in, "sat");
            boolean s8 = dst.equals("s8");
            if (!rni) throw new IllegalStateException(in + ": only cvt.rni to integers");
            return (th, x) -> {
                float v = f(get(th, x.args[1]));
                double r = Float.isNaN(v) ? 0 : Math.rint(v);
                long lo = s8 ? -128 : Integer.MIN_VALUE;
                long hi = s8 ? 127 : Integer.MAX_VALUE;
                long iv = (long) Math.max(lo, Math.min(hi, r));
                if (s8 && !sat && (r < -128 || r > 127)) throw new IllegalStateException(x + ": s8 out of range without .sat");
                set(th, x.args[0], s8 ? iv & 0xffffffffL : u32(iv));
            };
        }
        if (dst.equals("f16x2") && src.equals("e4m3x2")) {
            // two e4m3 codes (low byte -> low half) to f16, exact
            return (th, x) -> {
                long a = get(th, x.args[1]);
                short lo = toHalf(io.sageptx.numerics.Fp8E4M3.decode((byte) (a & 0xff)), false);
                short hi = toHalf(io.sageptx.numerics.Fp8E4M3.decode((byte) ((a >>> 8) & 0xff)), false);
                set(th, x.args[0], ((hi & 0xffffL) << 16) | (lo & 0xffffL));
            };
        }
        if (dst.equals("e4m3x2") && src.equals("f32")) {
            return (th, x) -> {
                int hi = io.sageptx.numerics.Fp8E4M3.encode(f(get(th, x.args[1]))) & 0xff;
                int lo = io.sageptx.numerics.Fp8E4M3.encode(f(get(th, x.args[2]))) & 0xff;
                set(th, x.args[0], (hi << 8) | lo);
            };
        }
        throw new IllegalStateException(in + ": unsupported cvt");
    }

    private static int vecWidth(Instr in) {
        for (String p : in.parts) {
            if (p.equals("v2")) return 2;
            if (p.equals("v4")) return 4;
        }
        return 1;
    }

    private static long address(Thread th, Operand m) {
        if (m.kind != Kind.MEM) throw new IllegalStateException("not a memory operand");
        long base = m.reg >= 0 ? th.r[m.reg] : 0;
        return base + m.imm;
    }

    private static Exec load(Instr in) {
        String space = in.parts[1];
        String t = type(in);
        int w = width(t);
        int n = vecWidth(in);
        if (space.equals("param")) {
            return (th, x) -> {
                Long v = th.cta.params.get(x.args[1].name);
                if (v == null) throw new IllegalStateException(x + ": unknown parameter");
                set(th, x.args[0], w == 8 ? v : u32(v));
            };
        }
        boolean shared = space.equals("shared");
        return (th, x) -> {
            long a = address(th, x.args[1]);
            if (a % ((long) w * n) != 0) throw new Fault(x + ": misaligned load at 0x" + Long.toHexString(a));
            long[] v = new long[n];
            for (int i = 0; i < n; i++) {
                long r = shared ? th.cta.lds(u32(a) + (long) i * w, w, x) : th.cta.mem.read(a + (long) i * w, w);
                if (t.startsWith("s") && w < 8) r = w == 4 ? (long) (int) r : w == 2 ? (long) (short) r : (long) (byte) r;
                v[i] = w == 8 ? r : u32(r);
            }
            if (n == 1) set(th, x.args[0], v[0]);
            else for (int i = 0; i < n; i++) th.r[x.args[0].vec[i]] = v[i];
        };
    }

    private static Exec store(Instr in) {
        boolean shared = in.parts[1].equals("shared");
        String t = type(in);
        int w = width(t);
        int n = vecWidth(in);
        return (th, x) -> {
            long a = address(th, x.args[0]);
            if (a % ((long) w * n) != 0) throw new Fault(x + ": misaligned store at 0x" + Long.toHexString(a));
            for (int i = 0; i < n; i++) {
                long v = n == 1 ? get(th, x.args[1])
                        : x.args[1].vec[i] < 0 ? x.args[1].vecImm[i] : th.r[x.args[1].vec[i]];
                if (shared) th.cta.sts(u32(a) + (long) i * w, w, v, x);
                else th.cta.mem.write(a + (long) i * w, w, v);
            }
        };
    }

    /**
     * {@code red.shared.{add.f32, max.u32, add.u32}} [addr], v: a read-modify-write of shared memory. Threads run one
     * at a time here, so the updates are atomic; their order is the emulator's (a fixed one), not the GPU's.
     */
    private static Exec reduce(Instr in) {
        if (!in.parts[1].equals("shared")) throw new IllegalStateException(in + ": only red.shared");
        String op = in.parts[2];
        String t = type(in);
        return (th, x) -> {
            long a = u32(address(th, x.args[0]));
            if (a % 4 != 0) throw new Fault(x + ": misaligned red at 0x" + Long.toHexString(a));
            long old = th.cta.lds(a, 4, x);
            long v = get(th, x.args[1]);
            long r;
            if (op.equals("add") && t.equals("f32")) r = bits(f(old) + f(v));
            else if (op.equals("max") && t.equals("u32")) r = Math.max(u32(old), u32(v));
            else if (op.equals("add") && t.equals("u32")) r = (old + v) & 0xffffffffL;
            else throw new IllegalStateException(x + ": unsupported red");
            th.cta.sts(a, 4, r, x);
        };
    }

    /**
     * {@code atom[.sem][.scope].global.{cas, exch, add}.b32/b64/u32/u64} d, [addr], a (, b): a read-modify-write of
     * global memory returning the old value. Threads run one at a time, so it is atomic.
     */
    private static Exec atomic(Instr in) {
        if (!has(in, "global")) throw new IllegalStateException(in + ": only atom.global");
        String t = type(in);
        int w = width(t);
        if (w != 4 && w != 8) throw new IllegalStateException(in + ": only 32- and 64-bit atom");
        long mask = w == 8 ? -1L : 0xffffffffL;
        String op = has(in, "cas") ? "cas" : has(in, "exch") ? "exch" : has(in, "add") ? "add" : null;
        if (op == null) throw new IllegalStateException(in + ": unsupported atom");
        return (th, x) -> {
            long a = address(th, x.args[1]);
            if (a % w != 0) throw new Fault(x + ": misaligned atom at 0x" + Long.toHexString(a));
            long old = th.cta.mem.read(a, w) & mask;
            long v = get(th, x.args[2]) & mask;
            long r = switch (op) {
                case "cas" -> old == v ? get(th, x.args[3]) & mask : old;
                case "exch" -> v;
                default -> (old + v) & mask;
            };
            th.cta.mem.write(a, w, r);
            set(th, x.args[0], old);
        };
    }

    private static Exec cpAsync(Instr in) {
        String what = in.parts[2];
        if (what.equals("commit_group")) return (th, x) -> th.group++;
        if (what.equals("wait_group") || what.equals("wait_all")) {
            return (th, x) -> {
                long keep = what.equals("wait_all") ? 0 : get(th, x.args[0]);
                // retire every copy whose group is older than the `keep` most recent committed groups
                long limit = th.group - keep;
                List<long[]> rest = new ArrayList<>();
                for (long[] c : th.pending) {
                    if (c[0] < limit) {
                        for (int i = 0; i < c[3]; i++) {
                            long b = i < c[4] ? th.cta.mem.read(c[2] + i, 1) : 0;
                            th.cta.sts(c[1] + i, 1, b, x);
                        }
                    } else {
                        rest.add(c);
                    }
                }
                th.pending.clear();
                th.pending.addAll(rest);
            };
        }
        // cp.async.cg|ca.shared.global [dst], [src], size{, src-size}
        return (th, x) -> {
            long dst = u32(address(th, x.args[0]));
            long src = address(th, x.args[1]);
            long size = get(th, x.args[2]);
            long srcSize = x.args.length > 3 ? u32(get(th, x.args[3])) : size;
            if (dst % size != 0 || src % size != 0) throw new Fault(x + ": misaligned cp.async");
            if (dst + size > th.cta.smem.length) throw new Fault(x + ": cp.async destination " + dst + " outside shared memory");
            th.cta.mem.check(src, (int) Math.max(1, srcSize), x + ": cp.async source");
            th.pending.add(new long[] {th.group, dst, src, size, Math.min(srcSize, size)});
        };
    }

    // ------------------------------------------------------------------------------------------ collectives

    private static void collective(Kernel k, Cta cta, int w, int n, Instr in) {
        Thread[] lanes = new Thread[32];
        for (int l = 0; l < 32; l++) lanes[l] = w * 32 + l < n ? cta.threads[w * 32 + l] : null;
        for (Thread th : lanes) if (th == null) throw new Fault(in + ": partial warp");
        String op = in.parts[0];
        switch (op) {
            case "bar" -> { // bar.warp.sync: a rendezvous; memory is sequentially consistent here
            }
            case "shfl" -> {
                if (!in.parts[2].equals("bfly")) throw new IllegalStateException(in + ": only shfl.sync.bfly");
                long[] src = new long[32];
                for (int l = 0; l < 32; l++) src[l] = get(lanes[l], in.args[1]);
                for (int l = 0; l < 32; l++) {
                    int from = l ^ (int) get(lanes[l], in.args[2]);
                    set(lanes[l], in.args[0], from < 32 ? src[from] : src[l]);
                }
            }
            case "vote" -> {
                if (!in.op.equals("vote.sync.any.pred") && !in.op.equals("vote.sync.all.pred")) {
                    throw new IllegalStateException(in + ": only vote.sync.any/all.pred");
                }
                boolean any = in.op.contains(".any.");
                boolean acc = !any;
                for (Thread th : lanes) {
                    boolean v = get(th, in.args[1]) != 0;
                    acc = any ? acc || v : acc && v;
                }
                for (Thread th : lanes) set(th, in.args[0], acc ? 1 : 0);
            }
            case "ldmatrix" -> ldmatrix(cta, lanes, in);
            case "mma" -> mma(lanes, in);
            default -> throw new IllegalStateException(in + ": unsupported collective");
        }
        for (Thread th : lanes) {
            th.blocked = false;
            th.pc++;
        }
    }

    /** ldmatrix.sync.aligned.m8n8.x{1,2,4}{.trans}.shared.b16: lanes 8j..8j+7 give the row addresses of matrix j. */
    private static void ldmatrix(Cta cta, Thread[] lanes, Instr in) {
        boolean trans = has(in, "trans");
        int count = has(in, "x4") ? 4 : has(in, "x2") ? 2 : 1;
        long[] rowAddr = new long[32];
        for (int l = 0; l < 32; l++) {
            rowAddr[l] = u32(address(lanes[l], in.args[1]));
            if (rowAddr[l] % 16 != 0) throw new Fault(in + ": lane " + l + " row address " + rowAddr[l] + " not 16-byte aligned");
        }
        for (int j = 0; j < count; j++) {
            for (int l = 0; l < 32; l++) {
                long v;
                if (!trans) {
                    long row = rowAddr[8 * j + l / 4];
                    v = cta.lds(row + 4L * (l % 4), 4, in);
                } else {
                    long r0 = rowAddr[8 * j + 2 * (l % 4)];
                    long r1 = rowAddr[8 * j + 2 * (l % 4) + 1];
                    long e0 = cta.lds(r0 + 2L * (l / 4), 2, in);
                    long e1 = cta.lds(r1 + 2L * (l / 4), 2, in);
                    v = e0 | (e1 << 16);
                }
                lanes[l].r[in.args[0].vec[j]] = v;
            }
        }
    }

    /** mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32 with the ISA's fragment layouts. */
    /**
     * mma.sync m16n8k32 / m16n8k16 .row.col.s32.s8.s8.s32 (PTX ISA fragment layouts): A word i of lane (g, t)
     * holds row g (words 0, 2) or g + 8 (1, 3), columns 4t .. 4t+3 (+ 16 for words 2, 3); B word i holds
     * rows 4t .. 4t+3 (+ 16 for word 1), column g; C and D as the f32 layout. Exact (wrapping) integer sums.
     */
    /**
     * The A (16 x k) and B (k x 8) operands of an 8-bit m16n8k32 (or k16) mma.sync: in lane l = 4g + t, A register 0
     * holds row g, columns 4t..4t+3, register 1 row g+8, registers 2 and 3 the same rows at columns 16 + 4t..; B
     * register 0 holds rows 4t..4t+3 of column g, register 1 rows 16 + 4t... {@code value} decodes one byte.
     */
    private static double[][][] operands8(Thread[] lanes, Instr in, boolean k32, java.util.function.LongToDoubleFunction value) {
        int kDim = k32 ? 32 : 16;
        double[][] a = new double[16][kDim];
        double[][] b = new double[kDim][8];
        for (int l = 0; l < 32; l++) {
            int g = l / 4;
            int t = l % 4;
            long[] ar = vec(lanes[l], in.args[1]);
            long[] br = vec(lanes[l], in.args[2]);
            if (ar.length != (k32 ? 4 : 2) || br.length != (k32 ? 2 : 1)) throw new IllegalStateException(in + ": fragment sizes");
            for (int i = 0; i < 4; i++) {
                a[g][4 * t + i] = value.applyAsDouble((ar[0] >>> (8 * i)) & 0xff);
                a[g + 8][4 * t + i] = value.applyAsDouble((ar[1] >>> (8 * i)) & 0xff);
                b[4 * t + i][g] = value.applyAsDouble((br[0] >>> (8 * i)) & 0xff);
                if (k32) {
                    a[g][16 + 4 * t + i] = value.applyAsDouble((ar[2] >>> (8 * i)) & 0xff);
                    a[g + 8][16 + 4 * t + i] = value.applyAsDouble((ar[3] >>> (8 * i)) & 0xff);
                    b[16 + 4 * t + i][g] = value.applyAsDouble((br[1] >>> (8 * i)) & 0xff);
                }
            }
        }
        return new double[][][] {a, b};
    }

    /** The accumulator element (row, column) of lane l = 4g + t, register e: (g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1). */
    private static int[] accumulatorCell(int l, int e) {
        int g = l / 4;
        int t = l % 4;
        return new int[] {g + (e >= 2 ? 8 : 0), 2 * t + (e % 2)};
    }

    /** C + A B of one accumulator element. */
    private static double dot(double[][][] ab, double c, int[] cell) {
        double sum = c;
        for (int kk = 0; kk < ab[0][0].length; kk++) sum += ab[0][cell[0]][kk] * ab[1][kk][cell[1]];
        return sum;
    }

    private static void mmaS8(Thread[] lanes, Instr in) {
        boolean k32 = has(in, "m16n8k32");
        if (!k32 && !has(in, "m16n8k16")) throw new IllegalStateException(in + ": only m16n8k32 / m16n8k16 s8");
        if (!in.op.contains(".row.col.s32.s8.s8.s32")) throw new IllegalStateException(in + ": only .row.col.s32.s8.s8.s32");
        // integer products and sums of at most 32 terms are exact in double
        double[][][] ab = operands8(lanes, in, k32, v -> (byte) v);
        long[][] d = new long[32][4];
        for (int l = 0; l < 32; l++) {
            long[] cr = vec(lanes[l], in.args[3]);
            for (int e = 0; e < 4; e++) d[l][e] = (long) dot(ab, s32(cr[e]), accumulatorCell(l, e));
        }
        for (int l = 0; l < 32; l++) {
            int[] dr = in.args[0].vec;
            for (int e = 0; e < 4; e++) lanes[l].r[dr[e]] = u32(d[l][e]);
        }
    }

    /**
     * mma.sync.aligned.m16n8k32.row.col.{f16,f32}.e4m3.e4m3.{f16,f32}: the 8-bit fragment layout of the s8 mma, e4m3
     * codes decoded exactly, products summed in double and rounded once to the accumulator type (the hardware's
     * internal rounding is finer-grained; tests compare against bars, not bits). FP16 accumulators: two registers,
     * each the pair of columns 2t, 2t+1 of row g (register 0) or g+8 (register 1), low half first.
     */
    private static void mmaE4m3(Thread[] lanes, Instr in) {
        if (!has(in, "m16n8k32")) throw new IllegalStateException(in + ": only m16n8k32 e4m3");
        boolean f16 = in.op.contains(".row.col.f16.");
        double[][][] ab = operands8(lanes, in, true, v -> io.sageptx.numerics.Fp8E4M3.decode((byte) v));
        double[][] d = new double[32][4];
        for (int l = 0; l < 32; l++) {
            long[] cr = vec(lanes[l], in.args[3]);
            for (int e = 0; e < 4; e++) {
                double c = f16 ? half(cr[e / 2] >>> (16 * (e % 2)), false) : f(cr[e]);
                d[l][e] = dot(ab, c, accumulatorCell(l, e));
            }
        }
        for (int l = 0; l < 32; l++) {
            int[] dr = in.args[0].vec;
            if (f16) {
                for (int r = 0; r < 2; r++) {
                    lanes[l].r[dr[r]] = (toHalf((float) d[l][2 * r], false) & 0xffffL)
                            | ((toHalf((float) d[l][2 * r + 1], false) & 0xffffL) << 16);
                }
            } else {
                for (int e = 0; e < 4; e++) lanes[l].r[dr[e]] = bits((float) d[l][e]);
            }
        }
    }

    private static void mma(Thread[] lanes, Instr in) {
        if (in.op.contains(".s8.")) {
            mmaS8(lanes, in);
            return;
        }
        if (in.op.contains(".e4m3.")) {
            mmaE4m3(lanes, in);
            return;
        }
        if (!has(in, "m16n8k16")) throw new IllegalStateException(in + ": only m16n8k16");
        boolean bf = in.parts[in.parts.length - 2].equals("bf16");
        if (!in.op.endsWith(".f32") || !in.op.contains(".row.col.f32.")) throw new IllegalStateException(in + ": only f32 acc");
        double[][] a = new double[16][16];
        double[][] b = new double[16][8];
        double[][] c = new double[16][8];
        for (int l = 0; l < 32; l++) {
            int g = l / 4;
            int t = l % 4;
            long[] ar = vec(lanes[l], in.args[1]);
            long[] br = vec(lanes[l], in.args[2]);
            long[] cr = vec(lanes[l], in.args[3]);
            for (int i = 0; i < 2; i++) {
                a[g][2 * t + i] = half(ar[0] >>> (16 * i), bf);
                a[g + 8][2 * t + i] = half(ar[1] >>> (16 * i), bf);
                a[g][2 * t + 8 + i] = half(ar[2] >>> (16 * i), bf);
                a[g + 8][2 * t + 8 + i] = half(ar[3] >>> (16 * i), bf);
                b[2 * t + i][g] = half(br[0] >>> (16 * i), bf);
                b[2 * t + 8 + i][g] = half(br[1] >>> (16 * i), bf);
            }
            c[g][2 * t] = f(cr[0]);
            c[g][2 * t + 1] = f(cr[1]);
            c[g + 8][2 * t] = f(cr[2]);
            c[g + 8][2 * t + 1] = f(cr[3]);
        }
        float[][] d = new float[16][8];
        for (int i = 0; i < 16; i++) {
            for (int j = 0; j < 8; j++) {
                double s = c[i][j];
                for (int kk = 0; kk < 16; kk++) s += a[i][kk] * b[kk][j];
                d[i][j] = (float) s;
            }
        }
        for (int l = 0; l < 32; l++) {
            int g = l / 4;
            int t = l % 4;
            int[] dr = in.args[0].vec;
            lanes[l].r[dr[0]] = bits(d[g][2 * t]);
            lanes[l].r[dr[1]] = bits(d[g][2 * t + 1]);
            lanes[l].r[dr[2]] = bits(d[g + 8][2 * t]);
            lanes[l].r[dr[3]] = bits(d[g + 8][2 * t + 1]);
        }
    }

    private static long[] vec(Thread th, Operand o) {
        long[] v = new long[o.vec.length];
        for (int i = 0; i < v.length; i++) v[i] = o.vec[i] < 0 ? o.vecImm[i] : th.r[o.vec[i]];
        return v;
    }
}
